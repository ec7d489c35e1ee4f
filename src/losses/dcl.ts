/**
 * Decoupled contrastive learning (Yeh et al. 2022, "Decoupled Contrastive Learning",
 * arXiv:2110.06848), as lightly's DCLLoss / DCLWLoss (docs/methods.md §4.3, §4.4). Unlike NT-Xent the
 * positive pair is left out of the denominator. For the direction (a, b), z normalised:
 *
 *   ℓ_i = −w_i·(a_i·b_i)/τ + log Σ_{j≠i} [exp(a_i·a_j/τ) + exp(a_i·b_j/τ)]
 *   L   = ½[mean_i ℓ_i(a=z0, b=z1) + mean_i ℓ_i(a=z1, b=z0)]
 *
 * DCL: w_i = 1. DCLW: w_i = 2 − N·softmax_i(sg(a_i·b_i)/σ), the softmax taken over the batch
 * (negative von Mises-Fisher weighting: harder positives, lower similarity, weigh more).
 *
 * Negatives: 'joint' (the default) takes one log-sum-exp over both negative sets, as the paper's
 * Eq. 6 and lightly since PR #1827 (2025-06). 'separate' is the form every published benchmark row
 * was run with (docs/methods.md §4.21; lightly `dcl_loss.py DCLLoss._loss` up to mid-2025): two
 * log-sum-exps, one over the same-view and one over the cross-view negatives,
 *
 *   ℓ_i = −w_i·(a_i·b_i)/τ + log Σ_{j≠i} exp(a_i·a_j/τ) + log Σ_{j≠i} exp(a_i·b_j/τ)
 *
 * which gives the negatives twice the softmax weight in the gradient.
 *
 *   const loss = dclLoss(z0, z1);                     // τ = 0.1
 *   const loss = dclwLoss(z0, z1);                    // τ = 0.1, σ = 0.5
 *   const loss = dclLoss(z0, z1, 0.1, 'separate');    // as the published rows
 */
import { add, concat, div, l2Normalize, logSumExp, mul, reduceMean, softmax, stopGradient, sub, type Tensor } from '../graph';
import { offDiagonal, pairwiseDot, rowDot, staticBatchSize } from './similarity';

/** How the negatives' log-sum-exp is taken: one over both sets, or one per set (published rows). */
export type DclNegatives = 'joint' | 'separate';

export const DCL_DEFAULTS = { temperature: 0.1, sigma: 0.5, negatives: 'joint' as DclNegatives } as const;

type PositiveWeights = (a: Tensor, b: Tensor) => Tensor | null;

function negativeTerm(a: Tensor, b: Tensor, temperature: number, negatives: DclNegatives): Tensor {
  const crossView = div(offDiagonal(pairwiseDot(a, b)), temperature);
  const sameView = div(offDiagonal(pairwiseDot(a, a)), temperature);
  return negatives === 'joint'
    ? logSumExp(concat([crossView, sameView], 1), -1)
    : add(logSumExp(sameView, -1), logSumExp(crossView, -1));
}

function decoupledDirection(a: Tensor, b: Tensor, temperature: number, weights: Tensor | null, negatives: DclNegatives): Tensor {
  const positive = div(rowDot(a, b), temperature);
  return reduceMean(sub(negativeTerm(a, b, temperature, negatives), weights ? mul(weights, positive) : positive));
}

function decoupledLoss(name: string, z0: Tensor, z1: Tensor, temperature: number, weightsOf: PositiveWeights, negatives: DclNegatives): Tensor {
  staticBatchSize(name, z0, z1);
  const a = l2Normalize(z0);
  const b = l2Normalize(z1);
  const direction = (x: Tensor, y: Tensor) => decoupledDirection(x, y, temperature, weightsOf(x, y), negatives);
  return mul(add(direction(a, b), direction(b, a)), 0.5);
}

/** w_i = 2 − N·softmax_i(sg(a_i·b_i)/σ) over the local batch; the same for both directions. */
export function negativeMisesFisherWeights(a: Tensor, b: Tensor, sigma: number = DCL_DEFAULTS.sigma): Tensor {
  const n = a.shape[0] as number;
  return sub(2, mul(softmax(div(stopGradient(rowDot(a, b)), sigma), 0), n));
}

/** DCL: the decoupled loss with unit positive weights. */
export function dclLoss(z0: Tensor, z1: Tensor, temperature: number = DCL_DEFAULTS.temperature, negatives: DclNegatives = DCL_DEFAULTS.negatives): Tensor {
  return decoupledLoss('dclLoss', z0, z1, temperature, () => null, negatives);
}

/** DCLW: the decoupled loss with negative von Mises-Fisher positive weights. */
export function dclwLoss(
  z0: Tensor, z1: Tensor, temperature: number = DCL_DEFAULTS.temperature, sigma: number = DCL_DEFAULTS.sigma, negatives: DclNegatives = DCL_DEFAULTS.negatives,
): Tensor {
  return decoupledLoss('dclwLoss', z0, z1, temperature, (a, b) => negativeMisesFisherWeights(a, b, sigma), negatives);
}
