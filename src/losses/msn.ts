/**
 * The loss of MSN (Assran et al. 2022, "Masked Siamese Networks for Label-Efficient Learning",
 * arXiv:2204.07141) as lightly's MSNLoss (lightly/loss/msn_loss.py; docs/methods.md §4.8):
 *
 *   a, t, W = normalize(anchors), normalize(targets), normalize(prototypes)
 *   p_a = softmax(a·Wᵀ/τ)                                   [V·B, K] anchors, every view
 *   p_t = sg(Sinkhorn(sharpen(softmax(t·Wᵀ/τ), T)))         [B, K], sharpen: p^(1/T) renormalised
 *   L = mean_rows Σ_k −p_t,k·log p_a,k  +  λ·R(mean_rows p_a)      p_t tiled V times (row r ↔ r mod B)
 *   R(p̄) = Σ_k p̄_k log p̄_k + log K                          mean-entropy maximisation (MSN)
 *
 * PMSN (losses/pmsn.ts) swaps R for a KL to a power-law prior. τ = 0.1, T = 0.25, 3 Sinkhorn
 * iterations, λ = 1. The cross-entropy uses log_softmax, which equals the reference's
 * log(softmax^(−p_t)) wherever that is finite.
 *
 *   const loss = msnLoss(anchorsOut, targetsOut, prototypes);
 */
import {
  GraphError, add, div, formatShape, log, logSoftmax, matmul, maximum, mul, neg, pow, reduceMean, reduceSum, softmax,
  stopGradient, transpose, concat, type Tensor,
} from '../graph';
import { l2Normalize } from '../graph';
import { sinkhornOnProbabilities } from './sinkhorn';

export const MSN_DEFAULTS = { temperature: 0.1, sharpenTemperature: 0.25, sinkhornIterations: 3, regularizationWeight: 1 } as const;

/** A prototype-usage regulariser R(p̄) of the mean anchor probabilities p̄ [K]. */
export type PrototypeRegulariser = (meanAnchorProbs: Tensor) => Tensor;

export interface MsnLossOptions {
  temperature?: number;
  sharpenTemperature?: number;
  sinkhornIterations?: number;
  regularizationWeight?: number;
  /** Default: MSN's mean-entropy maximisation. */
  regulariser?: PrototypeRegulariser;
}

// Keeps p̄·log p̄ at 0 (not NaN) for a prototype no anchor uses, as 0^0 = 1 does in the reference.
const LOG_FLOOR = 1e-30;

/** MSN's R(p̄) = Σ_k p̄_k log p̄_k + log K: 0 for uniform prototype usage, log K for a single prototype. */
export function meanEntropyRegulariser(meanAnchorProbs: Tensor): Tensor {
  const k = meanAnchorProbs.shape[0] as number;
  return add(reduceSum(mul(meanAnchorProbs, log(maximum(meanAnchorProbs, LOG_FLOOR)))), Math.log(k));
}

/** lightly's sharpen: p^(1/T) renormalised per row. */
export function sharpen(probabilities: Tensor, temperature: number): Tensor {
  const p = pow(probabilities, 1 / temperature);
  return div(p, reduceSum(p, [1], true));
}

/** The target assignments p_t [B, K] (no gradient): softmax, sharpening, Sinkhorn. */
export function msnTargetProbabilities(targets: Tensor, prototypes: Tensor, opts: MsnLossOptions = {}): Tensor {
  const o = { ...MSN_DEFAULTS, ...opts };
  const logits = div(matmul(l2Normalize(stopGradient(targets)), transpose(l2Normalize(stopGradient(prototypes)))), o.temperature);
  const sharpened = sharpen(softmax(logits, 1), o.sharpenTemperature);
  return stopGradient(o.sinkhornIterations > 0 ? sinkhornOnProbabilities(sharpened, o.sinkhornIterations) : sharpened);
}

export function msnLoss(anchors: Tensor, targets: Tensor, prototypes: Tensor, opts: MsnLossOptions = {}): Tensor {
  const o = { ...MSN_DEFAULTS, ...opts };
  const [rows, dim] = anchors.shape;
  const [batch, tdim] = targets.shape;
  if (anchors.rank !== 2 || targets.rank !== 2 || prototypes.rank !== 2 || typeof rows !== 'number' || typeof batch !== 'number'
    || rows % batch !== 0 || dim !== tdim || prototypes.shape[1] !== dim) {
    throw new GraphError(`${anchors.graph.where()}msnLoss: anchors ${formatShape(anchors.shape)} must be [V·B, D] for targets ${formatShape(targets.shape)} [B, D] and prototypes ${formatShape(prototypes.shape)} [K, D]`);
  }
  const views = rows / batch;
  const protos = l2Normalize(prototypes);
  const anchorLogits = div(matmul(l2Normalize(anchors), transpose(protos)), o.temperature);
  const targetProbs = msnTargetProbabilities(targets, prototypes, o);
  const tiled = views === 1 ? targetProbs : concat(Array.from({ length: views }, () => targetProbs), 0);
  const crossEntropy = reduceMean(neg(reduceSum(mul(tiled, logSoftmax(anchorLogits, 1)), [1])));
  if (o.regularizationWeight <= 0) return crossEntropy;
  const regulariser = o.regulariser ?? meanEntropyRegulariser;
  const meanAnchorProbs = reduceMean(softmax(anchorLogits, 1), [0]);
  return add(crossEntropy, mul(regulariser(meanAnchorProbs), o.regularizationWeight));
}
