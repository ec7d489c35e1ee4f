import { negativeCosine } from '../losses/reference';
import { simsiamHeads } from '../../src/methods/simsiam';
import { buildMethodStep, createMethod, probe, rows } from './support';

const OUT = 16;
const HEADS = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`, 'method.params.prediction_hidden_dim=8'];

describe('simsiam method (docs/methods.md §4.14)', () => {
  it('CIFAR-10 heads: 2-layer projection ending in an affine BN; 3 layers end in BN without affine', () => {
    const names = (set: string[]) => createMethod('simsiam', { set }).method.networks[1].module.parameters('p').map((p) => p.name);
    expect(names(HEADS)).toEqual(['p.layers.0.weight', 'p.layers.1.weight', 'p.layers.1.bias', 'p.layers.3.weight', 'p.layers.4.weight', 'p.layers.4.bias']);
    expect(names([...HEADS, 'method.params.projection_layers=3'])).toEqual([
      'p.layers.0.weight', 'p.layers.1.weight', 'p.layers.1.bias', 'p.layers.3.weight', 'p.layers.4.weight', 'p.layers.4.bias', 'p.layers.6.weight',
    ]);
  });

  it('the step loss is ½[NC(p1, sg z0) + NC(p0, sg z1)] of the online networks; no momentum network', async () => {
    const s = await buildMethodStep('simsiam', { set: HEADS });
    expect(s.method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained'], ['prediction_head', 'trained']]);
    const { loss, views } = await s.step(1);
    const { projectionHead, predictionHead } = simsiamHeads(s.backbone, s.config.method.params);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(projectionHead, 'projection_head');
      const h = net(predictionHead, 'prediction_head');
      const z0 = projectionHead.forward(g, s.backbone.module.forward(f, view(0)));
      const z1 = projectionHead.forward(g, s.backbone.module.forward(f, view(1)));
      return { z0, z1, p0: predictionHead.forward(h, z0), p1: predictionHead.forward(h, z1) };
    });
    const [z0, z1, p0, p1] = ['z0', 'z1', 'p0', 'p1'].map((n) => rows(out[n], OUT));
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(0.5 * (negativeCosine(p1, z0) + negativeCosine(p0, z1)), 4);
  });
});
