/**
 * Decoupled contrastive learning (Yeh et al. 2022, "Decoupled Contrastive Learning",
 * arXiv:2110.06848), as lightly's DCLLoss / DCLWLoss (METHODS.md §4.3, §4.4). Unlike NT-Xent the
 * positive pair is left out of the denominator. For the direction (a, b), z normalised:
 *
 *   ℓ_i = −w_i·(a_i·b_i)/τ + log Σ_{j≠i} [exp(a_i·a_j/τ) + exp(a_i·b_j/τ)]
 *   L   = ½[mean_i ℓ_i(a=z0, b=z1) + mean_i ℓ_i(a=z1, b=z0)]
 *
 * DCL: w_i = 1. DCLW: w_i = 2 − N·softmax_i(sg(a_i·b_i)/σ), the softmax taken over the batch
 * (negative von Mises-Fisher weighting: harder positives, lower similarity, weigh more).
 *
 * One log-sum over both negative sets, as the paper's Eq. 6 and METHODS.md: lightly releases up to
 * at least mid-2025 summed two separate log-sum-exps (over a_i·a_j and over a_i·b_j) instead.
 *
 *   const loss = dclLoss(z0, z1);   // τ = 0.1
 *   const loss = dclwLoss(z0, z1);  // τ = 0.1, σ = 0.5
 */
import { add, concat, div, l2Normalize, logSumExp, mul, reduceMean, softmax, stopGradient, sub, type Tensor } from '../graph';
import { offDiagonal, pairwiseDot, rowDot, staticBatchSize } from './similarity';

export const DCL_DEFAULTS = { temperature: 0.1, sigma: 0.5 } as const;

type PositiveWeights = (a: Tensor, b: Tensor) => Tensor | null;

function decoupledDirection(a: Tensor, b: Tensor, temperature: number, weights: Tensor | null): Tensor {
  const positive = div(rowDot(a, b), temperature);
  const negatives = div(concat([offDiagonal(pairwiseDot(a, b)), offDiagonal(pairwiseDot(a, a))], 1), temperature);
  return reduceMean(sub(logSumExp(negatives, -1), weights ? mul(weights, positive) : positive));
}

function decoupledLoss(name: string, z0: Tensor, z1: Tensor, temperature: number, weightsOf: PositiveWeights): Tensor {
  staticBatchSize(name, z0, z1);
  const a = l2Normalize(z0);
  const b = l2Normalize(z1);
  return mul(add(decoupledDirection(a, b, temperature, weightsOf(a, b)), decoupledDirection(b, a, temperature, weightsOf(b, a))), 0.5);
}

/** w_i = 2 − N·softmax_i(sg(a_i·b_i)/σ) over the local batch; the same for both directions. */
export function negativeMisesFisherWeights(a: Tensor, b: Tensor, sigma: number = DCL_DEFAULTS.sigma): Tensor {
  const n = a.shape[0] as number;
  return sub(2, mul(softmax(div(stopGradient(rowDot(a, b)), sigma), 0), n));
}

/** DCL: the decoupled loss with unit positive weights. */
export function dclLoss(z0: Tensor, z1: Tensor, temperature: number = DCL_DEFAULTS.temperature): Tensor {
  return decoupledLoss('dclLoss', z0, z1, temperature, () => null);
}

/** DCLW: the decoupled loss with negative von Mises-Fisher positive weights. */
export function dclwLoss(z0: Tensor, z1: Tensor, temperature: number = DCL_DEFAULTS.temperature, sigma: number = DCL_DEFAULTS.sigma): Tensor {
  return decoupledLoss('dclwLoss', z0, z1, temperature, (a, b) => negativeMisesFisherWeights(a, b, sigma));
}
