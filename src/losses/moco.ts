/**
 * MoCo (He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation Learning",
 * arXiv:1911.05722; v2: Chen et al. 2020, arXiv:2003.04297), docs/methods.md §4.9: NT-Xent of online
 * queries against momentum keys, with a queue of earlier keys as negatives. Each call sees the
 * queue before its own keys and then enqueues them (L2-normalised, detached).
 *
 *   mocoLoss(q, k, bank, ptr, τ)                                  single loss (MoCoV2 ImageNet1k)
 *   mocoSymmetricLoss({ q0, k1, q1, k0 }, bank, ptr, τ)           ½[ℓ(q0, k1) + ℓ(q1, k0)]: docs scripts;
 *     two enqueues per step, so the second call's negatives include the first call's keys
 */
import { add, l2Normalize, mul, type Tensor } from '../graph';
import { memoryBankUpdate } from './memory-bank';
import { ntXentLossWithBank } from './ntxent';

export const MOCO_DEFAULTS = { temperature: 0.1 } as const;

export interface MocoStep {
  loss: Tensor;
  bankNext: Tensor;
  ptrNext: Tensor;
}

/** One query/key call: the loss against the queue before this call, then the keys enqueued. */
export function mocoLoss(q: Tensor, k: Tensor, bank: Tensor, ptr: Tensor, temperature: number = MOCO_DEFAULTS.temperature): MocoStep {
  const { bankBefore, bankNext, ptrNext } = memoryBankUpdate(bank, ptr, l2Normalize(k));
  return { loss: ntXentLossWithBank(q, k, bankBefore, temperature), bankNext, ptrNext };
}

export interface MocoSymmetricViews {
  /** Online queries of views 0 and 1; momentum keys of views 1 and 0. */
  q0: Tensor;
  k1: Tensor;
  q1: Tensor;
  k0: Tensor;
}

export function mocoSymmetricLoss(views: MocoSymmetricViews, bank: Tensor, ptr: Tensor, temperature: number = MOCO_DEFAULTS.temperature): MocoStep {
  const first = mocoLoss(views.q0, views.k1, bank, ptr, temperature);
  const second = mocoLoss(views.q1, views.k0, first.bankNext, first.ptrNext, temperature);
  return { loss: mul(add(first.loss, second.loss), 0.5), bankNext: second.bankNext, ptrNext: second.ptrNext };
}
