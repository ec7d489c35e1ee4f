import { dcl as dclReference } from '../losses/reference';
import { simclrProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, probe, rows } from './support';

describe.each([
  ['dcl', undefined],
  ['dclw', 0.5],
] as const)('%s method (docs/methods.md §4.3/§4.4)', (name, sigma) => {
  it('trains: the step loss is the decoupled loss of the two views\' SimCLR-head projections', async () => {
    const s = await buildMethodStep(name, { set: ['method.params.projection_hidden_dim=32', 'method.params.projection_out_dim=16'] });
    expect(s.method.views).toBe(2);
    expect(s.method.evalBackbone).toBe('backbone');
    expect(s.method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained']]);
    const { loss, views } = await s.step(1);
    const head = simclrProjectionHead(s.backbone.featureDim, 32, 16);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(head, 'projection_head');
      return { z0: head.forward(g, s.backbone.module.forward(f, view(0))), z1: head.forward(g, s.backbone.module.forward(f, view(1))) };
    });
    const expected = dclReference(rows(out.z0, 16), rows(out.z1, 16), 0.1, sigma);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(expected, 4);
    const second = await s.step(2);
    expect(Number.isFinite(second.loss)).toBe(true);
  });
});
