import { tico as ticoReference } from '../losses/reference';
import { ticoProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, createMethod, maxAbsDiff, probe, rows } from './support';

const OUT = 8;
const HEAD = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`];

describe('tico method (docs/methods.md §4.18)', () => {
  it('momentum follows cosine 0.996 → 1.0 on the epoch index', () => {
    const { method } = createMethod('tico', { set: HEAD });
    const at = (epoch: number) => method.emaMomentum!({ epoch, totalEpochs: 5, globalStep: 1234, totalSteps: 99999 });
    expect(at(0)).toBeCloseTo(0.996, 12);
    expect(at(2)).toBeCloseTo(0.998, 12);
    expect(at(4)).toBe(1);
  });

  it('online view 0 against momentum view 1; the running covariance C starts at zeros and is carried', async () => {
    const s = await buildMethodStep('tico', { set: HEAD });
    expect(s.method.networks.map((n) => [n.prefix, n.role, n.emaOf ?? ''])).toEqual([
      ['backbone', 'trained', ''], ['projection_head', 'trained', ''], ['backbone_momentum', 'ema', 'backbone'], ['projection_head_momentum', 'ema', 'projection_head'],
    ]);
    expect(Array.from(s.initial.get('tico.C')!, Number)).toEqual(new Array(OUT * OUT).fill(0));
    const { loss, views } = await s.step(1);
    const head = ticoProjectionHead(s.backbone.featureDim, 16, OUT);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(head, 'projection_head');
      const ft = net(s.backbone.module, 'backbone_momentum');
      const gt = net(head, 'projection_head_momentum');
      return { za: head.forward(g, s.backbone.module.forward(f, view(0))), zb: head.forward(gt, s.backbone.module.forward(ft, view(1))) };
    });
    const zeros = Array.from({ length: OUT }, () => new Array(OUT).fill(0));
    const ref = ticoReference(rows(out.za, OUT), rows(out.zb, OUT), zeros, 0.9, 8);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(ref.loss, 4);
    expect(maxAbsDiff(s.value('tico.C'), ref.c.flat())).toBeLessThan(1e-5);
    const c1 = s.value('tico.C');
    await s.step(2);
    expect(maxAbsDiff(s.value('tico.C'), c1)).toBeGreaterThan(0);
  });
});
