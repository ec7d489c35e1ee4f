/**
 * timm's RandomErasing (`timm/data/random_erasing.py`), applied after Normalize to CHW float
 * images, for the ViT fine-tune recipe (docs/methods.md §5.4: p 0.25, mode 'pixel', count 1).
 *
 *   const draw = sampleRandomErasing(rng, 224, 224, { probability: 0.25, mode: 'pixel' }); // main thread
 *   applyRandomErasing(chw, 3, 224, 224, draw);                                            // any thread
 *
 * The draw holds the rectangles and a 32-bit seed; the fill values come from an Rng seeded with it,
 * so the same draw erases with the same values wherever it runs.
 */
import { Rng } from '../data/rng';
import { roundHalfEven } from './params';

/** 'const': zeros; 'rand': one N(0, 1) value per channel and rectangle; 'pixel': N(0, 1) per value. */
export type RandomErasingMode = 'const' | 'rand' | 'pixel';

export interface RandomErasingSpec {
  /** Chance that an image is erased at all. */
  probability: number;
  /** Rectangle area as a fraction of the image, U(minArea, maxArea) / count; timm 0.02 and 1/3. */
  minArea?: number;
  maxArea?: number;
  /** Aspect ratio h/w, log-uniform in [minAspect, maxAspect]; timm 0.3 and 1/minAspect. */
  minAspect?: number;
  maxAspect?: number;
  /** Default 'const' as in timm's class; the fine-tune recipe uses 'pixel'. */
  mode?: RandomErasingMode;
  /** Rectangles per erased image, a uniform integer in [minCount, maxCount]; timm 1 and minCount. */
  minCount?: number;
  maxCount?: number;
}

export interface ErasingRect {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface ErasingDraw {
  mode: RandomErasingMode;
  rects: ErasingRect[];
  /** Seed (uint32) of the Rng that generates the fill values. */
  noiseSeed: number;
}

/**
 * timm `RandomErasing._erase` choices for one image: skip when random() > p; else `count`
 * rectangles, each from up to 10 tries of area U(minArea, maxArea)·H·W / count and aspect
 * exp(U(log minAspect, log maxAspect)), h = round(√(area·aspect)), w = round(√(area/aspect)),
 * accepted when h < H and w < W, at a uniform top in [0, H − h] and left in [0, W − w].
 */
export function sampleRandomErasing(rng: Rng, height: number, width: number, spec: RandomErasingSpec): ErasingDraw {
  const minArea = spec.minArea ?? 0.02;
  const maxArea = spec.maxArea ?? 1 / 3;
  const minAspect = spec.minAspect ?? 0.3;
  const maxAspect = spec.maxAspect ?? 1 / minAspect;
  const mode = spec.mode ?? 'const';
  const minCount = spec.minCount ?? 1;
  const maxCount = spec.maxCount ?? minCount;
  if (!(spec.probability >= 0 && spec.probability <= 1)) throw new RangeError(`random erasing probability must be in [0, 1], got ${spec.probability}`);
  if (!(minArea > 0 && minArea <= maxArea && maxArea <= 1)) throw new RangeError(`random erasing area fractions must satisfy 0 < min <= max <= 1, got ${minArea}, ${maxArea}`);
  if (!(minAspect > 0 && minAspect <= maxAspect)) throw new RangeError(`random erasing aspect ratios must satisfy 0 < min <= max, got ${minAspect}, ${maxAspect}`);
  if (!(Number.isInteger(minCount) && minCount >= 1 && Number.isInteger(maxCount) && maxCount >= minCount)) {
    throw new RangeError(`random erasing counts must be integers with 1 <= min <= max, got ${minCount}, ${maxCount}`);
  }
  const noiseSeed = rng.nextUint32();
  const rects: ErasingRect[] = [];
  if (rng.uniform() > spec.probability) return { mode, rects, noiseSeed };
  const area = height * width;
  const count = minCount === maxCount ? minCount : minCount + rng.int(maxCount - minCount + 1);
  const logLo = Math.log(minAspect);
  const logHi = Math.log(maxAspect);
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = (rng.uniformRange(minArea, maxArea) * area) / count;
      const aspect = Math.exp(rng.uniformRange(logLo, logHi));
      const h = roundHalfEven(Math.sqrt(target * aspect));
      const w = roundHalfEven(Math.sqrt(target / aspect));
      if (w < width && h < height) {
        const top = rng.int(height - h + 1);
        const left = rng.int(width - w + 1);
        rects.push({ top, left, height: h, width: w });
        break;
      }
    }
  }
  return { mode, rects, noiseSeed };
}

/**
 * Erases `draw`'s rectangles in place in one CHW float image (`x` may be a subarray of a batch).
 * Values are generated rectangle by rectangle, channel-major, row-major, from Rng(noiseSeed).
 */
export function applyRandomErasing(x: Float32Array, channels: number, height: number, width: number, draw: ErasingDraw): void {
  if (x.length < channels * height * width) throw new RangeError(`random erasing: image has ${x.length} values, expected ${channels}x${height}x${width}`);
  if (draw.rects.length === 0) return;
  const noise = new StandardNormals(new Rng(draw.noiseSeed));
  const plane = height * width;
  for (const r of draw.rects) {
    if (!(r.top >= 0 && r.left >= 0 && r.top + r.height <= height && r.left + r.width <= width)) {
      throw new RangeError(`random erasing: rectangle ${JSON.stringify(r)} lies outside a ${height}x${width} image`);
    }
    for (let ch = 0; ch < channels; ch++) {
      const constant = draw.mode === 'rand' ? noise.next() : 0;
      for (let y = r.top; y < r.top + r.height; y++) {
        const base = ch * plane + y * width;
        if (draw.mode === 'pixel') {
          for (let xx = r.left; xx < r.left + r.width; xx++) x[base + xx] = noise.next();
        } else {
          x.fill(constant, base + r.left, base + r.left + r.width);
        }
      }
    }
  }
}

const TWO_POW_MINUS_32 = 2 ** -32;

/**
 * N(0, 1) values by Box-Muller on 32-bit uniforms, both outputs of each pair used: a quarter of
 * the generator calls of Rng.normal(), which matters for erasing up to a third of a 224² image.
 */
class StandardNormals {
  private spare = 0;
  private hasSpare = false;
  constructor(private readonly rng: Rng) {}

  next(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u = (this.rng.nextUint32() + 0.5) * TWO_POW_MINUS_32; // in (0, 1): log(u) is finite
    const angle = 2 * Math.PI * this.rng.nextUint32() * TWO_POW_MINUS_32;
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(angle);
    this.hasSpare = true;
    return radius * Math.cos(angle);
  }
}
