/**
 * DCLW (Yeh et al. 2022, "Decoupled Contrastive Learning", arXiv:2110.06848, the weighted
 * variant), as the Lightly benchmarks run it (docs/methods.md §4.4): DCL (§4.3) with every positive
 * term weighted by the negative von Mises-Fisher weight of its pair:
 *
 *   for each view x_v (separate batches by default):  z_v = g(f(x_v))        f backbone, g SimCLRProjectionHead
 *   w_i = 2 − N·softmax_i(sg(ẑ_0,i·ẑ_1,i)/σ)                      σ = 0.5, over the local batch
 *   L = DCLW(z_0, z_1; τ, σ)                                      τ = 0.1
 *
 * Same head as DCL: (512, 128) on CIFAR-10. kNN uses f. `negatives: separate` selects the
 * two-log-sum-exp form every published row was run with (§4.21).
 * `view_batches: grouped` forwards cat(x_0, x_1) as one 2·B batch through f and g and splits z
 * back (the ImageNet1k R50 script), so every batch norm sees both views (projected-pair.ts). The
 * online linear classifier trains on f's output for both views, labels repeated (docs/methods.md §5.2).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { dclwLoss } from '../losses';
import { simclrProjectionHead } from '../nn/heads';
import { choiceParam } from './choice-param';
import { numberParam, type Method } from './method';
import { VIEW_BATCHES, projectedPairMethod } from './projected-pair';

export const dclw: Method = {
  id: 'dclw',
  label: 'DCLW',
  description: 'Weighted DCL: DCL with von Mises-Fisher positive weighting (Yeh et al., 2022)',
  section: '§4.4',
  params: METHOD_PARAMS.dclw,
  defaultPreset: 'simclr',
  onlineClassifierViews: 'all',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
    const sigma = numberParam(params, 'sigma');
    const negatives = choiceParam(params, 'negatives', ['joint', 'separate'] as const);
    const projectionHead = simclrProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'));
    return projectedPairMethod(backbone, projectionHead, choiceParam(params, 'view_batches', VIEW_BATCHES), (z0, z1) => ({ loss: dclwLoss(z0, z1, temperature, sigma, negatives) }));
  },
};
