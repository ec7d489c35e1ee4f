/**
 * Barlow Twins (Zbontar et al. 2021, "Barlow Twins: Self-Supervised Learning via Redundancy
 * Reduction", arXiv:2103.03230, Algorithm 1), as lightly's BarlowTwinsLoss (METHODS.md §4.1):
 * standardise each dimension over the batch, cross-correlate the two views, and push the
 * correlation matrix towards the identity.
 *
 *   ẑ = (z − mean_batch) / sqrt(var_biased + 1e-5)
 *   C = ẑ_aᵀ ẑ_b / N                                   (D × D)
 *   L = Σ_i (1 − C_ii)² + λ·Σ_{i≠j} C_ij²               λ = 0.005
 *
 *   const loss = barlowTwinsLoss(z0, z1);
 */
import { add, batchNormTrain, div, gemm, mul, reduceSum, sub, type Tensor } from '../graph';
import { staticBatchSize } from './similarity';

export const BARLOW_TWINS_DEFAULTS = { lambda: 0.005, eps: 1e-5 } as const;

/** Per-dimension standardisation over the batch: F.batch_norm without affine, biased variance. */
function standardise(z: Tensor, eps: number): Tensor {
  return batchNormTrain(z, null, null, eps).y;
}

const square = (x: Tensor): Tensor => mul(x, x);

export function barlowTwinsLoss(za: Tensor, zb: Tensor, lambda: number = BARLOW_TWINS_DEFAULTS.lambda, eps: number = BARLOW_TWINS_DEFAULTS.eps): Tensor {
  const n = staticBatchSize('barlowTwinsLoss', za, zb);
  const a = standardise(za, eps);
  const b = standardise(zb, eps);
  const c = div(gemm(a, b, undefined, { transA: true }), n);
  const cDiagonal = div(reduceSum(mul(a, b), [0]), n);
  const invariance = reduceSum(square(sub(1, cDiagonal)));
  // Σ_{i≠j} C_ij² as the full sum minus the diagonal: no D × D mask (D is 8192 on ImageNet).
  const redundancy = sub(reduceSum(square(c)), reduceSum(square(cDiagonal)));
  return add(invariance, mul(redundancy, lambda));
}
