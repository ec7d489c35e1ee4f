/**
 * Sinkhorn-Knopp: the equipartition step of SwaV (Caron et al. 2020, "Unsupervised Learning of
 * Visual Features by Contrasting Cluster Assignments", arXiv:2006.09882) and MSN, as lightly's
 * `sinkhorn` (lightly/loss/swav_loss.py; lightly/loss/msn_loss.py has the same iteration on
 * probabilities). docs/methods.md §4.15:
 *
 *   Q = exp(s/ε)ᵀ / Σ exp(s/ε)                                [K, B]
 *   repeat n:  Q /= row sums; Q /= K;  Q /= column sums; Q /= B
 *   return (B·Q)ᵀ                                             [B, K], each sample's code sums to 1
 *
 *   const q = sinkhorn(scores);                 // ε = 0.05, 3 iterations; no gradient (torch.no_grad)
 *   const q = sinkhornOnProbabilities(p, 3);    // MSN: the same iteration on a non-negative [B, K]
 *
 * The graph works on the [B, K] layout without transposing: K's "rows" are axis 1's columns here.
 * exp(s/ε) is taken after subtracting the global maximum of s: the first normalisation divides by
 * the total, so the shift cancels exactly, and it keeps exp from overflowing float32 when scores
 * exceed ~88·ε (a prototype bias that grew), where the reference would return NaN.
 */
import { GraphError, div, exp, formatShape, mul, reduceMax, reduceSum, stopGradient, sub, type Tensor } from '../graph';

export const SINKHORN_DEFAULTS = { iterations: 3, epsilon: 0.05 } as const;

/**
 * The Sinkhorn iteration on a non-negative [B, K] matrix (differentiable; callers detach). B is
 * every row passed: SwaV's queue variant runs it on [batch; queue scores] and keeps the first rows.
 */
export function sinkhornOnProbabilities(p: Tensor, iterations: number = SINKHORN_DEFAULTS.iterations): Tensor {
  const [b, k] = staticShape(p);
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new GraphError(`${p.graph.where()}sinkhorn: iterations must be a non-negative integer, got ${iterations}`);
  }
  let q = div(p, reduceSum(p));
  for (let i = 0; i < iterations; i++) {
    q = div(div(q, reduceSum(q, [0], true)), k); // each prototype's mass 1/K
    q = div(div(q, reduceSum(q, [1], true)), b); // each sample's mass 1/B
  }
  return mul(q, b);
}

function staticShape(p: Tensor): [number, number] {
  const [b, k] = p.shape;
  if (p.rank !== 2 || typeof b !== 'number' || typeof k !== 'number') {
    throw new GraphError(`${p.graph.where()}sinkhorn: needs a static [B, K] matrix, got ${formatShape(p.shape)}`);
  }
  return [b, k];
}

/** lightly's `sinkhorn(out, iterations, epsilon)`: codes [B, K] from scores [B, K], without gradient. */
export function sinkhorn(scores: Tensor, iterations: number = SINKHORN_DEFAULTS.iterations, epsilon: number = SINKHORN_DEFAULTS.epsilon): Tensor {
  if (!(epsilon > 0)) throw new GraphError(`${scores.graph.where()}sinkhorn: epsilon must be > 0, got ${epsilon}`);
  return stopGradient(sinkhornKnopp(stopGradient(scores), iterations, epsilon));
}

/** The differentiable form of `sinkhorn` (for gradient checks and callers that want the path). */
export function sinkhornKnopp(scores: Tensor, iterations: number, epsilon: number): Tensor {
  staticShape(scores);
  const shifted = sub(scores, stopGradient(reduceMax(scores)));
  return sinkhornOnProbabilities(exp(div(shifted, epsilon)), iterations);
}
