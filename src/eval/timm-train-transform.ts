/**
 * timm's ImageNet train transform as the ViT fine-tune recipe builds it (docs/methods.md §5.4;
 * `lightly-ai/lightly: benchmarks/imagenet/vitb16/finetune_eval.py` calls timm
 * `create_transform(input_size=224, is_training=True, auto_augment='rand-m9-mstd0.5-inc1',
 * interpolation='bicubic', re_prob=0.25, re_mode='pixel', re_count=1)`, i.e.
 * `transforms_imagenet_train`): RandomResizedCropAndInterpolation (scale (0.08, 1), ratio
 * (3/4, 4/3)) → RandomHorizontalFlip 0.5 → RandAugment (its geometric ops resample with the same
 * interpolation, fill = timm's img_mean) → ToTensor → Normalize → RandomErasing. No colour jitter:
 * timm drops it when auto_augment is set.
 *
 * Runs on the host, per image, on uint8 pixels exactly as PIL does (crop, then Pillow's
 * antialiased resample with 22-bit fixed-point weights, horizontal pass first), then float32 as
 * torch does. Every random choice is drawn first, on the caller's thread (sampleTimmTrainDraws);
 * the pixel work (transformSamples) is a pure function of (image, draw), run on worker threads by
 * timm-transform-pool.ts.
 */
import { sampleResizedCrop, type CropBox } from '../augment/params';
import { applyRandAugment, sampleRandAugment, type RandAugmentDraw, type RandAugmentSpec } from '../augment/rand-augment';
import { applyRandomErasing, sampleRandomErasing, type ErasingDraw } from '../augment/random-erasing';
import { pillowCoefficients, type PillowCoefficients } from '../data/resample';
import type { Rng } from '../data/rng';

export type TimmInterpolation = 'bilinear' | 'bicubic';

export interface TimmTrainTransform {
  /** Output side (224). */
  size: number;
  /** RandomResizedCrop area and aspect-ratio ranges. */
  scale: readonly [number, number];
  ratio: readonly [number, number];
  /** Resampling of the crop and of RandAugment's geometric ops. */
  interpolation: TimmInterpolation;
  hflipProb: number;
  /** Parsed `auto_augment` string; null = no RandAugment. */
  randAugment: RandAugmentSpec | null;
  /** RandAugment's fill colour per channel (timm's img_mean: min(255, round(255·mean))). */
  fill: readonly number[];
  /** RandomErasing probability (pixel mode, one erase); 0 = off. */
  erasingProb: number;
  mean: readonly number[];
  std: readonly number[];
}

/** Every random choice for one image, in timm's order. Plain data: it crosses to worker threads. */
export interface TimmSampleDraw {
  box: CropBox;
  hflip: boolean;
  randAugment: RandAugmentDraw | null;
  erasing: ErasingDraw | null;
}

/** The draws of `batch` images of srcH × srcW pixels, sample after sample, each in transform order. */
export function sampleTimmTrainDraws(rng: Rng, t: TimmTrainTransform, batch: number, srcH: number, srcW: number): TimmSampleDraw[] {
  const out: TimmSampleDraw[] = [];
  for (let k = 0; k < batch; k++) {
    const { top, left, height, width } = sampleResizedCrop(rng, srcH, srcW, t.scale, t.ratio);
    const hflip = rng.uniform() < t.hflipProb;
    const randAugment = t.randAugment ? sampleRandAugment(rng, t.randAugment, t.interpolation) : null;
    const erasing = t.erasingProb > 0 ? sampleRandomErasing(rng, t.size, t.size, { probability: t.erasingProb, mode: 'pixel' }) : null;
    out.push({ box: { top, left, height, width }, hflip, randAugment, erasing });
  }
  return out;
}

/** One slice of a batch: images `first .. first + count` of `pixels` into the same rows of `out`. */
export interface TimmPixelJob {
  /** [B, srcH, srcW, C] uint8. */
  pixels: Uint8Array;
  srcH: number;
  srcW: number;
  channels: number;
  /** [B, C, size, size] float32, written for this job's rows only. */
  out: Float32Array;
  first: number;
  /** draws[i] is image first + i. */
  draws: readonly TimmSampleDraw[];
  transform: TimmTrainTransform;
}

// Pillow's fixed point (the weights come from data/resample.ts pillowCoefficients).
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const fround = Math.fround;

/** Pillow's clip8: the 22-bit fixed-point sum to uint8 (sums stay inside int32, as in Pillow's C). */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// Coefficient tables depend only on (in, out, filter); crops repeat sizes often enough to keep a few.
const cache = new Map<string, PillowCoefficients>();
function coefficientsCached(inSize: number, outSize: number, interpolation: TimmInterpolation): PillowCoefficients {
  const key = `${inSize}/${outSize}/${interpolation}`;
  let c = cache.get(key);
  if (!c) {
    if (cache.size > 512) cache.clear();
    c = pillowCoefficients(inSize, outSize, interpolation);
    cache.set(key, c);
  }
  return c;
}

/**
 * ImagingResample on the crop [top, top + h) × [left, left + w) of `src`, read in place: the
 * horizontal pass over only the source rows the vertical pass needs, uint8 in between.
 */
export function resizedCrop(src: Uint8Array, srcH: number, srcW: number, channels: number, box: CropBox, size: number, interpolation: TimmInterpolation): Uint8Array {
  const { top, left, height: h, width: w } = box;
  if (!(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= srcH && left + w <= srcW)) {
    throw new RangeError(`resized crop: box (${top}, ${left}, ${h}, ${w}) is outside the ${srcH}x${srcW} image`);
  }
  const c = channels;
  const needH = w !== size;
  const needV = h !== size;
  const vert = coefficientsCached(h, size, interpolation);
  const rowFirst = needV ? vert.bounds[0] : 0;
  const rowLast = needV ? vert.bounds[(size - 1) * 2] + vert.bounds[(size - 1) * 2 + 1] : h;
  const rows = rowLast - rowFirst;
  const temp = new Uint8Array(rows * size * c); // when no horizontal pass, w = size
  if (needH) {
    const { bounds, weights, ksize } = coefficientsCached(w, size, interpolation);
    for (let y = 0; y < rows; y++) {
      const srcRow = ((top + rowFirst + y) * srcW + left) * c;
      const dstRow = y * size * c;
      for (let xx = 0; xx < size; xx++) {
        const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1];
        const kOff = xx * ksize;
        if (c === 3) {
          // The three bands at once: one pass over the taps.
          let a0 = HALF, a1 = HALF, a2 = HALF;
          let p = srcRow + xmin * 3;
          for (let x = 0; x < xmax; x++, p += 3) {
            const k = weights[kOff + x];
            a0 += src[p] * k; a1 += src[p + 1] * k; a2 += src[p + 2] * k;
          }
          const d = dstRow + xx * 3;
          temp[d] = clip8(a0); temp[d + 1] = clip8(a1); temp[d + 2] = clip8(a2);
        } else {
          for (let ch = 0; ch < c; ch++) {
            let acc = HALF;
            for (let x = 0; x < xmax; x++) acc += src[srcRow + (xmin + x) * c + ch] * weights[kOff + x];
            temp[dstRow + xx * c + ch] = clip8(acc);
          }
        }
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      const from = ((top + rowFirst + y) * srcW + left) * c;
      temp.set(src.subarray(from, from + w * c), y * w * c);
    }
  }
  if (!needV) return temp;
  const out = new Uint8Array(size * size * c);
  const rowLen = size * c;
  // Row by row over the taps (contiguous reads); the sums are exact integers, so the order is free.
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < size; yy++) {
    const ymin = vert.bounds[yy * 2] - rowFirst, ymax = vert.bounds[yy * 2 + 1];
    const kOff = yy * vert.ksize;
    acc.fill(HALF);
    for (let y = 0; y < ymax; y++) {
      const k = vert.weights[kOff + y];
      const row = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += temp[row + i] * k;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return out;
}

/** PIL FLIP_LEFT_RIGHT in place. */
function flipHorizontal(img: Uint8Array, h: number, w: number, c: number): void {
  for (let y = 0; y < h; y++) {
    for (let a = 0, b = w - 1; a < b; a++, b--) {
      for (let ch = 0; ch < c; ch++) {
        const i = (y * w + a) * c + ch, j = (y * w + b) * c + ch;
        const t = img[i]; img[i] = img[j]; img[j] = t;
      }
    }
  }
}

/** ToTensor (x / 255 in float32, HWC → CHW) then Normalize ((x − mean) / std in float32). */
function normalizeToChw(img: Uint8Array, h: number, w: number, c: number, mean: readonly number[], std: readonly number[], out: Float32Array, offset: number): void {
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    const m = fround(mean[ch]), s = fround(std[ch]);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = fround(fround(fround(v / 255) - m) / s);
    for (let p = 0; p < plane; p++) out[offset + ch * plane + p] = lut[img[p * c + ch]];
  }
}

/** The whole transform for a job's images, written into their rows of `job.out`. */
export function transformSamples(job: TimmPixelJob): void {
  const { pixels, srcH, srcW, channels: c, out, first, draws, transform: t } = job;
  const srcLen = srcH * srcW * c;
  const outLen = c * t.size * t.size;
  for (let i = 0; i < draws.length; i++) {
    const k = first + i;
    const d = draws[i];
    let img = resizedCrop(pixels.subarray(k * srcLen, (k + 1) * srcLen), srcH, srcW, c, d.box, t.size, t.interpolation);
    if (d.hflip) flipHorizontal(img, t.size, t.size, c);
    if (d.randAugment) img = applyRandAugment(img, t.size, t.size, c, d.randAugment, { fill: t.fill });
    normalizeToChw(img, t.size, t.size, c, t.mean, t.std, out, k * outLen);
    if (d.erasing) applyRandomErasing(out.subarray(k * outLen, (k + 1) * outLen), c, t.size, t.size, d.erasing);
  }
}

