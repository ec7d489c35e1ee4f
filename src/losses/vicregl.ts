/**
 * VICRegL (Bardes et al. 2022, "VICRegL: Self-Supervised Learning of Local Visual Features",
 * arXiv:2210.01571), as lightly's VICRegLLoss (docs/methods.md §4.20; lightly `vicregl_loss.py`,
 * `models/utils.py nearest_neighbors`). Every view v brings a global embedding z_v [B, D], a map of
 * local embeddings l_v [B, M, E] (M = H·W locations, row-major) and its coordinate grid g_v [B, M, 2].
 *
 *   L        = α·L_global + (1 − α)·L_local                                        α = 0.75
 *   L_global = λ·mean_{(a,b)} MSE(z_a, z_b) + μ·mean_v var(z_v) + ν·mean_v cov(z_v)   pairs: ordered
 *              distinct global pairs, then global → local; var/cov over every view
 *   L_local  = mean_{(a,b)} [ l2(a, b) + location(a, b) ]                            same pairs
 *   l2 / location(a, b) = ½[VICReg'(match(a → b, k₀)) + VICReg'(match(b → a, k₁))]   (k₀, k₁) = num_matches
 *
 * match(a → b, k): each location of a takes its nearest location of b (feature distance for l2,
 * grid distance for location); the k pairs of smallest distance, in ascending order, form
 * [B, k, E] slots. VICReg' is VICReg with ν/2 whose variance and covariance are taken over the batch
 * separately for every slot and averaged over the slots. Matching carries no gradient.
 *
 *   const loss = vicreglLoss([{ z: z0, local: l0, grid: g0 }, { z: z1, local: l1, grid: g1 }]);
 */
import {
  GraphError, add, div, expand, formatShape, gatherElements, matmul, mul, reduceMean, reduceSum, relu, sqrt, squeeze, stopGradient, sub, topK, transpose, unsqueeze, type Tensor,
} from '../graph';

export const VICREGL_DEFAULTS = { alpha: 0.75, lambda: 25, mu: 25, nu: 1, eps: 1e-4, numMatches: [20, 4] as readonly [number, number] } as const;

export interface VicreglOptions {
  alpha: number;
  lambda: number;
  mu: number;
  nu: number;
  eps: number;
  numMatches: readonly [number, number];
}

export interface VicreglView {
  /** Global embedding [B, D]. */
  z: Tensor;
  /** Local embeddings [B, M, E], locations row-major. */
  local: Tensor;
  /** Coordinates of the locations [B, M, 2] (source-image pixels). */
  grid: Tensor;
}

const square = (x: Tensor): Tensor => mul(x, x);

/**
 * lightly's variance_loss and covariance_loss of x [B, ..., D]: statistics over the batch axis for
 * every leading slot, hinge mean over slots and dims, Σ_{i≠j} Cov_ij² / D averaged over slots.
 */
export function varianceCovariance(x: Tensor, eps: number): { variance: Tensor; covariance: Tensor } {
  const b = x.shape[0] as number;
  const d = x.shape[x.rank - 1] as number;
  const centred = sub(x, reduceMean(x, [0], true));
  const perDim = div(reduceSum(square(centred), [0]), b - 1);                      // [..., D]
  const variance = reduceMean(relu(sub(1, sqrt(add(perDim, eps)))));
  // Slots first: [S, B, D] with S = product of the middle dims (1 for [B, D]).
  const slots = x.rank === 2 ? unsqueeze(centred, 0) : transpose(centred, [1, 0, 2]);
  const cov = div(matmul(transpose(slots, [0, 2, 1]), slots), b - 1);               // [S, D, D]
  const perSlot = div(sub(reduceSum(square(cov), [1, 2]), reduceSum(square(x.rank === 2 ? unsqueeze(perDim, 0) : perDim), [1])), d);
  return { variance, covariance: reduceMean(perSlot) };
}

/** lightly's VICRegLoss on [B, D] or [B, M, D] pairs (λ·MSE + μ·½(var_a + var_b) + ν·(cov_a + cov_b)). */
export function vicregOnSlots(a: Tensor, b: Tensor, lambda: number, mu: number, nu: number, eps: number): Tensor {
  const va = varianceCovariance(a, eps);
  const vb = varianceCovariance(b, eps);
  const invariance = reduceMean(square(sub(a, b)));
  return add(add(mul(invariance, lambda), mul(add(va.variance, vb.variance), 0.5 * mu)), mul(add(va.covariance, vb.covariance), nu));
}

/** Squared Euclidean distances [B, M, N] between the rows of a [B, M, C] and b [B, N, C] (no gradient). */
export function pairwiseSquaredDistances(a: Tensor, b: Tensor): Tensor {
  return stopGradient(reduceSum(square(sub(unsqueeze(a, 2), unsqueeze(b, 1))), [3]));
}

/**
 * lightly's nearest_neighbors: each input location's nearest candidate by `distances` [B, M, N],
 * then the `numMatches` input locations of smallest such distance (ascending), as
 * ([B, k, E] inputs, [B, k, E] their nearest candidates), k = min(numMatches, M).
 */
export function nearestNeighbourMatches(input: Tensor, candidates: Tensor, distances: Tensor, numMatches: number): { input: Tensor; matched: Tensor } {
  const [b, m, e] = input.shape as number[];
  const k = Math.min(numMatches, m);
  const nearest = topK(distances, 1, 2, false);                                    // [B, M, 1]
  const best = topK(squeeze(nearest.values, 2), k, 1, false).indices;            // [B, k]
  const slots = expand(unsqueeze(best, 2), [b, k, e]);
  const selected = gatherElements(candidates, expand(nearest.indices, [b, m, e]), 1);
  return { input: gatherElements(input, slots, 1), matched: gatherElements(selected, slots, 1) };
}

function checkView(v: VicreglView, name: string): void {
  const [b] = v.z.shape;
  const ok = v.z.rank === 2 && v.local.rank === 3 && v.grid.rank === 3 && v.local.shape[0] === b && v.grid.shape[0] === b
    && v.grid.shape[1] === v.local.shape[1] && v.grid.shape[2] === 2;
  if (!ok) {
    throw new GraphError(`${v.z.graph.where()}vicreglLoss: ${name} z ${formatShape(v.z.shape)}, local ${formatShape(v.local.shape)}, grid ${formatShape(v.grid.shape)} must be [B, D], [B, M, E], [B, M, 2]`);
  }
}

export function vicreglLoss(globals: readonly VicreglView[], locals: readonly VicreglView[] = [], options: Partial<VicreglOptions> = {}): Tensor {
  const o = { ...VICREGL_DEFAULTS, ...options };
  globals.forEach((v, i) => checkView(v, `global view ${i}`));
  locals.forEach((v, i) => checkView(v, `local view ${i}`));
  if (globals.length < 2 && locals.length === 0) throw new GraphError(`vicreglLoss: needs at least two views, got ${globals.length} global`);
  const pairs: [VicreglView, VicreglView][] = [];
  for (const a of globals) {
    for (const b of globals) if (a !== b) pairs.push([a, b]);
    for (const b of locals) pairs.push([a, b]);
  }
  const mean = (terms: Tensor[]) => div(terms.reduce((s, t) => add(s, t)), terms.length);

  const everyView = [...globals, ...locals];
  const stats = everyView.map((v) => varianceCovariance(v.z, o.eps));
  const globalLoss = add(add(
    mul(mean(pairs.map(([a, b]) => reduceMean(square(sub(a.z, b.z))))), o.lambda),
    mul(mean(stats.map((s) => s.variance)), o.mu)),
    mul(mean(stats.map((s) => s.covariance)), o.nu));

  const local = (a: Tensor, b: Tensor) => vicregOnSlots(a, b, o.lambda, o.mu, 0.5 * o.nu, o.eps);
  const matchedLoss = (a: VicreglView, b: VicreglView, distancesAB: Tensor, distancesBA: Tensor) => {
    const ab = nearestNeighbourMatches(a.local, b.local, distancesAB, o.numMatches[0]);
    const ba = nearestNeighbourMatches(b.local, a.local, distancesBA, o.numMatches[1]);
    return mul(add(local(ab.input, ab.matched), local(ba.input, ba.matched)), 0.5);
  };
  const localLoss = mean(pairs.map(([a, b]) => add(
    matchedLoss(a, b, pairwiseSquaredDistances(a.local, b.local), pairwiseSquaredDistances(b.local, a.local)),
    matchedLoss(a, b, pairwiseSquaredDistances(a.grid, b.grid), pairwiseSquaredDistances(b.grid, a.grid)),
  )));
  return add(mul(globalLoss, o.alpha), mul(localLoss, 1 - o.alpha));
}
