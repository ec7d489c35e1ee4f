import type { Rng } from '../data/rng';
import type { AugmentPreset, ViewSpec } from './presets';

/**
 * Per-sample random parameters of every view, drawn in TypeScript from a seeded Rng (the graph
 * itself has no randomness: ORT's Random* ops repeat across sessions). Same Rng state → same
 * numbers; pass a dedicated stream such as `runRng.fork('augment')` and checkpoint its state().
 *
 * Feed layout: one float32 tensor [B, VIEW_PARAMS] per view, row b = sample b:
 *   0 top, 1 left, 2 height, 3 width   crop box in source pixels (integers, torchvision order)
 *   4 hflip, 5 vflip                   1 = flip the view along that axis, else 0
 *   6 + 3·k + (0 factor, 1 contrast, 2 saturation), k = 0..5
 *                                      colour-jitter blend slot k:
 *                                      y = clamp(factor·x + (1 − factor)·target, 0, 1) with
 *                                      target = contrast·mean(gray(x)) + saturation·gray(x)
 *                                      (brightness: both selectors 0, target 0). Slots 0-2 run
 *                                      before the hue shift, slots 3-5 after it, so any of the
 *                                      24 orders of torchvision's four ops is one fixed program
 *                                      with a single hue computation. Unused slots and samples
 *                                      without jitter hold the identity (1, 0, 0).
 *   24 hue                             hue shift in [−0.5, 0.5]; 0 = none
 *   25 gray                            1 = convert to grayscale
 *   26 blur sigma                      Gaussian sigma in pixels; 0 = no blur
 *   27 solarize                        1 = solarise
 * Views whose hue strength is 0 put every blend into slots 0-2 (the graph builds no hue stage
 * and no slots 3-5 for them).
 */
export const VIEW_PARAMS = 28;
export const PARAM = {
  top: 0, left: 1, height: 2, width: 3, hflip: 4, vflip: 5, jitter: 6, hue: 24, gray: 25, blurSigma: 26, solarize: 27,
} as const;
/** Blend slots before the hue shift; as many follow it. */
export const BLEND_SLOTS_PER_SIDE = 3;

/** Jitter ops as torchvision's ColorJitter numbers them (fn_idx). */
const enum JitterOp { Brightness = 0, Contrast = 1, Saturation = 2, Hue = 3 }

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision RandomResizedCrop.get_params: up to 10 tries of area = U(scale)·H·W and
 * log-uniform aspect ratio; w = round(√(area·r)), h = round(√(area/r)); accept 0 < w ≤ W and
 * 0 < h ≤ H, then top/left uniform integers. Otherwise the centre crop of the whole image with its
 * ratio clamped into `ratio`. `fallback` says which branch produced the box.
 */
export function sampleResizedCrop(rng: Rng, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number]): CropBox & { fallback: boolean } {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniformRange(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniformRange(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w, fallback: false };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, fallback: true };
}

/**
 * torchvision ColorJitter.get_params with probability `prob` (RandomApply), written at `offset`
 * (the jitter blend slots followed by the hue entry, layout above). Strengths s give factors
 * U[max(0, 1−s), 1+s] for brightness/contrast/saturation and U[−h, h] for hue; the op order is a
 * random permutation: blends before the hue op go to slots 0-2, those after it to slots 3-5 (all
 * to slots 0-2 when the hue strength is 0).
 */
export function sampleColorJitter(rng: Rng, prob: number, strengths: readonly [number, number, number, number], out: Float32Array, offset: number): void {
  for (let k = 0; k < 2 * BLEND_SLOTS_PER_SIDE; k++) out.set([1, 0, 0], offset + 3 * k);
  const hueAt = offset + 6 * BLEND_SLOTS_PER_SIDE;
  out[hueAt] = 0;
  if (!(rng.uniform() < prob)) return;
  const order = rng.shuffle([0, 1, 2, 3]);
  const [b, c, s, h] = strengths;
  const factors = [
    rng.uniformRange(Math.max(0, 1 - b), 1 + b),
    rng.uniformRange(Math.max(0, 1 - c), 1 + c),
    rng.uniformRange(Math.max(0, 1 - s), 1 + s),
    rng.uniformRange(-h, h),
  ];
  let slot = 0;
  for (const op of order) {
    if (op === JitterOp.Hue) {
      out[hueAt] = factors[3];
      if (h > 0) slot = Math.max(slot, BLEND_SLOTS_PER_SIDE);
      continue;
    }
    out.set([factors[op], op === JitterOp.Contrast ? 1 : 0, op === JitterOp.Saturation ? 1 : 0], offset + 3 * slot);
    slot++;
  }
}

function coin(rng: Rng, p: number): number {
  return rng.uniform() < p ? 1 : 0;
}

/** Draws one sample's parameters of `view` into `out[offset .. offset + VIEW_PARAMS)`. */
export function sampleViewRow(rng: Rng, view: ViewSpec, height: number, width: number, out: Float32Array, offset: number): CropBox & { fallback: boolean } {
  const box = view.crop === 'full'
    ? { top: 0, left: 0, height, width, fallback: false }
    : sampleResizedCrop(rng, height, width, view.scale, view.ratio);
  out[offset + PARAM.top] = box.top;
  out[offset + PARAM.left] = box.left;
  out[offset + PARAM.height] = box.height;
  out[offset + PARAM.width] = box.width;
  out[offset + PARAM.hflip] = coin(rng, view.hflipProb);
  out[offset + PARAM.vflip] = coin(rng, view.vflipProb);
  sampleColorJitter(rng, view.jitterProb, view.jitter, out, offset + PARAM.jitter);
  out[offset + PARAM.gray] = coin(rng, view.grayProb);
  const blur = coin(rng, view.blurProb);
  const sigma = blur ? rng.uniformRange(view.blurSigma[0], view.blurSigma[1]) : 0;
  // A drawn sigma of exactly 0 (a range starting at 0) reads as "no blur": a zero-width Gaussian.
  out[offset + PARAM.blurSigma] = sigma;
  out[offset + PARAM.solarize] = coin(rng, view.solarizeProb);
  return box;
}

/**
 * VICRegL coordinate grid of one view (docs/methods.md §3.2 notes): x-centres = linspace(left,
 * left + w, G) + w/(2G), y-centres likewise, reversed along a flipped axis; cell (i, j) holds
 * (x_j, y_i) in source-image pixels. Written as [G, G, 2] at `offset`.
 */
export function writeViewGrid(box: CropBox, hflip: boolean, vflip: boolean, size: number, out: Float32Array, offset: number): void {
  const lin = (start: number, span: number, i: number) => (size === 1 ? start : start + (span * i) / (size - 1)) + span / (2 * size);
  for (let i = 0; i < size; i++) {
    const y = lin(box.top, box.height, vflip ? size - 1 - i : i);
    for (let j = 0; j < size; j++) {
      const x = lin(box.left, box.width, hflip ? size - 1 - j : j);
      out[offset + 2 * (i * size + j)] = x;
      out[offset + 2 * (i * size + j) + 1] = y;
    }
  }
}

/** One view's parameters for a batch: `params` [B, VIEW_PARAMS]; `grid` [B, G, G, 2] for VICRegL views. */
export interface ViewBatch {
  params: Float32Array;
  grid: Float32Array | null;
}

/**
 * Parameters of every view of `preset` for `batch` source images of height × width. Draw order:
 * sample-major (sample b: view 0, view 1, ...), so a batch's first samples do not depend on its size.
 */
export function sampleViews(rng: Rng, preset: AugmentPreset, batch: number, height: number, width: number): ViewBatch[] {
  const out: ViewBatch[] = preset.views.map((v) => ({
    params: new Float32Array(batch * VIEW_PARAMS),
    grid: v.gridSize === null ? null : new Float32Array(batch * v.gridSize * v.gridSize * 2),
  }));
  for (let b = 0; b < batch; b++) {
    preset.views.forEach((view, k) => {
      const row = b * VIEW_PARAMS;
      const box = sampleViewRow(rng, view, height, width, out[k].params, row);
      const grid = out[k].grid;
      if (grid && view.gridSize !== null) {
        const p = out[k].params;
        writeViewGrid(box, p[row + PARAM.hflip] === 1, p[row + PARAM.vflip] === 1, view.gridSize, grid, b * view.gridSize * view.gridSize * 2);
      }
    });
  }
  return out;
}

/** Token indices of a masked sequence: `keep` [B, nKeep] and `masked` [B, L − nKeep], int32. */
export interface TokenMask {
  keep: Int32Array;
  masked: Int32Array;
  nKeep: number;
  seqLen: number;
}

/**
 * `random_token_mask` (docs/methods.md §2.3): per sample uniform noise over the L tokens with the class
 * token (index 0) forced first; the 1 + floor((L − 1)(1 − ratio)) lowest-noise tokens are kept,
 * the rest masked, both in ascending-noise order. Indices count the class token as 0.
 */
export function sampleTokenMask(rng: Rng, batch: number, seqLen: number, maskRatio: number): TokenMask {
  if (!(maskRatio >= 0 && maskRatio < 1)) throw new RangeError(`mask ratio must be in [0, 1), got ${maskRatio}`);
  if (!(Number.isInteger(seqLen) && seqLen >= 1)) throw new RangeError(`sequence length must be a positive integer, got ${seqLen}`);
  const nKeep = 1 + Math.floor((seqLen - 1) * (1 - maskRatio));
  const keep = new Int32Array(batch * nKeep);
  const masked = new Int32Array(batch * (seqLen - nKeep));
  const noise = new Float64Array(seqLen);
  const order = Array.from({ length: seqLen }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    noise[0] = -1;
    for (let i = 1; i < seqLen; i++) noise[i] = rng.uniform();
    for (let i = 0; i < seqLen; i++) order[i] = i;
    order.sort((x, y) => noise[x] - noise[y] || x - y);
    for (let i = 0; i < seqLen; i++) {
      if (i < nKeep) keep[b * nKeep + i] = order[i];
      else masked[b * (seqLen - nKeep) + i - nKeep] = order[i];
    }
  }
  return { keep, masked, nKeep, seqLen };
}
