/**
 * SMoG (Pang et al. 2022, "Unsupervised Visual Representation Learning by Synchronous Momentum
 * Grouping", arXiv:2207.06167), as lightly's SMoGPrototypes and the benchmark's SMoG training step
 * (docs/methods.md §4.17; lightly `heads.py SMoGPrototypes`, `cifar10_benchmark.py SMoGModel`).
 * Groups G [K, D] are stored raw (not normalised); similarities are cosines.
 *
 *   a_b   = argmax_g cos(e1_b, G_g)                      targets from the momentum view (no gradient)
 *   c_b   = argmax_g cos(e0_b, G_g)                      the online projection's own group
 *   G'_g  = β·G_g + (1−β)·mean{e0_b : c_b = g}           for every group with members; others G'_g = G_g
 *   L     = CE(cos(p0, G')/τ, a)                         mean over the batch; G' is differentiable w.r.t. e0
 *   store sg(G') as the next groups                                                    β = 0.99, τ = 0.1
 *
 *   const { loss, groupsNext } = smogLoss({ e0, p0, e1 }, groups);
 */
import {
  GraphError, add, argmax, crossEntropy, div, formatShape, gemm, greater, l2Normalize, maximum, mul, oneHot, reduceSum, stopGradient, unsqueeze, where, type Tensor,
} from '../graph';
import { pairwiseDot } from './similarity';

export const SMOG_DEFAULTS = { temperature: 0.1, groupMomentum: 0.99 } as const;

/** cos(x_b, G_g) / τ: [B, D] × [K, D] → [B, K] (lightly SMoGPrototypes.forward). */
export function groupLogits(x: Tensor, groups: Tensor, temperature = 1): Tensor {
  return div(pairwiseDot(l2Normalize(x), l2Normalize(groups)), temperature);
}

/** The group of highest cosine similarity per row (first on ties, as torch.argmax); int64 [B], no gradient. */
export function assignGroups(x: Tensor, groups: Tensor): Tensor {
  return argmax(groupLogits(stopGradient(x), stopGradient(groups)), 1);
}

/** G' of lightly SMoGPrototypes.get_updated_group_features: each used group moves towards the mean of its rows of x. */
export function updatedGroupFeatures(x: Tensor, groups: Tensor, beta: number = SMOG_DEFAULTS.groupMomentum): Tensor {
  const k = groups.shape[0] as number;
  const membership = oneHot(assignGroups(x, groups), k, x.dtype);          // [B, K]
  const counts = unsqueeze(reduceSum(membership, [0]), 1);                // [K, 1]
  const means = div(gemm(membership, x, undefined, { transA: true }), maximum(counts, 1));
  const fixed = stopGradient(groups);
  return where(greater(counts, 0), add(mul(fixed, beta), mul(means, 1 - beta)), fixed);
}

export interface SmogViews {
  /** Online projection of the first view (grouped, enqueued into the bank). */
  e0: Tensor;
  /** Online prediction of the first view. */
  p0: Tensor;
  /** Momentum projection of the second view (targets). */
  e1: Tensor;
}

export function smogLoss(
  views: SmogViews, groups: Tensor, beta: number = SMOG_DEFAULTS.groupMomentum, temperature: number = SMOG_DEFAULTS.temperature,
): { loss: Tensor; groupsNext: Tensor } {
  const { e0, p0, e1 } = views;
  for (const [name, t] of Object.entries(views)) {
    if (t.rank !== 2 || t.shape[1] !== groups.shape[1] || t.dtype !== groups.dtype || t.shape[0] !== e0.shape[0]) {
      throw new GraphError(`${groups.graph.where()}smogLoss: ${name} ${t.dtype}${formatShape(t.shape)} must be [B, D] ${groups.dtype} like the groups ${formatShape(groups.shape)}`);
    }
  }
  const targets = assignGroups(e1, groups);
  const next = updatedGroupFeatures(e0, groups, beta);
  return { loss: crossEntropy(groupLogits(p0, next, temperature), targets), groupsNext: stopGradient(next) };
}
