import { vicregTerms } from '../losses/reference';
import { vicregProjectionHead } from '../../src/nn/heads';
import { buildMethodStep, probe, rows } from './support';

const OUT = 16;

describe('vicreg method (docs/methods.md §4.19)', () => {
  it('the step loss is 25·inv + 25·var + 1·cov of the two views\' projections; the terms are logged', async () => {
    const s = await buildMethodStep('vicreg', { set: ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`] });
    // Imagenette default: 3 Linears (BarlowTwinsProjectionHead layout).
    expect(s.method.networks[1].module.parameters('p').filter((p) => p.name.endsWith('.weight') && p.shape.length === 2)).toHaveLength(3);
    const { loss, metrics, views } = await s.step(1);
    const head = vicregProjectionHead(s.backbone.featureDim, 16, OUT, 3);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(head, 'projection_head');
      return { z0: head.forward(g, s.backbone.module.forward(f, view(0))), z1: head.forward(g, s.backbone.module.forward(f, view(1))) };
    });
    const t = vicregTerms(rows(out.z0, OUT), rows(out.z1, OUT));
    expect(metrics.invariance).toBeCloseTo(t.invariance, 4);
    expect(metrics.variance).toBeCloseTo(t.variance, 4);
    expect(metrics.covariance).toBeCloseTo(t.covariance, 4);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(25 * t.invariance + 25 * t.variance + t.covariance, 3);
  });
});
