/**
 * SwaV's swapped prediction (Caron et al. 2020, arXiv:2006.09882), as lightly's SwaVLoss
 * (lightly/loss/swav_loss.py SwaVLoss.forward; docs/methods.md §4.15, §4.16). Inputs are prototype
 * scores s = prototypes(normalize(z)) of every crop, high-resolution crops first:
 *
 *   for each high-resolution crop i:
 *     q_i = Sinkhorn(sg s_i)                     [or Sinkhorn(sg [s_i; queue scores_i]) first B rows]
 *     ℓ_i = Σ_{v ≠ i} −mean_b Σ_k q_i,bk · log softmax(s_v,b / τ)_k     / (n_crops − 1)
 *   L = mean_i ℓ_i                                                      τ = 0.1, ε = 0.05, 3 iterations
 *
 *   const loss = swavLoss(highScores, lowScores);
 *   const loss = swavLoss(highScores, lowScores, { queueScores, useQueue });   // SwaVQueue
 *
 * SwaVQueue appends the queue scores only from a given epoch on; `useQueue` is a float32 0/1
 * scalar fed per step that selects between the codes with and without them (both are computed,
 * as one graph serves every step).
 */
import { GraphError, add, concat, div, formatShape, logSoftmax, mul, neg, reduceMean, reduceSum, slice, stopGradient, sub, type Tensor } from '../graph';
import { SINKHORN_DEFAULTS, sinkhorn } from './sinkhorn';

export const SWAV_DEFAULTS = { temperature: 0.1, sinkhornIterations: SINKHORN_DEFAULTS.iterations, sinkhornEpsilon: SINKHORN_DEFAULTS.epsilon } as const;

export interface SwavLossOptions {
  temperature?: number;
  sinkhornIterations?: number;
  sinkhornEpsilon?: number;
  /** One [Q, K] score matrix per high-resolution crop (prototypes applied to that crop's queue). */
  queueScores?: readonly Tensor[];
  /** float32 scalar, 1 where the queue scores join Sinkhorn this step, 0 where not (default: always). */
  useQueue?: Tensor;
}

/** −mean_b Σ_k q_bk · log softmax(s_b/τ)_k (SwaVLoss.subloss). */
export function swavSubloss(scores: Tensor, codes: Tensor, temperature: number): Tensor {
  return neg(reduceMean(reduceSum(mul(codes, logSoftmax(div(scores, temperature), -1)), [1])));
}

/** Codes of one high-resolution crop, optionally with its queue's scores appended for Sinkhorn. */
export function swavCodes(scores: Tensor, iterations: number, epsilon: number, queueScores?: Tensor, useQueue?: Tensor): Tensor {
  const plain = sinkhorn(scores, iterations, epsilon);
  if (!queueScores) return plain;
  const b = scores.shape[0] as number;
  const withQueue = slice(sinkhorn(concat([scores, queueScores], 0), iterations, epsilon), [0], [b], [0]);
  if (!useQueue) return withQueue;
  return add(mul(withQueue, useQueue), mul(plain, sub(1, useQueue)));
}

export function swavLoss(high: readonly Tensor[], low: readonly Tensor[], opts: SwavLossOptions = {}): Tensor {
  const temperature = opts.temperature ?? SWAV_DEFAULTS.temperature;
  const iterations = opts.sinkhornIterations ?? SWAV_DEFAULTS.sinkhornIterations;
  const epsilon = opts.sinkhornEpsilon ?? SWAV_DEFAULTS.sinkhornEpsilon;
  const crops = [...high, ...low];
  const first = crops[0];
  if (!first || high.length === 0) throw new GraphError('swavLoss: needs at least one high-resolution crop');
  if (crops.length < 2) throw new GraphError(`${first.graph.where()}swavLoss: needs at least two crops`);
  for (const t of crops) {
    if (t.rank !== 2 || formatShape(t.shape) !== formatShape(first.shape) || t.dtype !== first.dtype || typeof t.shape[0] !== 'number') {
      throw new GraphError(`${first.graph.where()}swavLoss: every crop's scores must be a static [B, K] ${first.dtype} like the first, got ${crops.map((x) => `${x.dtype}${formatShape(x.shape)}`).join(', ')}`);
    }
  }
  const queues = opts.queueScores;
  if (queues) {
    if (queues.length !== high.length) {
      throw new GraphError(`${first.graph.where()}swavLoss: ${queues.length} queues for ${high.length} high-resolution crops; one queue per high-resolution crop`);
    }
    for (const q of queues) {
      if (q.rank !== 2 || q.shape[1] !== first.shape[1] || q.dtype !== first.dtype) {
        throw new GraphError(`${first.graph.where()}swavLoss: queue scores ${q.dtype}${formatShape(q.shape)} must be [Q, ${first.shape[1]}] ${first.dtype}`);
      }
    }
  }
  let total: Tensor | null = null;
  high.forEach((scores, i) => {
    const q = stopGradient(swavCodes(scores, iterations, epsilon, queues?.[i], opts.useQueue));
    let subloss: Tensor | null = null;
    crops.forEach((v, j) => {
      if (j === i) return;
      const term = swavSubloss(v, q, temperature);
      subloss = subloss ? add(subloss, term) : term;
    });
    const li = div(subloss!, crops.length - 1);
    total = total ? add(total, li) : li;
  });
  return div(total!, high.length);
}
