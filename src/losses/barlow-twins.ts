/**
 * Barlow Twins (Zbontar et al. 2021, "Barlow Twins: Self-Supervised Learning via Redundancy
 * Reduction", arXiv:2103.03230, Algorithm 1), as lightly's BarlowTwinsLoss (docs/methods.md §4.1):
 * standardise each dimension over the batch, cross-correlate the two views, and push the
 * correlation matrix towards the identity.
 *
 *   ẑ = (z − mean_batch) / sqrt(var_biased + 1e-5)
 *   C = ẑ_aᵀ ẑ_b / N                                   (D × D)
 *   L = Σ_i (1 − C_ii)² + λ·Σ_{i≠j} C_ij²               λ = 0.005
 *
 * Normalisation 'per_view' (the default) standardises each view over its own N rows. 'joint' is the
 * form the published ImageNet1k R50 row was run with (docs/methods.md §4.21; lightly
 * `barlow_twins_loss.py` `_normalize` at 24fe0dc8): one batch norm over the 2N stacked rows of both
 * views, so both share one mean and variance per dimension. (That run also averaged C over two GPUs
 * that each normalised their own half of the batch; a single-device run normalises the whole batch.)
 *
 *   const loss = barlowTwinsLoss(z0, z1);
 *   const loss = barlowTwinsLoss(z0, z1, 0.005, 1e-5, 'joint');
 */
import { add, batchNormTrain, concat, div, gemm, mul, reduceSum, slice, sub, type Tensor } from '../graph';
import { staticBatchSize } from './similarity';

/** Standardise each view over its own batch, or both views over their stacked 2N rows. */
export type BarlowTwinsNormalisation = 'per_view' | 'joint';

export const BARLOW_TWINS_DEFAULTS = { lambda: 0.005, eps: 1e-5, normalisation: 'per_view' as BarlowTwinsNormalisation } as const;

/** Per-dimension standardisation over the batch: F.batch_norm without affine, biased variance. */
function standardise(z: Tensor, eps: number): Tensor {
  return batchNormTrain(z, null, null, eps).y;
}

const square = (x: Tensor): Tensor => mul(x, x);

function standardiseJointly(za: Tensor, zb: Tensor, n: number, eps: number): [Tensor, Tensor] {
  const both = standardise(concat([za, zb], 0), eps);
  return [slice(both, [0], [n], [0]), slice(both, [n], [2 * n], [0])];
}

export function barlowTwinsLoss(
  za: Tensor, zb: Tensor, lambda: number = BARLOW_TWINS_DEFAULTS.lambda, eps: number = BARLOW_TWINS_DEFAULTS.eps,
  normalisation: BarlowTwinsNormalisation = BARLOW_TWINS_DEFAULTS.normalisation,
): Tensor {
  const n = staticBatchSize('barlowTwinsLoss', za, zb);
  const [a, b] = normalisation === 'joint' ? standardiseJointly(za, zb, n, eps) : [standardise(za, eps), standardise(zb, eps)];
  const c = div(gemm(a, b, undefined, { transA: true }), n);
  const cDiagonal = div(reduceSum(mul(a, b), [0]), n);
  const invariance = reduceSum(square(sub(1, cDiagonal)));
  // Σ_{i≠j} C_ij² as the full sum minus the diagonal: no D × D mask (D is 8192 on ImageNet).
  const redundancy = sub(reduceSum(square(c)), reduceSum(square(cDiagonal)));
  return add(invariance, mul(redundancy, lambda));
}
