/**
 * VICReg (Bardes et al. 2022, "VICReg: Variance-Invariance-Covariance Regularization for
 * Self-Supervised Learning", arXiv:2105.04906), as the Lightly benchmarks run it (docs/methods.md §4.19):
 *
 *   for each view x_v (separate batches by default):  z_v = g(f(x_v))
 *   L = λ·MSE(z_0, z_1) + μ·½[v(z_0) + v(z_1)] + ν·[c(z_0) + c(z_1)]      λ = μ = 25, ν = 1, ε = 1e-4
 *     v(z) = mean_d relu(1 − sqrt(Var(z_d) + ε)),  c(z) = Σ_{i≠j} Cov_ij² / D
 *
 * Imagenette: g = BarlowTwinsProjectionHead(D, 2048, 2048), 3 Linears (`projection_layers: 3`);
 * ImageNet1k: 2 Linears. The invariance, variance and covariance terms are logged as metrics
 * (unweighted). kNN uses f.
 * `view_batches: grouped` forwards cat(x_0, x_1) as one 2·B batch through f and g and splits z
 * back (the ImageNet1k R50 script), so every batch norm sees both views (projected-pair.ts). The
 * online linear classifier trains on f's output for both views, labels repeated (docs/methods.md §5.2).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { add, mul } from '../graph';
import { vicregTerms } from '../losses';
import { vicregProjectionHead } from '../nn/heads';
import { choiceParam } from './choice-param';
import { numberParam, type Method } from './method';
import { VIEW_BATCHES, projectedPairMethod } from './projected-pair';

export const vicreg: Method = {
  id: 'vicreg',
  label: 'VICReg',
  description: 'Variance-Invariance-Covariance Regularization (Bardes et al., 2022)',
  section: '§4.19',
  params: METHOD_PARAMS.vicreg,
  defaultPreset: 'vicreg',
  onlineClassifierViews: 'all',
  create({ backbone, params }) {
    const lambda = numberParam(params, 'lambda');
    const mu = numberParam(params, 'mu');
    const nu = numberParam(params, 'nu');
    const eps = numberParam(params, 'eps');
    const projectionHead = vicregProjectionHead(
      backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'), numberParam(params, 'projection_layers'),
    );
    return projectedPairMethod(backbone, projectionHead, choiceParam(params, 'view_batches', VIEW_BATCHES), (z0, z1) => {
      const { invariance, variance, covariance } = vicregTerms(z0, z1, eps);
      const loss = add(add(mul(invariance, lambda), mul(variance, mu)), mul(covariance, nu));
      return { loss, metrics: { invariance, variance, covariance } };
    });
  },
};
