/**
 * DCL (Yeh et al. 2022, "Decoupled Contrastive Learning", arXiv:2110.06848), as the Lightly
 * benchmarks run it (docs/methods.md §4.3):
 *
 *   for each view x_v (separate batches by default):  z_v = g(f(x_v))        f backbone, g SimCLRProjectionHead
 *   L = DCL(z_0, z_1; τ)                                          positive left out of the denominator, τ = 0.1
 *
 * g = Lin(D→hidden, no bias)–BN–ReLU–Lin(hidden→out, no bias)–BN(out), (512, 128) on CIFAR-10. kNN uses f.
 * `negatives: separate` selects the two-log-sum-exp form every published row was run with (§4.21).
 * `view_batches: grouped` forwards cat(x_0, x_1) as one 2·B batch through f and g and splits z
 * back (the ImageNet1k R50 script), so every batch norm sees both views (projected-pair.ts). The
 * online linear classifier trains on f's output for both views, labels repeated (docs/methods.md §5.2).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { dclLoss } from '../losses';
import { simclrProjectionHead } from '../nn/heads';
import { choiceParam } from './choice-param';
import { numberParam, type Method } from './method';
import { VIEW_BATCHES, projectedPairMethod } from './projected-pair';

export const dcl: Method = {
  id: 'dcl',
  label: 'DCL',
  description: 'Decoupled Contrastive Learning: NT-Xent without the positive in the denominator (Yeh et al., 2022)',
  section: '§4.3',
  params: METHOD_PARAMS.dcl,
  defaultPreset: 'simclr',
  onlineClassifierViews: 'all',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
    const negatives = choiceParam(params, 'negatives', ['joint', 'separate'] as const);
    const projectionHead = simclrProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'));
    return projectedPairMethod(backbone, projectionHead, choiceParam(params, 'view_batches', VIEW_BATCHES), (z0, z1) => ({ loss: dclLoss(z0, z1, temperature, negatives) }));
  },
};
