import { negativeCosine } from '../losses/reference';
import { simsiamHeads } from '../../src/methods/simsiam';
import { buildMethodStep, probe, rows } from './support';

const OUT = 16;

describe('fastsiam method (docs/methods.md §4.6)', () => {
  it('four views; each prediction against the mean of the other three projections, averaged', async () => {
    const s = await buildMethodStep('fastsiam', { set: ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`, 'method.params.prediction_hidden_dim=8'] });
    expect(s.method.views).toBe(4);
    expect(s.model.dataInputs.map((d) => d.name)).toEqual(['view0', 'view1', 'view2', 'view3']);
    const { loss, views } = await s.step(1);
    const { projectionHead, predictionHead } = simsiamHeads(s.backbone, s.config.method.params);
    const out = await probe(s.initial, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const f = net(s.backbone.module, 'backbone');
      const g = net(projectionHead, 'projection_head');
      const h = net(predictionHead, 'prediction_head');
      const result: Record<string, ReturnType<typeof view>> = {};
      for (let k = 0; k < 4; k++) {
        result[`z${k}`] = projectionHead.forward(g, s.backbone.module.forward(f, view(k)));
        result[`p${k}`] = predictionHead.forward(h, result[`z${k}`]);
      }
      return result;
    });
    const z = [0, 1, 2, 3].map((k) => rows(out[`z${k}`], OUT));
    const p = [0, 1, 2, 3].map((k) => rows(out[`p${k}`], OUT));
    const meanOfOthers = (i: number) => z[0].map((_, r) => z[0][r].map((_, c) => [0, 1, 2, 3].filter((j) => j !== i).reduce((sum, j) => sum + z[j][r][c], 0) / 3));
    const expected = [0, 1, 2, 3].reduce((sum, i) => sum + negativeCosine(p[i], meanOfOthers(i)), 0) / 4;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(expected, 4);
  });
});
