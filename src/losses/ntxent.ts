/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020, "A Simple
 * Framework for Contrastive Learning of Visual Representations", arXiv:2002.05709), as lightly's
 * NTXentLoss, in its two modes:
 *
 * - no bank (docs/methods.md §4.12; SimCLR, NNCLR): each sample's other view is its positive and the
 *   other 2N−2 embeddings of both views are its negatives; mean cross-entropy over all 2N rows.
 * - memory bank (docs/methods.md §4.9; MoCo): query q_i's positive is its key k_i and the negatives are
 *   the K bank entries, which are L2-normalised keys of earlier steps (see memory-bank.ts).
 *
 *   const loss = ntXentLoss(z0, z1);                       // τ = 0.5, the class default
 *   const loss = ntXentLossWithBank(q, k, bankBefore, 0.1);
 */
import { GraphError, concat, crossEntropy, div, formatShape, l2Normalize, matrixTranspose, unsqueeze, type Tensor } from '../graph';
import { offDiagonal, pairwiseDot, rowDot, staticBatchSize } from './similarity';

export const NT_XENT_DEFAULTS = { temperature: 0.5 } as const;

/** SimCLR's NT-Xent of two views [N, D] (no memory bank). */
export function ntXentLoss(z0: Tensor, z1: Tensor, temperature: number = NT_XENT_DEFAULTS.temperature): Tensor {
  const n = staticBatchSize('ntXentLoss', z0, z1);
  const a = l2Normalize(z0);
  const b = l2Normalize(z1);
  const ab = pairwiseDot(a, b);
  // Row i of view 0 is [a_i·b_j for all j] ++ [a_i·a_j for j ≠ i], so its positive b_i sits at
  // column i; view 1's rows mirror it.
  const rows0 = concat([ab, offDiagonal(pairwiseDot(a, a))], 1);
  const rows1 = concat([matrixTranspose(ab), offDiagonal(pairwiseDot(b, b))], 1);
  const logits = div(concat([rows0, rows1], 0), temperature);
  const labels = z0.graph.constant(BigInt64Array.from({ length: 2 * n }, (_, i) => BigInt(i % n)), [2 * n], 'int64');
  return crossEntropy(logits, labels);
}

/**
 * MoCo's NT-Xent against a memory bank: logits [q_i·k_i, q_i·n_1, …, q_i·n_K] / τ with label 0.
 * `bank` [K, D] is the bank *before* this step's keys are enqueued; its entries are used as stored.
 */
export function ntXentLossWithBank(q: Tensor, k: Tensor, bank: Tensor, temperature: number): Tensor {
  const n = staticBatchSize('ntXentLossWithBank', q, k);
  if (bank.rank !== 2 || bank.dtype !== q.dtype || bank.shape[1] !== q.shape[1]) {
    throw new GraphError(`${q.graph.where()}ntXentLossWithBank: bank ${bank.dtype}${formatShape(bank.shape)} must be [K, ${q.shape[1]}] ${q.dtype} like the queries`);
  }
  const qn = l2Normalize(q);
  const kn = l2Normalize(k);
  const logits = div(concat([unsqueeze(rowDot(qn, kn), 1), pairwiseDot(qn, bank)], 1), temperature);
  const positiveFirst = q.graph.constant(new BigInt64Array(n), [n], 'int64');
  return crossEntropy(logits, positiveFirst);
}
