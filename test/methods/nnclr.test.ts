import { RingBuffer, nearestNeighbours, ntXent } from '../losses/reference';
import { nnclrPredictionHead, simclrProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, maxAbsDiff, probe, rows } from './support';

const OUT = 8;

describe('nnclr method (docs/methods.md §4.10, CIFAR-10 docs script)', () => {
  it('NT-Xent of support-set neighbours against the other view\'s predictions; z1 enqueued raw', async () => {
    const bankSize = 24;
    const s = await buildMethodStep('nnclr', {
      set: ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`, 'method.params.prediction_hidden_dim=16', `method.params.memory_bank_size=${bankSize}`],
    });
    const b = s.batch;
    expect(s.method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained'], ['prediction_head', 'trained']]);
    // CIFAR-10 projection (2 layers): Lin(nb)–BN–ReLU–Lin(nb)–BN.
    expect(s.method.networks[1].module.parameters('p').map((p) => p.name)).toEqual(['p.layers.0.weight', 'p.layers.1.weight', 'p.layers.1.bias', 'p.layers.3.weight', 'p.layers.4.weight', 'p.layers.4.bias']);
    const bank0 = rows(s.initial.get('support_set.bank')!, OUT);
    for (const r of bank0) expect(Math.hypot(...r)).toBeCloseTo(1, 5);

    const { loss, views } = await s.step(1);
    const proj = simclrProjectionHead(s.backbone.featureDim, 16, OUT);
    const pred = nnclrPredictionHead(OUT, 16, OUT);
    const out = await probe(s.initial, views, [b, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(proj, 'projection_head');
      const h = net(pred, 'prediction_head');
      const z0 = proj.forward(g, s.backbone.module.forward(f, view(0)));
      const z1 = proj.forward(g, s.backbone.module.forward(f, view(1)));
      return { z0, z1, p0: pred.forward(h, z0), p1: pred.forward(h, z1) };
    });
    const [z0, z1, p0, p1] = ['z0', 'z1', 'p0', 'p1'].map((n) => rows(out[n], OUT));
    const expected = 0.5 * (ntXent(nearestNeighbours(z0, bank0), p1, 0.5) + ntXent(nearestNeighbours(z1, bank0), p0, 0.5));
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(expected, 4);

    const ring = new RingBuffer(bank0.map((r) => [...r]));
    ring.push(z1);
    expect(s.value('support_set.ptr')).toEqual(new BigInt64Array([BigInt(b)]));
    expect(maxAbsDiff(s.value('support_set.bank'), ring.rows.flat())).toBeLessThan(1e-4);
    // 8 → 16 → (16 + 8 ≥ 24) wraps to 0.
    await s.step(2);
    await s.step(3);
    expect(s.value('support_set.ptr')).toEqual(new BigInt64Array([0n]));
  });
});
