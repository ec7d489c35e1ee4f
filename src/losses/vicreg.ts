/**
 * VICReg (Bardes et al. 2022, "VICReg: Variance-Invariance-Covariance Regularization for
 * Self-Supervised Learning", arXiv:2105.04906), as lightly's VICRegLoss (docs/methods.md §4.19):
 *
 *   invariance  = MSE(z_a, z_b)                                   (mean over all elements)
 *   variance    = ½[v(z_a) + v(z_b)],  v(z) = mean_d relu(1 − sqrt(Var_unbiased(z_d) + ε))
 *   covariance  = c(z_a) + c(z_b),     c(z) = Σ_{i≠j} Cov_ij² / D,  Cov = (z−z̄)ᵀ(z−z̄)/(N−1)
 *   L = λ·invariance + μ·variance + ν·covariance                 λ = μ = 25, ν = 1, ε = 1e-4
 *
 *   const loss = vicregLoss(z0, z1);
 */
import { add, div, gemm, mul, reduceMean, reduceSum, relu, sqrt, sub, type Tensor } from '../graph';
import { staticBatchSize } from './similarity';

export const VICREG_DEFAULTS = { lambda: 25, mu: 25, nu: 1, eps: 1e-4 } as const;

export interface VicregWeights {
  lambda: number;
  mu: number;
  nu: number;
  eps: number;
}

const square = (x: Tensor): Tensor => mul(x, x);

/** The unbiased per-dimension variance [D] and the covariance penalty Σ_{i≠j} Cov_ij² / D of one view. */
function varianceAndCovariance(z: Tensor): { variance: Tensor; offDiagonalPenalty: Tensor } {
  const [n, d] = z.shape as number[];
  const centred = sub(z, reduceMean(z, [0], true));
  const cov = div(gemm(centred, centred, undefined, { transA: true }), n - 1);
  const variance = div(reduceSum(square(centred), [0]), n - 1);
  // Σ_{i≠j} Cov_ij² as the full sum minus the diagonal (the per-dimension variances).
  const offDiagonalPenalty = div(sub(reduceSum(square(cov)), reduceSum(square(variance))), d);
  return { variance, offDiagonalPenalty };
}

/** The three VICReg terms, unweighted. */
export function vicregTerms(za: Tensor, zb: Tensor, eps: number = VICREG_DEFAULTS.eps): { invariance: Tensor; variance: Tensor; covariance: Tensor } {
  staticBatchSize('vicregLoss', za, zb);
  const a = varianceAndCovariance(za);
  const b = varianceAndCovariance(zb);
  const hinge = (variance: Tensor) => reduceMean(relu(sub(1, sqrt(add(variance, eps)))));
  return {
    invariance: reduceMean(square(sub(za, zb))),
    variance: mul(add(hinge(a.variance), hinge(b.variance)), 0.5),
    covariance: add(a.offDiagonalPenalty, b.offDiagonalPenalty),
  };
}

export function vicregLoss(za: Tensor, zb: Tensor, weights: Partial<VicregWeights> = {}): Tensor {
  const { lambda, mu, nu, eps } = { ...VICREG_DEFAULTS, ...weights };
  const t = vicregTerms(za, zb, eps);
  return add(add(mul(t.invariance, lambda), mul(t.variance, mu)), mul(t.covariance, nu));
}
