/**
 * Barlow Twins (Zbontar et al. 2021, "Barlow Twins: Self-Supervised Learning via Redundancy
 * Reduction", arXiv:2103.03230), as the Lightly benchmarks run it (docs/methods.md §4.1):
 *
 *   for each view x_v (separate batches by default):  z_v = g(f(x_v))
 *   L = Σ_i (1 − C_ii)² + λ·Σ_{i≠j} C_ij²,  C = ẑ_0ᵀ ẑ_1 / N    ẑ standardised over the batch; λ = 0.005
 *
 * CIFAR-10 (`projection_layers: 2`): g = Lin(D→2048, no bias)–BN–ReLU–Lin(2048→2048);
 * Imagenette/ImageNet (`projection_layers: 3`): BarlowTwinsProjectionHead. No stop-gradient, no
 * momentum network. kNN uses f. `normalisation: joint` standardises both views over their stacked
 * 2N rows, as the published ImageNet1k R50 row (§4.21).
 * `view_batches: grouped` forwards cat(x_0, x_1) as one 2·B batch through f and g and splits z
 * back (the ImageNet1k R50 script), so every batch norm sees both views (projected-pair.ts). The
 * online linear classifier trains on f's output for both views, labels repeated (docs/methods.md §5.2).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { BARLOW_TWINS_DEFAULTS, barlowTwinsLoss } from '../losses';
import { barlowTwinsProjectionHead, byolProjectionHead } from '../nn/heads';
import { choiceParam } from './choice-param';
import { numberParam, type Method } from './method';
import { VIEW_BATCHES, projectedPairMethod } from './projected-pair';

export const barlowtwins: Method = {
  id: 'barlowtwins',
  label: 'BarlowTwins',
  description: 'Barlow Twins: redundancy reduction via the cross-correlation matrix (Zbontar et al., 2021)',
  section: '§4.1',
  params: METHOD_PARAMS.barlowtwins,
  defaultPreset: 'byol',
  onlineClassifierViews: 'all',
  create({ backbone, params }) {
    const lambda = numberParam(params, 'lambda');
    const normalisation = choiceParam(params, 'normalisation', ['per_view', 'joint'] as const);
    const hidden = numberParam(params, 'projection_hidden_dim');
    const outDim = numberParam(params, 'projection_out_dim');
    // The 2-layer CIFAR head has BYOL's layout: Lin(nb)–BN–ReLU–Lin(with bias).
    const projectionHead = numberParam(params, 'projection_layers') === 3
      ? barlowTwinsProjectionHead(backbone.featureDim, hidden, outDim)
      : byolProjectionHead(backbone.featureDim, hidden, outDim);
    return projectedPairMethod(backbone, projectionHead, choiceParam(params, 'view_batches', VIEW_BATCHES), (z0, z1) => ({ loss: barlowTwinsLoss(z0, z1, lambda, BARLOW_TWINS_DEFAULTS.eps, normalisation) }));
  },
};
