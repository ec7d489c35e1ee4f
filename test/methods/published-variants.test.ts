/**
 * The method parameters that select the published rows' loss forms (docs/methods.md §4.21) reach
 * the loss: the step loss equals the variant's float64 reference on the probed projections, and
 * TiCo's undetached B changes the update.
 */
import { barlowJoint, dclSeparate } from '../losses/published-variants-reference';
import { byolProjectionHead, simclrProjectionHead } from '../../src/nn/heads';
import type { Module } from '../../src/nn/module';
import { buildMethodStep, maxAbsDiff, probe, rows, type MethodStep } from './support';

async function projections(s: MethodStep, head: Module, views: Float32Array[]) {
  return probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
    const f = net(s.backbone.module, 'backbone');
    const g = net(head, 'projection_head');
    return { z0: head.forward(g, s.backbone.module.forward(f, view(0))), z1: head.forward(g, s.backbone.module.forward(f, view(1))) };
  });
}

describe('published-row loss variants as method parameters', () => {
  it.each([['dcl', undefined], ['dclw', 0.5]] as const)('%s with negatives: separate trains on the two-log-sum-exp loss', async (name, sigma) => {
    const s = await buildMethodStep(name, { set: ['method.params.projection_hidden_dim=32', 'method.params.projection_out_dim=16', 'method.params.negatives=separate'] });
    const { loss, views } = await s.step(1);
    const out = await projections(s, simclrProjectionHead(s.backbone.featureDim, 32, 16), views);
    expect(loss).toBeCloseTo(dclSeparate(rows(out.z0, 16), rows(out.z1, 16), 0.1, sigma), 4);
  });

  it('barlowtwins with normalisation: joint trains on the jointly standardised loss', async () => {
    const s = await buildMethodStep('barlowtwins', { set: ['method.params.projection_hidden_dim=32', 'method.params.projection_out_dim=16', 'method.params.normalisation=joint'] });
    const { loss, views } = await s.step(1);
    const out = await projections(s, byolProjectionHead(s.backbone.featureDim, 32, 16), views);
    expect(loss).toBeCloseTo(barlowJoint(rows(out.z0, 16), rows(out.z1, 16), 0.005), 3);
  });

  it('tico with detach_batch_covariance: false gives the same loss but a different update', async () => {
    const head = ['method.params.projection_hidden_dim=16', 'method.params.projection_out_dim=8', 'method.params.rho=20'];
    const kept = await buildMethodStep('tico', { set: [...head, 'method.params.detach_batch_covariance=false'] });
    const detached = await buildMethodStep('tico', { set: head });
    const a = await kept.step(1);
    const b = await detached.step(1);
    expect(a.loss).toBeCloseTo(b.loss, 5);
    const name = kept.model.state.find((e) => e.role === 'param' && e.name.startsWith('projection_head.'))!.name;
    expect(maxAbsDiff(kept.value(name), detached.value(name))).toBeGreaterThan(1e-6);
  });
});
