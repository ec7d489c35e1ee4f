import { negativeCosine } from '../losses/reference';
import { byolPredictionHead, byolProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, createMethod, emaPairs, maxAbsDiff, probe, rows } from './support';

const OUT = 8;
const HEADS = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`, 'method.params.prediction_hidden_dim=16'];

describe('byol method (docs/methods.md §4.2, CIFAR-10 docs script)', () => {
  it('mean of the two prediction-vs-target directions; target = deep copy moving by (1 − m) per step', async () => {
    const s = await buildMethodStep('byol', { set: HEADS });
    const b = s.batch;
    expect(s.method.networks.map((n) => [n.prefix, n.role, n.emaOf ?? ''])).toEqual([
      ['backbone', 'trained', ''], ['projection_head', 'trained', ''], ['prediction_head', 'trained', ''],
      ['backbone_momentum', 'ema', 'backbone'], ['projection_head_momentum', 'ema', 'projection_head'],
    ]);
    // CIFAR-10 default: constant 0.99 at every step.
    expect([0, 500, 999].map((globalStep) => s.method.emaMomentum!({ epoch: 0, totalEpochs: 200, globalStep, totalSteps: 1000 }))).toEqual([0.99, 0.99, 0.99]);

    const { loss, views } = await s.step(1);
    const proj = byolProjectionHead(s.backbone.featureDim, 16, OUT);
    const pred = byolPredictionHead(OUT, 16, OUT);
    const out = await probe(s.initial, views, [b, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(proj, 'projection_head');
      const q = net(pred, 'prediction_head');
      const ft = net(s.backbone.module, 'backbone_momentum');
      const gt = net(proj, 'projection_head_momentum');
      return {
        p0: pred.forward(q, proj.forward(g, s.backbone.module.forward(f, view(0)))),
        p1: pred.forward(q, proj.forward(g, s.backbone.module.forward(f, view(1)))),
        z0: proj.forward(gt, s.backbone.module.forward(ft, view(0))),
        z1: proj.forward(gt, s.backbone.module.forward(ft, view(1))),
      };
    });
    const [p0, p1, z0, z1] = ['p0', 'p1', 'z0', 'z1'].map((n) => rows(out[n], OUT));
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(0.5 * (negativeCosine(p0, z1) + negativeCosine(p1, z0)), 4);

    const pairs = emaPairs(s);
    expect(pairs.map((p) => p.source)).toEqual(s.model.state.filter((e) => e.role === 'param' && !e.name.startsWith('prediction_head.')).map((e) => e.name));
    const online1 = new Map(pairs.map(({ source }) => [source, s.value(source) as Float32Array]));
    const target1 = new Map(pairs.map(({ target }) => [target, s.value(target) as Float32Array]));
    await s.step(2);
    for (const { target, source } of pairs) {
      const expected = target1.get(target)!.map((v, i) => 0.99 * v + 0.01 * online1.get(source)![i]);
      expect(maxAbsDiff(s.value(target), expected)).toBeLessThan(1e-6);
    }
  });

  it('a cosine momentum schedule (start ≠ end) runs over global steps, lightly\'s cosine_schedule', () => {
    const { method } = createMethod('byol', { set: [...HEADS, 'method.params.momentum_start=0.9', 'method.params.momentum_end=1.0'] });
    const at = (globalStep: number) => method.emaMomentum!({ epoch: 0, totalEpochs: 1, globalStep, totalSteps: 11 });
    expect(at(0)).toBeCloseTo(0.9, 12);
    expect(at(5)).toBeCloseTo(0.95, 12);
    expect(at(10)).toBe(1);
  });
});
