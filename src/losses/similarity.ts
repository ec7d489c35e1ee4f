/**
 * The similarity building blocks the contrastive and redundancy-reduction losses share: dot
 * products between the rows of two embedding batches, cosine similarity with torch's eps, and the
 * off-diagonal part of a square matrix. docs/methods.md §0 fixes the eps conventions.
 */
import { GraphError, formatShape, gemm, l2Normalize, mul, reduceSum, reshape, slice, type Tensor } from '../graph';

/** torch.nn.functional.cosine_similarity's default eps, clamping each norm separately (docs/methods.md §0). */
export const COSINE_EPS = 1e-8;

/** The batch size of [N, D] embeddings, which must be static and equal for every view. */
export function staticBatchSize(lossName: string, ...views: Tensor[]): number {
  const [first] = views;
  for (const v of views) {
    if (v.rank !== 2 || v.dtype !== first.dtype || formatShape(v.shape) !== formatShape(first.shape)) {
      throw new GraphError(`${first.graph.where()}${lossName}: views must be [N, D] of one shape and dtype, got ${views.map((t) => `${t.dtype}${formatShape(t.shape)}`).join(', ')}`);
    }
  }
  const n = first.shape[0];
  if (typeof n !== 'number' || n < 2) {
    throw new GraphError(`${first.graph.where()}${lossName}: the batch dim must be static and at least 2, got ${formatShape(first.shape)}`);
  }
  return n;
}

/** [N, D] × [M, D] → [N, M] of row dot products a_i·b_j. */
export const pairwiseDot = (a: Tensor, b: Tensor): Tensor => gemm(a, b, undefined, { transB: true });

/** [N, D] × [N, D] → [N] of a_i·b_i. */
export const rowDot = (a: Tensor, b: Tensor): Tensor => reduceSum(mul(a, b), [-1]);

/** cos(a_i, b_i) per row, each norm clamped at `eps` as torch.nn.functional.cosine_similarity. */
export function rowCosine(a: Tensor, b: Tensor, eps = COSINE_EPS): Tensor {
  return rowDot(l2Normalize(a, -1, eps), l2Normalize(b, -1, eps));
}

/**
 * The N(N−1) off-diagonal entries of an [N, N] matrix as [N, N−1], row by row (torch's
 * `m[~eye].view(N, -1)`). Dropping the first element leaves the diagonal at the end of every row of
 * an [N−1, N+1] view, so two slices and reshapes remove it exactly, without a mask value.
 */
export function offDiagonal(m: Tensor): Tensor {
  const n = m.shape[0];
  if (m.rank !== 2 || typeof n !== 'number' || m.shape[1] !== n) {
    throw new GraphError(`${m.graph.where()}offDiagonal: needs a static square matrix, got ${formatShape(m.shape)}`);
  }
  const rest = slice(reshape(m, [n * n]), [1], [n * n]);
  return reshape(slice(reshape(rest, [n - 1, n + 1]), [0], [n], [1]), [n, n - 1]);
}

