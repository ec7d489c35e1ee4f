import { barlowTwins } from '../losses/reference';
import { byolProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, createMethod, probe, rows } from './support';

const OUT = 16;
const HEAD = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`];

describe('barlowtwins method (docs/methods.md §4.1)', () => {
  it('CIFAR-10 head Lin(nb)–BN–ReLU–Lin(with bias); 3 layers = BarlowTwinsProjectionHead', () => {
    const names = (set: string[]) => createMethod('barlowtwins', { set }).method.networks[1].module.parameters('p').map((p) => p.name);
    expect(names(HEAD)).toEqual(['p.layers.0.weight', 'p.layers.1.weight', 'p.layers.1.bias', 'p.layers.3.weight', 'p.layers.3.bias']);
    expect(names([...HEAD, 'method.params.projection_layers=3'])).toEqual([
      'p.layers.0.weight', 'p.layers.1.weight', 'p.layers.1.bias', 'p.layers.3.weight', 'p.layers.4.weight', 'p.layers.4.bias', 'p.layers.6.weight', 'p.layers.6.bias',
    ]);
  });

  it('the step loss is the Barlow Twins loss (λ = 0.005) of the two views\' projections', async () => {
    const s = await buildMethodStep('barlowtwins', { set: HEAD });
    const { loss, views } = await s.step(1);
    const head = byolProjectionHead(s.backbone.featureDim, 16, OUT);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(head, 'projection_head');
      return { z0: head.forward(g, s.backbone.module.forward(f, view(0))), z1: head.forward(g, s.backbone.module.forward(f, view(1))) };
    });
    expect(Number.isFinite(loss)).toBe(true);
    const expected = barlowTwins(rows(out.z0, OUT), rows(out.z1, OUT), 0.005);
    expect(Math.abs(loss - expected) / Math.abs(expected)).toBeLessThan(1e-4);
  });
});
