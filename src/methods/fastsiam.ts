/**
 * FastSiam (Pototzky et al. 2022, "FastSiam: Resource-Efficient Self-supervised Learning on a
 * Single GPU", DAGM GCPR), as the Lightly benchmarks run it (docs/methods.md §4.6): SimSiam's networks
 * (§4.14) on four views, each prediction against the mean of the other three targets.
 *
 *   for each view x_i, i = 0..3 (separate batches):  z_i = g(f(x_i)),  p_i = h(z_i)
 *   L = ¼ Σ_i NC(p_i, mean_{j≠i} sg z_j)                 NC = −mean cos
 *
 * Heads as SimSiam per benchmark; lr 0.06 without batch scaling on CIFAR-10. kNN uses f.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { fastSiamLoss } from '../losses';
import { simsiamHeads } from './simsiam';
import type { Method } from './method';

const VIEWS = 4;

export const fastsiam: Method = {
  id: 'fastsiam',
  label: 'FastSiam',
  description: 'FastSiam: SimSiam with one prediction against the mean of three other views (Pototzky et al., 2022)',
  section: '§4.6',
  params: METHOD_PARAMS.fastsiam,
  defaultPreset: 'fastsiam',
  create({ backbone, params }) {
    const { projectionHead, predictionHead } = simsiamHeads(backbone, params);
    return {
      views: VIEWS,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'prediction_head', module: predictionHead, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      buildLoss(step, views) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const h = step.forward(predictionHead, { prefix: 'prediction_head' });
        const projections = views.map((x) => projectionHead.forward(g, backbone.module.forward(f, x)));
        const predictions = projections.map((z) => predictionHead.forward(h, z));
        return { loss: fastSiamLoss(predictions, projections) };
      },
    };
  },
};
