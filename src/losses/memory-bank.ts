/**
 * The memory bank / queue of MoCo, NNCLR and SMoG as lightly's MemoryBankModule (docs/methods.md §4.0),
 * in the graph: a ring buffer of `size` rows, a write pointer, and this rule per call:
 *
 *   return the bank as it was before this batch (the batch is never among its own negatives);
 *   if ptr + B ≥ size: rows ptr..size−1 ← batch[0..size−ptr−1], the rest of the batch is dropped, ptr ← 0
 *   else:              rows ptr..ptr+B−1 ← batch,                                           ptr ← ptr + B
 *
 * The pointer is data (an int64 [1] state tensor), so one graph serves every step: each bank row r
 * takes batch row r − ptr when 0 ≤ r − ptr < B and keeps its value otherwise (a Where over all K
 * rows: an exact overwrite with graph/'s ops, at K·D work per call, 0.5 M values for 4096 × 128).
 * Stored rows are detached. The bank starts as N(0, 1) rows, each L2-normalised, with the pointer at 0.
 *
 *   const { bankBefore, bankNext, ptrNext } = memoryBankUpdate(bank, ptr, l2Normalize(k));
 */
import {
  GraphError, add, formatShape, gather, greaterOrEqual, less, logicalAnd, maximum, minimum, stopGradient, sub, unsqueeze, where, type Tensor,
} from '../graph';

export interface MemoryBankStep {
  /** The bank the loss sees: its contents before this call's write. */
  bankBefore: Tensor;
  bankNext: Tensor;
  ptrNext: Tensor;
}

export function memoryBankUpdate(bank: Tensor, ptr: Tensor, batch: Tensor): MemoryBankStep {
  const [size, dim] = bank.shape;
  const rows = batch.shape[0];
  if (bank.rank !== 2 || typeof size !== 'number' || batch.rank !== 2 || typeof rows !== 'number' || batch.shape[1] !== dim || batch.dtype !== bank.dtype) {
    throw new GraphError(`${bank.graph.where()}memoryBankUpdate: bank ${bank.dtype}${formatShape(bank.shape)} and batch ${batch.dtype}${formatShape(batch.shape)} must be static [K, D] and [B, D] of one dtype`);
  }
  if (ptr.dtype !== 'int64' || formatShape(ptr.shape) !== '[1]') {
    throw new GraphError(`${bank.graph.where()}memoryBankUpdate: ptr ${ptr.dtype}${formatShape(ptr.shape)} must be int64 [1]`);
  }
  const bankRows = bank.graph.constant(BigInt64Array.from({ length: size }, (_, r) => BigInt(r)), [size], 'int64');
  const source = sub(bankRows, ptr);
  const written = logicalAnd(greaterOrEqual(source, 0), less(source, rows));
  const incoming = gather(stopGradient(batch), maximum(minimum(source, rows - 1), 0), 0);
  const advanced = add(ptr, rows);
  return {
    bankBefore: bank,
    bankNext: where(unsqueeze(written, 1), incoming, bank),
    ptrNext: where(greaterOrEqual(advanced, size), 0, advanced),
  };
}
