/**
 * Mixup / CutMix with label smoothing for the ViT fine-tune recipe (docs/methods.md §5.4: Mixup
 * α 0.8, CutMix α 1.0, label smoothing 0.1), as timm's `Mixup` in its default 'batch' mode
 * (`timm/data/mixup.py Mixup._mix_batch`, `mixup_target`, `rand_bbox`, `cutmix_bbox_and_lam`):
 * one λ per batch; with both α > 0 CutMix is chosen with probability `switchProb` (0.5); every
 * image is mixed with the batch read backwards (x.flip(0)); CutMix pastes a box of area ≈ (1 − λ)
 * and corrects λ to the pasted area; targets are λ·smooth(y) + (1 − λ)·smooth(flip(y)) with
 * smooth(y) = one-hot · (1 − s) + s / C. The draws come from TypeScript (seeded), the mixing runs
 * in the training graph on the augmented, normalised view.
 */
import { add, gather, mul, sub, type Graph, type Tensor } from '../graph';
import type { Rng } from '../data/rng';

export interface MixupSpec {
  /** Beta(α, α) of Mixup; 0 = off. */
  mixupAlpha: number;
  /** Beta(α, α) of CutMix; 0 = off. */
  cutmixAlpha: number;
  /** Probability of CutMix when both are on (timm: 0.5). */
  switchProb: number;
  /** Label smoothing s in [0, 1). */
  labelSmoothing: number;
}

/** Whether the fine-tune needs soft targets (mixing or smoothing). */
export function usesSoftTargets(s: MixupSpec): boolean {
  return s.mixupAlpha > 0 || s.cutmixAlpha > 0 || s.labelSmoothing > 0;
}

export function mixes(s: MixupSpec): boolean {
  return s.mixupAlpha > 0 || s.cutmixAlpha > 0;
}

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 via the U^(1/shape) boost). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) return sampleGamma(rng, shape + 1) * rng.uniform() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  return x / (x + sampleGamma(rng, b));
}

export interface BatchMix {
  /** λ after the CutMix area correction (1 when nothing is mixed). */
  lam: number;
  cutmix: boolean;
  /** [height·width] weight of each pixel's own image (1 − weight goes to the flipped batch's). */
  mask: Float32Array;
  /** [batch·numClasses] soft targets. */
  targets: Float32Array;
}

/** One batch's mixing: λ, the per-pixel mask and the soft targets for `labels` (timm's draw order). */
export function sampleBatchMix(rng: Rng, s: MixupSpec, labels: Int32Array, numClasses: number, height: number, width: number): BatchMix {
  let lam = 1;
  let cutmix = false;
  if (s.mixupAlpha > 0 && s.cutmixAlpha > 0) {
    cutmix = rng.uniform() < s.switchProb;
    lam = cutmix ? sampleBeta(rng, s.cutmixAlpha, s.cutmixAlpha) : sampleBeta(rng, s.mixupAlpha, s.mixupAlpha);
  } else if (s.mixupAlpha > 0) {
    lam = sampleBeta(rng, s.mixupAlpha, s.mixupAlpha);
  } else if (s.cutmixAlpha > 0) {
    cutmix = true;
    lam = sampleBeta(rng, s.cutmixAlpha, s.cutmixAlpha);
  }
  const mask = new Float32Array(height * width).fill(cutmix ? 1 : lam);
  if (cutmix) {
    // rand_bbox: a box of (1 − λ) area centred uniformly, clipped at the border; λ corrected to it.
    const ratio = Math.sqrt(1 - lam);
    const cutH = Math.trunc(height * ratio);
    const cutW = Math.trunc(width * ratio);
    const cy = rng.int(height);
    const cx = rng.int(width);
    const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
    const [yl, yh] = [clip(cy - Math.floor(cutH / 2), height), clip(cy + Math.floor(cutH / 2), height)];
    const [xl, xh] = [clip(cx - Math.floor(cutW / 2), width), clip(cx + Math.floor(cutW / 2), width)];
    for (let y = yl; y < yh; y++) mask.fill(0, y * width + xl, y * width + xh);
    lam = 1 - ((yh - yl) * (xh - xl)) / (height * width);
  }
  const b = labels.length;
  const off = s.labelSmoothing / numClasses;
  const on = 1 - s.labelSmoothing + off;
  const targets = new Float32Array(b * numClasses);
  for (let i = 0; i < b; i++) {
    const row = targets.subarray(i * numClasses, (i + 1) * numClasses);
    row.fill(off);
    row[labels[i]] += (on - off) * lam;
    row[labels[b - 1 - i]] += (on - off) * (1 - lam);
  }
  return { lam, cutmix, mask, targets };
}

/** views [B, C, H, W] mixed with the batch read backwards: mask ⊙ x + (1 − mask) ⊙ flip(x); mask [1, 1, H, W]. */
export function mixWithFlippedBatch(g: Graph, views: Tensor, mask: Tensor): Tensor {
  const b = views.shape[0];
  if (typeof b !== 'number') throw new RangeError('mixWithFlippedBatch: the batch axis must be static');
  const reversed = g.constant(BigInt64Array.from({ length: b }, (_, i) => BigInt(b - 1 - i)), [b], 'int64');
  const flipped = gather(views, reversed, 0);
  return add(mul(views, mask), mul(flipped, sub(1, mask)));
}
