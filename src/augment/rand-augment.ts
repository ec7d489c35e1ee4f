/**
 * timm's RandAugment (`timm/data/auto_augment.py rand_augment_transform`) as host-side ops on
 * HWC uint8 images, for the ViT fine-tune recipe (docs/methods.md §5.4: `rand-m9-mstd0.5-inc1`).
 *
 *   const spec = parseRandAugment('rand-m9-mstd0.5-inc1');
 *   const draw = sampleRandAugment(rng, spec);                  // main thread, seeded, JSON-safe
 *   const out = applyRandAugment(img, 224, 224, 3, draw, { fill: randAugmentFill(mean) }); // any thread
 *
 * The draw holds every random choice (ops, apply-or-not, magnitude, sign, resample filter), so the
 * pixel work is a pure function of (image, draw). Each op reproduces Pillow 9.4's arithmetic
 * (ImageOps LUTs, ImageEnhance's float32 blend, the SMOOTH kernel, Image.transform's affine
 * bilinear/bicubic sampler with its edge rules), which is what timm calls.
 */
import type { Rng } from '../data/rng';
import { roundHalfEven } from './params';

/** `_RAND_TRANSFORMS` (timm, `rand-...` without `inc1`). */
export const RAND_AUGMENT_OPS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'Color', 'Contrast',
  'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
] as const;

/** `_RAND_INCREASING_TRANSFORMS` (timm, `-inc1`): every op's severity grows with the magnitude. */
export const RAND_AUGMENT_INCREASING_OPS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'PosterizeIncreasing', 'SolarizeIncreasing', 'SolarizeAdd',
  'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing', 'SharpnessIncreasing', 'ShearX', 'ShearY',
  'TranslateXRel', 'TranslateYRel',
] as const;

export type RandAugmentOpName = (typeof RAND_AUGMENT_OPS)[number] | (typeof RAND_AUGMENT_INCREASING_OPS)[number];

export interface RandAugmentSpec {
  /** `m`: magnitude on timm's 0..10 scale (`_LEVEL_DENOM`); default 10. */
  magnitude: number;
  /** `n`: ops drawn (with replacement) per image; default 2. */
  numLayers: number;
  /** `p`: each drawn op is applied with this probability; default 0.5. */
  probability: number;
  /** `mstd`: magnitude ~ N(m, mstd²) per op; 0 = fixed; Infinity (timm: mstd > 100) = U(0, m). */
  magnitudeStd: number;
  /** `mmax`: upper clip of the per-op magnitude; null = 10. */
  magnitudeMax: number | null;
  /** `inc1`: the increasing op set. */
  increasing: boolean;
}

/** timm's `interpolation` hparam for the geometric ops; 'random' draws bilinear/bicubic per op. */
export type RandAugmentInterpolation = 'bilinear' | 'bicubic' | 'random';

export interface RandAugmentOpDraw {
  op: RandAugmentOpName;
  applied: boolean;
  /** Magnitude after noise and clipping (0 when not applied). */
  magnitude: number;
  /**
   * The op's argument after timm's `_*_level_to_arg` (sign included): degrees (Rotate), bits kept
   * (Posterize*), threshold (Solarize*), addend (SolarizeAdd), enhance factor (Color/Contrast/
   * Brightness/Sharpness*), shear factor (Shear*), fraction of the image size (Translate*Rel);
   * 0 for AutoContrast, Equalize, Invert.
   */
  value: number;
  /** Resample filter of the geometric ops (Rotate, Shear*, Translate*); unused by the others. */
  resample: 'bilinear' | 'bicubic';
}

export interface RandAugmentDraw {
  ops: RandAugmentOpDraw[];
}

export interface RandAugmentApplyOptions {
  /** Per-channel colour outside a rotated/sheared/translated image: timm's img_mean, see randAugmentFill. */
  fill: readonly number[];
}

const LEVEL_DENOM = 10;

const GRAMMAR = "rand[-m<int>][-n<int>][-p<float 0..1>][-mstd<float>][-mmax<int>][-inc1] (timm rand_augment_transform), e.g. 'rand-m9-mstd0.5-inc1'";

const INT = /^\d+$/;
const FLOAT = /^\d+(\.\d*)?([eE]\d+)?$/;

/**
 * Parses timm's RandAugment config string. Sections after `rand` are `<key><value>` split at the
 * first digit, in any order. Stricter than timm where timm is silently surprising: a section
 * without a digit (timm skips it), a repeated key (timm keeps the last `m`/`n`/`p` but the first
 * `mstd`/`mmax`), and `inc0` (timm's `bool('0')` is True, so it also selects the increasing set)
 * are errors, as are the transform-set (`t...`) and old weight (`w...`) sections this build lacks.
 */
export function parseRandAugment(spec: string): RandAugmentSpec {
  const fail = (what: string): never => {
    throw new RangeError(`RandAugment spec '${spec}': ${what}; grammar: ${GRAMMAR}`);
  };
  const parts = spec.split('-');
  if (parts[0] !== 'rand') fail(`must start with 'rand', got '${parts[0]}'`);
  const out: RandAugmentSpec = { magnitude: 10, numLayers: 2, probability: 0.5, magnitudeStd: 0, magnitudeMax: null, increasing: false };
  const seen = new Set<string>();
  for (const section of parts.slice(1)) {
    if (section === '') fail('empty section (two dashes in a row or a trailing dash)');
    const cut = section.search(/\d/);
    if (cut < 0) {
      if (section.startsWith('t')) fail(`section '${section}': transform sets ('t<name>') are not supported; the op set is chosen by inc1`);
      fail(`section '${section}' has no value`);
    }
    const key = section.slice(0, cut);
    const value = section.slice(cut);
    if (seen.has(key)) fail(`section '${key}' given twice`);
    seen.add(key);
    const int = (): number => (INT.test(value) ? Number(value) : fail(`section '${section}': ${key} takes a non-negative integer`));
    const float = (): number => (FLOAT.test(value) ? Number(value) : fail(`section '${section}': ${key} takes a non-negative number`));
    switch (key) {
      case 'm': out.magnitude = int(); break;
      case 'n': out.numLayers = int(); break;
      case 'p': {
        const p = float();
        if (p > 1) fail(`section '${section}': p is a probability in [0, 1]`);
        out.probability = p;
        break;
      }
      case 'mstd': {
        const s = float();
        out.magnitudeStd = s > 100 ? Infinity : s;
        break;
      }
      case 'mmax': out.magnitudeMax = int(); break;
      case 'inc':
        if (value !== '1') fail(`section '${section}': write inc1 for the increasing op set or leave it out (timm reads any inc value, inc0 too, as on)`);
        out.increasing = true;
        break;
      default:
        if (key.startsWith('t')) fail(`section '${section}': transform sets ('t<name>') are not supported; the op set is chosen by inc1`);
        fail(`unknown section '${section}'`);
    }
  }
  return out;
}

/** timm's aa img_mean: `min(255, round(255 · mean))` per channel. */
export function randAugmentFill(mean: readonly number[]): number[] {
  return mean.map((m) => Math.min(255, roundHalfEven(255 * m)));
}

const GEOMETRIC = new Set<RandAugmentOpName>(['Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel']);

/** timm `_randomly_negate`: negated when random() > 0.5. */
function randomlyNegate(rng: Rng, v: number): number {
  return rng.uniform() > 0.5 ? -v : v;
}

/** timm's `LEVEL_TO_ARG[op](magnitude)`; `rng` only for the sign of the signed ops. */
function levelToArg(op: RandAugmentOpName, level: number, rng: Rng): number {
  switch (op) {
    case 'AutoContrast': case 'Equalize': case 'Invert': return 0;
    case 'Rotate': return randomlyNegate(rng, (level / LEVEL_DENOM) * 30);
    case 'Posterize': return Math.trunc((level / LEVEL_DENOM) * 4);
    case 'PosterizeIncreasing': return 4 - Math.trunc((level / LEVEL_DENOM) * 4);
    case 'Solarize': return Math.min(256, Math.trunc((level / LEVEL_DENOM) * 256));
    case 'SolarizeIncreasing': return 256 - Math.min(256, Math.trunc((level / LEVEL_DENOM) * 256));
    case 'SolarizeAdd': return Math.min(128, Math.trunc((level / LEVEL_DENOM) * 110));
    case 'Color': case 'Contrast': case 'Brightness': case 'Sharpness': return (level / LEVEL_DENOM) * 1.8 + 0.1;
    case 'ColorIncreasing': case 'ContrastIncreasing': case 'BrightnessIncreasing': case 'SharpnessIncreasing':
      return Math.max(0.1, 1.0 + randomlyNegate(rng, (level / LEVEL_DENOM) * 0.9));
    case 'ShearX': case 'ShearY': return randomlyNegate(rng, (level / LEVEL_DENOM) * 0.3);
    case 'TranslateXRel': case 'TranslateYRel': return randomlyNegate(rng, (level / LEVEL_DENOM) * 0.45);
  }
}

/**
 * Every random choice of timm's `RandAugment.__call__` for one image: `n` ops uniformly with
 * replacement, then per op (`AugmentOp.__call__`) apply iff p ≥ 1 or random() ≤ p, magnitude
 * N(m, mstd) (or U(0, m)) clipped to [0, mmax || 10], the op's random sign, and a bilinear/bicubic
 * choice for geometric ops when `interpolation` is 'random'. Consumes `rng` in that order.
 */
export function sampleRandAugment(rng: Rng, spec: RandAugmentSpec, interpolation: RandAugmentInterpolation = 'bicubic'): RandAugmentDraw {
  const names: readonly RandAugmentOpName[] = spec.increasing ? RAND_AUGMENT_INCREASING_OPS : RAND_AUGMENT_OPS;
  const chosen: RandAugmentOpName[] = [];
  for (let i = 0; i < spec.numLayers; i++) chosen.push(names[rng.int(names.length)]);
  const upper = spec.magnitudeMax || LEVEL_DENOM;
  return {
    ops: chosen.map((op): RandAugmentOpDraw => {
      const fixedResample = interpolation === 'random' ? 'bicubic' : interpolation;
      if (spec.probability < 1 && rng.uniform() > spec.probability) return { op, applied: false, magnitude: 0, value: 0, resample: fixedResample };
      let magnitude = spec.magnitude;
      if (spec.magnitudeStd === Infinity) magnitude = spec.magnitude * rng.uniform();
      else if (spec.magnitudeStd > 0) magnitude = spec.magnitude + spec.magnitudeStd * rng.normal();
      magnitude = Math.max(0, Math.min(magnitude, upper));
      const value = levelToArg(op, magnitude, rng);
      const resample = interpolation === 'random' && GEOMETRIC.has(op) ? (rng.uniform() < 0.5 ? 'bilinear' : 'bicubic') : fixedResample;
      return { op, applied: true, magnitude, value, resample };
    }),
  };
}

/**
 * Applies a draw to an HWC uint8 image (channels 1 or 3); returns a new array, `img` is not
 * modified. Grayscale images use fill[0].
 */
export function applyRandAugment(img: Uint8Array, height: number, width: number, channels: number, draw: RandAugmentDraw, opts: RandAugmentApplyOptions): Uint8Array {
  if (channels !== 1 && channels !== 3) throw new RangeError(`RandAugment: images with ${channels} channels are not supported; 1 or 3`);
  if (img.length !== height * width * channels) throw new RangeError(`RandAugment: image has ${img.length} values, expected ${height}x${width}x${channels}`);
  if (opts.fill.length < channels) throw new RangeError(`RandAugment: fill has ${opts.fill.length} values for ${channels} channels`);
  let src = Uint8Array.from(img);
  let dst = new Uint8Array(img.length);
  const s: Shape = { h: height, w: width, c: channels };
  for (const d of draw.ops) {
    if (!d.applied) continue;
    if (applyOp(src, dst, s, d, opts.fill)) {
      const t = src; src = dst; dst = t;
    }
  }
  return src;
}

interface Shape { h: number; w: number; c: number }

/** Runs one op from `src`; returns true when the result is in `dst`, false when `src` was changed in place. */
function applyOp(src: Uint8Array, dst: Uint8Array, s: Shape, d: RandAugmentOpDraw, fill: readonly number[]): boolean {
  const v = d.value;
  switch (d.op) {
    case 'AutoContrast': applyLuts(src, s.c, autoContrastLuts(src, s.c)); return false;
    case 'Equalize': applyLuts(src, s.c, equalizeLuts(src, s.c)); return false;
    case 'Invert': return lut(src, (i) => 255 - i);
    case 'Posterize': case 'PosterizeIncreasing': {
      if (v >= 8) return false;
      const mask = ~(2 ** (8 - v) - 1);
      return lut(src, (i) => i & mask);
    }
    case 'Solarize': case 'SolarizeIncreasing': return lut(src, (i) => (i < v ? i : 255 - i));
    case 'SolarizeAdd': return lut(src, (i) => (i < 128 ? Math.min(255, i + v) : i));
    case 'Color': case 'ColorIncreasing': color(src, dst, s, v); return true;
    case 'Contrast': case 'ContrastIncreasing': contrast(src, dst, s, v); return true;
    case 'Brightness': case 'BrightnessIncreasing': blendConstant(0, src, dst, v); return true;
    case 'Sharpness': case 'SharpnessIncreasing': sharpness(src, dst, s, v); return true;
    case 'Rotate': return rotate(src, dst, s, v, d.resample, fill);
    case 'ShearX': affine(src, dst, s, [1, v, 0, 0, 1, 0], d.resample, fill); return true;
    case 'ShearY': affine(src, dst, s, [1, 0, 0, v, 1, 0], d.resample, fill); return true;
    case 'TranslateXRel': affine(src, dst, s, [1, 0, v * s.w, 0, 1, 0], d.resample, fill); return true;
    case 'TranslateYRel': affine(src, dst, s, [1, 0, 0, 0, 1, v * s.h], d.resample, fill); return true;
  }
}

// ---- point ops (Image.point with a 256-entry table per band) -------------------------------------

function lut(img: Uint8Array, f: (i: number) => number): false {
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) table[i] = f(i);
  for (let i = 0; i < img.length; i++) img[i] = table[img[i]];
  return false;
}

function applyLuts(img: Uint8Array, c: number, tables: Uint8Array[]): void {
  if (c === 1) {
    const t = tables[0];
    for (let i = 0; i < img.length; i++) img[i] = t[img[i]];
    return;
  }
  const [t0, t1, t2] = tables;
  for (let i = 0; i < img.length; i += 3) {
    img[i] = t0[img[i]];
    img[i + 1] = t1[img[i + 1]];
    img[i + 2] = t2[img[i + 2]];
  }
}

function histograms(img: Uint8Array, c: number): Int32Array[] {
  const hs = Array.from({ length: c }, () => new Int32Array(256));
  if (c === 1) {
    const h = hs[0];
    for (let i = 0; i < img.length; i++) h[img[i]]++;
  } else {
    const [h0, h1, h2] = hs;
    for (let i = 0; i < img.length; i += 3) {
      h0[img[i]]++;
      h1[img[i + 1]]++;
      h2[img[i + 2]]++;
    }
  }
  return hs;
}

/** ImageOps.autocontrast(cutoff=0): per band, stretch [lo, hi] to [0, 255] with int() truncation. */
function autoContrastLuts(img: Uint8Array, c: number): Uint8Array[] {
  return histograms(img, c).map((h) => {
    const table = new Uint8Array(256);
    let lo = 0;
    while (lo < 255 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi > 0 && h[hi] === 0) hi--;
    if (hi <= lo) {
      for (let i = 0; i < 256; i++) table[i] = i;
    } else {
      const scale = 255.0 / (hi - lo);
      const offset = -lo * scale;
      for (let i = 0; i < 256; i++) {
        const v = Math.trunc(i * scale + offset);
        table[i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return table;
  });
}

/** ImageOps.equalize: per band, step = (count − count of the last used level) // 255. */
function equalizeLuts(img: Uint8Array, c: number): Uint8Array[] {
  return histograms(img, c).map((h) => {
    const table = new Uint8Array(256);
    let used = 0;
    let total = 0;
    let last = 0;
    for (let i = 0; i < 256; i++) {
      if (h[i]) {
        used++;
        total += h[i];
        last = h[i];
      }
    }
    const step = Math.floor((total - last) / 255);
    if (used <= 1 || step === 0) {
      for (let i = 0; i < 256; i++) table[i] = i;
    } else {
      let n = Math.floor(step / 2);
      for (let i = 0; i < 256; i++) {
        table[i] = Math.min(255, Math.floor(n / step));
        n += h[i];
      }
    }
    return table;
  });
}

// ---- ImageEnhance: Image.blend(degenerate, image, factor) ----------------------------------------

const fround = Math.fround;

/**
 * libImaging/Blend.c on uint8: in1 + alpha·(in2 − in1) in float32 (alpha is cast to float),
 * truncated; outside [0, 1] clipped to [0, 255] first. alpha 0 / 1 copy in1 / in2.
 */
function blend(in1: Uint8Array, in2: Uint8Array, out: Uint8Array, factor: number): void {
  const alpha = fround(factor);
  const n = out.length;
  if (alpha === 0) { out.set(in1); return; }
  if (alpha === 1) { out.set(in2); return; }
  if (alpha >= 0 && alpha <= 1) {
    for (let i = 0; i < n; i++) {
      const a = in1[i];
      out[i] = fround(a + fround(alpha * (in2[i] - a)));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const a = in1[i];
      const t = fround(a + fround(alpha * (in2[i] - a)));
      out[i] = t <= 0 ? 0 : t >= 255 ? 255 : t;
    }
  }
}

/** blend() with a constant first image (Brightness: 0, Contrast: the mean grey level). */
function blendConstant(a: number, in2: Uint8Array, out: Uint8Array, factor: number): void {
  const alpha = fround(factor);
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    if (alpha === 0) table[v] = a;
    else if (alpha === 1) table[v] = v;
    else {
      const t = fround(a + fround(alpha * (v - a)));
      table[v] = t <= 0 ? 0 : t >= 255 ? 255 : t;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = table[in2[i]];
}

/** RGB → L as libImaging/Convert.c rgb2l: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16. */
function luminance(img: Uint8Array, s: Shape): Uint8Array {
  if (s.c === 1) return img;
  const n = s.h * s.w;
  const l = new Uint8Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) l[p] = (img[i] * 19595 + img[i + 1] * 38470 + img[i + 2] * 7471 + 0x8000) >>> 16;
  return l;
}

/** ImageEnhance.Color: blend(convert('L').convert(mode), image). */
function color(src: Uint8Array, dst: Uint8Array, s: Shape, factor: number): void {
  if (s.c === 1) { dst.set(src); return; }
  const l = luminance(src, s);
  const grey = new Uint8Array(src.length);
  for (let p = 0, i = 0; p < l.length; p++, i += 3) grey[i] = grey[i + 1] = grey[i + 2] = l[p];
  blend(grey, src, dst, factor);
}

/** ImageEnhance.Contrast: blend with the constant int(mean(L) + 0.5) (ImageStat mean of the L image). */
function contrast(src: Uint8Array, dst: Uint8Array, s: Shape, factor: number): void {
  const l = luminance(src, s);
  let sum = 0;
  for (let i = 0; i < l.length; i++) sum += l[i];
  blendConstant(Math.trunc(sum / l.length + 0.5), src, dst, factor);
}

const K_EDGE = fround(1 / 13);
const K_CENTRE = fround(5 / 13);

/**
 * ImageEnhance.Sharpness: blend(image.filter(SMOOTH), image). SMOOTH is the 3×3 kernel
 * [1 1 1; 1 5 1; 1 1 1]/13 of libImaging/Filter.c ImagingFilter3x3: float32 accumulation starting
 * at 0.5, row y+1 first, truncated; the outermost rows and columns are copied unchanged.
 */
function sharpness(src: Uint8Array, dst: Uint8Array, s: Shape, factor: number): void {
  const { h, w, c } = s;
  const smooth = Uint8Array.from(src);
  if (h >= 3 && w >= 3) {
    const row = w * c;
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        for (let ch = 0; ch < c; ch++) {
          const i = y * row + x * c + ch;
          const below = i + row;
          const above = i - row;
          let ss = 0.5;
          ss = fround(ss + fround(fround(fround(src[below - c] * K_EDGE) + fround(src[below] * K_EDGE)) + fround(src[below + c] * K_EDGE)));
          ss = fround(ss + fround(fround(fround(src[i - c] * K_EDGE) + fround(src[i] * K_CENTRE)) + fround(src[i + c] * K_EDGE)));
          ss = fround(ss + fround(fround(fround(src[above - c] * K_EDGE) + fround(src[above] * K_EDGE)) + fround(src[above + c] * K_EDGE)));
          smooth[i] = ss <= 0 ? 0 : ss >= 255 ? 255 : ss;
        }
      }
    }
  }
  blend(smooth, src, dst, factor);
}

// ---- geometry: Image.rotate / Image.transform(AFFINE) -------------------------------------------

/** Python's float `%` (sign of the divisor). */
function pyMod(x: number, m: number): number {
  const r = x % m;
  return r !== 0 && (r < 0) !== (m < 0) ? r + m : r === 0 ? 0 : r;
}

/** Python's round(x, 15) (correctly rounded decimal; ties cannot occur for these values). */
function round15(x: number): number {
  return Number(x.toFixed(15));
}

/**
 * Image.rotate(degrees, resample, fillcolor) of Pillow 9.4: angle % 360; 0 copies, 180 (and 90/270
 * on square images) transpose exactly; otherwise the inverse affine map about the centre with
 * cos/sin rounded to 15 decimals.
 */
function rotate(src: Uint8Array, dst: Uint8Array, s: Shape, degrees: number, resample: 'bilinear' | 'bicubic', fill: readonly number[]): boolean {
  const angle = pyMod(degrees, 360);
  const { h, w, c } = s;
  if (angle === 0) return false;
  if (angle === 180 || ((angle === 90 || angle === 270) && w === h)) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // ROTATE_180: (w−1−x, h−1−y); ROTATE_90 (counter-clockwise): (w−1−y, x); ROTATE_270: (y, h−1−x).
        const sx = angle === 180 ? w - 1 - x : angle === 90 ? w - 1 - y : y;
        const sy = angle === 180 ? h - 1 - y : angle === 90 ? x : h - 1 - x;
        const o = (y * w + x) * c;
        const i = (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) dst[o + ch] = src[i + ch];
      }
    }
    return true;
  }
  const rad = -(angle * (Math.PI / 180));
  const m = [round15(Math.cos(rad)), round15(Math.sin(rad)), 0.0, round15(-Math.sin(rad)), round15(Math.cos(rad)), 0.0];
  const cx = w / 2.0;
  const cy = h / 2.0;
  const [a, b, cc, d, e, f] = m;
  m[2] = a * -cx + b * -cy + cc + cx;
  m[5] = d * -cx + e * -cy + f + cy;
  affine(src, dst, s, m, resample, fill);
  return true;
}

/**
 * Image.transform(size, AFFINE, (a..f), resample, fillcolor) of Pillow 9.4 (libImaging/Geometry.c
 * ImagingGenericTransform + bilinear_filter / bicubic_filter): output pixel (x, y) samples the input
 * at (a·(x+½) + b·(y+½) + c, d·(x+½) + e·(y+½) + f); a sample outside [0, w) × [0, h) keeps the fill
 * colour. Inside, taps clamp at the left/right/top edges, while rows past the bottom repeat the last
 * interpolated row (Pillow's v2 = v1 rule). Bicubic is Pillow's a = −1 cubic, clipped and truncated;
 * bilinear is truncated.
 */
function affine(src: Uint8Array, dst: Uint8Array, s: Shape, m: readonly number[], resample: 'bilinear' | 'bicubic', fill: readonly number[]): void {
  const { h, w, c } = s;
  const [a0, a1, a2, a3, a4, a5] = m;
  const row = w * c;
  const f0 = fill[0], f1 = c === 3 ? fill[1] : 0, f2 = c === 3 ? fill[2] : 0;
  const bicubic = resample === 'bicubic';
  for (let y = 0; y < h; y++) {
    const yc = y + 0.5;
    for (let x = 0; x < w; x++) {
      const xc = x + 0.5;
      let xin = a0 * xc + a1 * yc + a2;
      let yin = a3 * xc + a4 * yc + a5;
      const o = (y * w + x) * c;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        dst[o] = f0;
        if (c === 3) { dst[o + 1] = f1; dst[o + 2] = f2; }
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      let xi = Math.floor(xin);
      let yi = Math.floor(yin);
      const dx = xin - xi;
      const dy = yin - yi;
      if (bicubic) {
        xi--;
        yi--;
        const x0 = clip(xi, w) * c, x1 = clip(xi + 1, w) * c, x2 = clip(xi + 2, w) * c, x3 = clip(xi + 3, w) * c;
        const r0 = clip(yi, h) * row;
        const r1 = yi + 1 >= 0 && yi + 1 < h ? (yi + 1) * row : -1;
        const r2 = yi + 2 >= 0 && yi + 2 < h ? (yi + 2) * row : -1;
        const r3 = yi + 3 >= 0 && yi + 3 < h ? (yi + 3) * row : -1;
        // cubic(v1, v2, v3, v4, 0) is exactly v2, so a zero offset (every pixel of ShearX/TranslateX
        // along y, of ShearY/TranslateY along x) needs one cubic per channel instead of five.
        if (dy === 0) {
          const rr = r1 >= 0 ? r1 : r0;
          for (let ch = 0; ch < c; ch++) {
            const v = dx === 0 ? src[rr + x1 + ch] : cubic(src[rr + x0 + ch], src[rr + x1 + ch], src[rr + x2 + ch], src[rr + x3 + ch], dx);
            dst[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : v;
          }
        } else if (dx === 0) {
          for (let ch = 0; ch < c; ch++) {
            const v1 = src[r0 + x1 + ch];
            const v2 = r1 >= 0 ? src[r1 + x1 + ch] : v1;
            const v3 = r2 >= 0 ? src[r2 + x1 + ch] : v2;
            const v4 = r3 >= 0 ? src[r3 + x1 + ch] : v3;
            const v = cubic(v1, v2, v3, v4, dy);
            dst[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : v;
          }
        } else {
          for (let ch = 0; ch < c; ch++) {
            const v1 = cubic(src[r0 + x0 + ch], src[r0 + x1 + ch], src[r0 + x2 + ch], src[r0 + x3 + ch], dx);
            const v2 = r1 >= 0 ? cubic(src[r1 + x0 + ch], src[r1 + x1 + ch], src[r1 + x2 + ch], src[r1 + x3 + ch], dx) : v1;
            const v3 = r2 >= 0 ? cubic(src[r2 + x0 + ch], src[r2 + x1 + ch], src[r2 + x2 + ch], src[r2 + x3 + ch], dx) : v2;
            const v4 = r3 >= 0 ? cubic(src[r3 + x0 + ch], src[r3 + x1 + ch], src[r3 + x2 + ch], src[r3 + x3 + ch], dx) : v3;
            const v = cubic(v1, v2, v3, v4, dy);
            dst[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : v;
          }
        }
      } else {
        const x0 = clip(xi, w) * c, x1 = clip(xi + 1, w) * c;
        const r0 = clip(yi, h) * row;
        const r1 = yi + 1 >= 0 && yi + 1 < h ? (yi + 1) * row : -1;
        for (let ch = 0; ch < c; ch++) {
          const p = src[r0 + x0 + ch];
          const v1 = p + (src[r0 + x1 + ch] - p) * dx;
          let v2 = v1;
          if (r1 >= 0) {
            const q = src[r1 + x0 + ch];
            v2 = q + (src[r1 + x1 + ch] - q) * dx;
          }
          dst[o + ch] = v1 + (v2 - v1) * dy;
        }
      }
    }
  }
}

function clip(i: number, n: number): number {
  return i < 0 ? 0 : i < n ? i : n - 1;
}

/** Pillow Geometry.c BICUBIC (a = −1), same operation order. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p1 = v2;
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}
