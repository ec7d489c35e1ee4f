/**
 * NNCLR (Dwibedi et al. 2021, "With a Little Help from My Friends: Nearest-Neighbor Contrastive
 * Learning of Visual Representations", arXiv:2104.14548), docs/methods.md §4.10: each projection is
 * replaced by its nearest neighbour in a support set (a memory bank of earlier projections) before
 * NT-Xent against the other view's prediction.
 *
 *   nn0 = NN(z0), nn1 = NN(z1)          both against the bank before this step's update
 *   L   = ½[NTXent(nn0, p1) + NTXent(nn1, p0)],  then enqueue z1 (detached)
 *
 *   const { loss, bankNext, ptrNext } = nnclrLoss({ z0, z1, p0, p1 }, bank, ptr);
 */
import { GraphError, add, argmax, formatShape, gather, l2Normalize, mul, stopGradient, type Tensor } from '../graph';
import { memoryBankUpdate } from './memory-bank';
import { NT_XENT_DEFAULTS, ntXentLoss } from './ntxent';
import { pairwiseDot } from './similarity';

export const NNCLR_DEFAULTS = { temperature: NT_XENT_DEFAULTS.temperature } as const;

/**
 * For each row of z (detached), the bank entry [K, D] of highest cosine similarity, as stored
 * (not normalised); the first such entry on ties, as torch.argmax.
 */
export function nearestNeighbour(z: Tensor, bank: Tensor): Tensor {
  if (z.rank !== 2 || bank.rank !== 2 || z.shape[1] !== bank.shape[1] || z.dtype !== bank.dtype) {
    throw new GraphError(`${z.graph.where()}nearestNeighbour: z ${z.dtype}${formatShape(z.shape)} and bank ${bank.dtype}${formatShape(bank.shape)} must be [N, D] and [K, D] of one dtype`);
  }
  const similarity = pairwiseDot(l2Normalize(stopGradient(z)), l2Normalize(bank));
  return stopGradient(gather(bank, argmax(similarity, 1), 0));
}

export interface NnclrViews {
  /** Projections of views 0 and 1 (looked up, and z1 enqueued). */
  z0: Tensor;
  z1: Tensor;
  /** Predictions of views 0 and 1. */
  p0: Tensor;
  p1: Tensor;
}

export function nnclrLoss(views: NnclrViews, bank: Tensor, ptr: Tensor, temperature: number = NNCLR_DEFAULTS.temperature): { loss: Tensor; bankNext: Tensor; ptrNext: Tensor } {
  const { z0, z1, p0, p1 } = views;
  const { bankBefore, bankNext, ptrNext } = memoryBankUpdate(bank, ptr, z1);
  const nn0 = nearestNeighbour(z0, bankBefore);
  const nn1 = nearestNeighbour(z1, bankBefore);
  const loss = mul(add(ntXentLoss(nn0, p1, temperature), ntXentLoss(nn1, p0, temperature)), 0.5);
  return { loss, bankNext, ptrNext };
}
