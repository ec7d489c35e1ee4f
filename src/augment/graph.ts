import {
  GraphError, abs, add, cast, clip, concat, conv2d, div, equal, expand, greater, greaterOrEqual,
  less, lessOrEqual, logicalAnd, logicalNot, matmul, maximum, minimum, mul, reduceMax, reduceMean, reduceMin,
  reduceSum, relu, reshape, slice, sqrt, sub, transpose, where, type Graph, type Tensor,
} from '../graph';
import { floor, padEdge } from './ops';
import { BLEND_SLOTS_PER_SIDE, PARAM, VIEW_PARAMS, type ViewBatch } from './params';
import type { AugmentPreset, Interpolation, Normalization, ViewSpec } from './presets';

/**
 * In-graph application of sampled view parameters (params.ts) to a uint8 NHWC batch. Every op
 * follows the reference transforms' float formulas (Pillow resampling and GaussianBlur,
 * torchvision's tensor colour functions, PIL solarize) on values in [0, 1], without the uint8
 * rounding PIL applies after each op; nothing here needs a gradient.
 *
 * Crop + resize is separable: view = R_y · image · R_xᵀ with per-sample resampling matrices
 * R_y [S, H], R_x [S, W] built in-graph from the crop box. Row i of R holds PIL's filter weights
 * for output pixel i of the crop (bilinear: triangle; bicubic: Keys a = −0.5; both widened by the
 * downscale factor as PIL antialiases), restricted to the crop and normalised, so crop borders
 * clamp like PIL's crop-then-resize. A flip reverses the rows. Two batched MatMuls do the rest.
 * Why not GridSample: it reads pixels outside the crop at its borders, does not antialias when
 * downscaling and its cubic mode uses a = −0.75; on random-pixel fixtures it differed from Pillow
 * by up to 111/255 (mean 1.3/255 bilinear, 5.3/255 bicubic at 32 px) and was not faster
 * (ORT CPU, batch 128, 32 px: 11 ms here vs 38 ms).
 */

const GRAY_WEIGHTS = [0.299, 0.587, 0.114];
const BICUBIC_A = -0.5;
const SOLARIZE_THRESHOLD = Math.fround(128 / 255);

/** PIL blurs with this many successive box filters per axis (ImageFilter.GaussianBlur). */
const BOX_PASSES = 3;

/**
 * Largest integer box radius PIL uses for sigma ≤ `sigmaMax`; each pass's kernel has
 * 2·(radius + 1) + 1 taps (the outermost pair carries the fractional weight).
 */
export function boxBlurRadius(sigmaMax: number): number {
  const boxLength = Math.sqrt((12 * sigmaMax * sigmaMax) / BOX_PASSES + 1);
  return Math.floor((boxLength - 1) / 2);
}

function column(params: Tensor, index: number): Tensor {
  const b = params.shape[0];
  return reshape(slice(params, [index], [index + 1], [1]), [b, 1, 1, 1]);
}

function staticBatch(x: Tensor, what: string): number {
  const b = x.shape[0];
  if (typeof b !== 'number') throw new GraphError(`${x.graph.where()}${what}: needs a static batch size, got '${b}'`);
  return b;
}

/** PIL's resampling kernel evaluated at distances `d` (in units of the widened filter). */
function filterWeights(d: Tensor, interpolation: Interpolation): Tensor {
  const ad = abs(d);
  if (interpolation === 'bilinear') return relu(sub(1, ad));
  const a = BICUBIC_A;
  const near = add(mul(mul(sub(mul(ad, a + 2), a + 3), ad), ad), 1);
  const far = sub(mul(add(mul(sub(mul(ad, a), 5 * a), ad), 8 * a), ad), 4 * a);
  return where(less(ad, 1), near, where(less(ad, 2), far, 0));
}

/**
 * Per-sample resampling matrices [B, outSize, inSize] for one axis: `start`, `length` (crop) and
 * `flip` are [B, 1, 1].
 */
function resampleMatrix(g: Graph, start: Tensor, length: Tensor, flip: Tensor, outSize: number, inSize: number, interpolation: Interpolation): Tensor {
  const i = g.constant(Float32Array.from({ length: outSize }, (_, k) => k), [1, outSize, 1]);
  const mirrored = g.constant(Float32Array.from({ length: outSize }, (_, k) => outSize - 1 - 2 * k), [1, outSize, 1]);
  const j = g.constant(Float32Array.from({ length: inSize }, (_, k) => k + 0.5), [1, 1, inSize]);
  const row = add(i, mul(flip, mirrored));
  const scale = div(length, outSize);
  const center = add(start, mul(add(row, 0.5), scale));
  const support = maximum(scale, 1);
  const w = filterWeights(div(sub(j, center), support), interpolation);
  const inside = logicalAnd(greater(j, start), less(j, add(start, length)));
  const masked = where(inside, w, 0);
  return div(masked, reduceSum(masked, [2], true));
}

/**
 * Crop, resize and flip of one view: float [B, H, W, C] pixel values (0-255) → [B, C, S, S] in
 * [0, 1]. Both products are plain batched MatMuls on the NHWC layout (rows first, then columns),
 * with one transpose of the half-resized batch and one of the result.
 */
function cropResizeFlip(pixels: Tensor, params: Tensor, view: ViewSpec): Tensor {
  const g = pixels.graph;
  const [b, h, w, c] = pixels.shape as number[];
  const s = view.size;
  const col3 = (k: number) => reshape(slice(params, [k], [k + 1], [1]), [b, 1, 1]);
  const ry = resampleMatrix(g, col3(PARAM.top), col3(PARAM.height), col3(PARAM.vflip), s, h, view.interpolation);
  const rx = resampleMatrix(g, col3(PARAM.left), col3(PARAM.width), col3(PARAM.hflip), s, w, view.interpolation);
  const rows = reshape(matmul(ry, reshape(pixels, [b, h, w * c])), [b, s, w, c]);
  const cols = matmul(rx, reshape(transpose(rows, [0, 2, 1, 3]), [b, w, s * c])); // [B, j, i·C]
  const out = div(transpose(reshape(cols, [b, s, s, c]), [0, 3, 2, 1]), 255);
  // Bicubic overshoots; PIL clips to the pixel range.
  return view.interpolation === 'bicubic' ? clip(out, 0, 1) : out;
}

/** ITU-R 601 luma (PIL convert('L')): [B, 3, H, W] → [B, 1, H, W]. */
export function grayscale(x: Tensor): Tensor {
  if (x.shape[1] === 1) return x;
  const w = x.graph.constant(Float32Array.from(GRAY_WEIGHTS), [1, 3, 1, 1]);
  return reduceSum(mul(x, w), [1], true);
}

/** x mod 1 for any sign (Python's %). */
function mod1(x: Tensor): Tensor {
  return sub(x, floor(x));
}

/** torchvision adjust_hue on [B, 3, H, W] in [0, 1] with per-sample shift `hue` [B, 1, 1, 1]. */
export function adjustHue(x: Tensor, hue: Tensor): Tensor {
  const g = x.graph;
  const [r, gr] = [0, 1].map((c) => slice(x, [c], [c + 1], [1]));
  const maxc = reduceMax(x, [1], true);
  const minc = reduceMin(x, [1], true);
  const eqc = equal(maxc, minc);
  const cr = sub(maxc, minc);
  const s = div(cr, where(eqc, 1, maxc));
  // (maxc − c) / cr for the three channels at once: rc, gc, bc of torchvision's _rgb2hsv.
  const dist = div(sub(maxc, x), where(eqc, 1, cr));
  const [rc, gc, bc] = [0, 1, 2].map((c) => slice(dist, [c], [c + 1], [1]));
  const isR = equal(maxc, r);
  const isG = logicalAnd(equal(maxc, gr), logicalNot(isR));
  const hRaw = where(isR, sub(bc, gc), where(isG, add(sub(rc, bc), 2), add(sub(gc, rc), 4)));
  // torchvision: h = fmod(hRaw/6 + 1, 1), then (h + shift) % 1; one floor-mod of the sum is the
  // same number up to float rounding. Scaled to sextants: h6 in [0, 6).
  const h6 = mul(mod1(add(add(div(hRaw, 6), 1), hue)), 6);
  // HSV → RGB in closed form for R, G, B at once: c = v − v·s·clamp(min(k, 4 − k), 0, 1) with
  // k = (n + 6h) mod 6, n = 5, 3, 1: the same values as torchvision's six-case table (whose p, q,
  // t clamps to [0, 1] never bind for v, s in [0, 1]).
  const n = g.constant(Float32Array.from([5, 3, 1]), [1, 3, 1, 1]);
  const k = add(h6, n);
  const km = where(greaterOrEqual(k, 6), sub(k, 6), k);
  return sub(maxc, mul(mul(maxc, s), clip(minimum(km, sub(4, km)), 0, 1)));
}

/** One blend slot (params.ts layout): y = clamp(f·x + (1 − f)·(cSel·mean(gray(x)) + sSel·gray(x)), 0, 1). */
function blendSlot(x: Tensor, params: Tensor, slot: number): Tensor {
  const base = PARAM.jitter + 3 * slot;
  const [f, cSel, sSel] = [0, 1, 2].map((o) => column(params, base + o));
  const gray = grayscale(x);
  const target = add(mul(cSel, reduceMean(gray, [1, 2, 3], true)), mul(sSel, gray));
  return clip(add(mul(f, x), mul(sub(1, f), target)), 0, 1);
}

/**
 * Colour jitter as a fixed program: three blend slots (torchvision adjust_brightness /
 * adjust_contrast / adjust_saturation, selected per sample by the slot's parameters), the hue
 * shift, three more blend slots. Every order of the four ops maps onto it (params.ts), and the
 * costly hue conversion runs once instead of once per position.
 */
function colorJitter(x: Tensor, params: Tensor, view: ViewSpec): Tensor {
  let y = x;
  for (let k = 0; k < BLEND_SLOTS_PER_SIDE; k++) y = blendSlot(y, params, k);
  // A zero hue strength makes params.ts pack every blend before the (absent) hue stage.
  if (view.jitter[3] === 0) return y;
  // Hue is a no-op on one channel; the slots after it still apply.
  if (y.shape[1] === 3) {
    const hue = column(params, PARAM.hue);
    y = where(equal(hue, 0), y, adjustHue(y, hue));
  }
  for (let k = BLEND_SLOTS_PER_SIDE; k < 2 * BLEND_SLOTS_PER_SIDE; k++) y = blendSlot(y, params, k);
  return y;
}

/**
 * PIL's GaussianBlur(radius = sigma), per sample: three box-filter passes along each axis whose
 * extended-box radius r = l + α comes from sigma as in Pillow's _gaussian_blur_radius (weights 1
 * for |k| ≤ l, α at |k| = l + 1, over 2r + 1), each pass replicating the edge pixels. As
 * depthwise convolutions of [1, B·C, H, W] with per-sample kernels built in-graph from sigma
 * [B, 1, 1, 1]; sigma 0 gives r = 0, the identity. `maxBoxRadius` = boxBlurRadius(σmax).
 */
export function gaussianBlur(x: Tensor, sigma: Tensor, maxBoxRadius: number): Tensor {
  const g = x.graph;
  const [b, c, h, w] = x.shape as number[];
  const reach = maxBoxRadius + 1;
  const taps = 2 * reach + 1;
  const offset = g.constant(Float32Array.from({ length: taps }, (_, k) => Math.abs(k - reach)), [1, 1, 1, taps]);
  // Pillow's _gaussian_blur_radius(sigma, 3): sigma² split over the passes, box length L, integer
  // radius l and the fractional weight α of the next pixel pair.
  const s2 = div(mul(sigma, sigma), BOX_PASSES);
  const l = floor(div(sub(sqrt(add(mul(s2, 12), 1)), 1), 2));
  const l1 = add(l, 1);
  const alpha = div(mul(add(mul(l, 2), 1), sub(mul(l, l1), mul(s2, 3))), mul(sub(s2, mul(l1, l1)), 6));
  const weights = where(lessOrEqual(offset, l), 1, where(equal(offset, l1), expand(alpha, [b, 1, 1, taps]), 0));
  const kernel = div(weights, add(mul(add(l, alpha), 2), 1)); // [B, 1, 1, taps]
  const rowKernel = reshape(expand(kernel, [b, c, 1, taps]), [b * c, 1, 1, taps]);
  const colKernel = reshape(rowKernel, [b * c, 1, taps, 1]);
  let y = reshape(x, [1, b * c, h, w]);
  for (let pass = 0; pass < BOX_PASSES; pass++) y = conv2d(padEdge(y, [[0, 0], [0, 0], [0, 0], [reach, reach]]), rowKernel, undefined, { groups: b * c });
  for (let pass = 0; pass < BOX_PASSES; pass++) y = conv2d(padEdge(y, [[0, 0], [0, 0], [reach, reach], [0, 0]]), colKernel, undefined, { groups: b * c });
  return reshape(y, [b, c, h, w]);
}

/** PIL solarize(threshold 128): where on, pixels ≥ 128/255 become 1 − x. */
export function solarize(x: Tensor, on: Tensor): Tensor {
  return where(logicalAnd(greater(on, 0.5), greaterOrEqual(x, SOLARIZE_THRESHOLD)), sub(1, x), x);
}

/** (x − mean) / std per channel, as torchvision Normalize. */
export function normalize(x: Tensor, norm: Normalization): Tensor {
  const c = norm.mean.length;
  const mean = x.graph.constant(Float32Array.from(norm.mean), [1, c, 1, 1]);
  const std = x.graph.constant(Float32Array.from(norm.std), [1, c, 1, 1]);
  return div(sub(x, mean), std);
}

function checkImages(imagesU8: Tensor): void {
  if (imagesU8.dtype !== 'uint8' || imagesU8.rank !== 4) {
    throw new GraphError(`${imagesU8.graph.where()}augment: images must be uint8 [B, H, W, C], got ${imagesU8.dtype}[${imagesU8.shape.join(',')}]`);
  }
}

/** uint8 [B, H, W, C] → float32 [B, C, H, W] in [0, 1] (ToTensor: x / 255). */
export function toUnitFloat(imagesU8: Tensor): Tensor {
  checkImages(imagesU8);
  return div(transpose(cast(imagesU8, 'float32'), [0, 3, 1, 2]), 255);
}

function toOutputChannels(x: Tensor, channels: number): Tensor {
  return x.shape[1] === channels ? x : concat(Array.from({ length: channels }, () => x), 1);
}

/** Graph inputs of one batch's view parameters: `augment.view<k>` float32 [B, VIEW_PARAMS]. */
export function augmentParamInputs(g: Graph, preset: AugmentPreset, batch: number): Tensor[] {
  return preset.views.map((_, k) => g.input(`augment.view${k}`, [batch, VIEW_PARAMS]));
}

/**
 * VICRegL coordinate grids as graph inputs `augment.grid<k>` float32 [B, G, G, 2] (null for views
 * without a grid), for the method's local loss; feed them with augmentFeeds(views, { grids: true }).
 */
export function augmentGridInputs(g: Graph, preset: AugmentPreset, batch: number): (Tensor | null)[] {
  return preset.views.map((v, k) => (v.gridSize === null ? null : g.input(`augment.grid${k}`, [batch, v.gridSize, v.gridSize, 2])));
}

/** Feeds for augmentParamInputs (and augmentGridInputs with `grids`) from sampleViews output. */
export function augmentFeeds(views: readonly ViewBatch[], opts: { grids?: boolean } = {}): Record<string, { data: Float32Array; dims: number[] }> {
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  views.forEach((v, k) => {
    const batch = v.params.length / VIEW_PARAMS;
    feeds[`augment.view${k}`] = { data: v.params, dims: [batch, VIEW_PARAMS] };
    if (opts.grids && v.grid) {
      const side = Math.round(Math.sqrt(v.grid.length / (2 * batch)));
      feeds[`augment.grid${k}`] = { data: v.grid, dims: [batch, side, side, 2] };
    }
  });
  return feeds;
}

/** One view's pipeline (docs/methods.md §3.1 order) on float [B, H, W, C] pixels; stages a preset never uses are left out. */
function applyView(pixels: Tensor, params: Tensor, view: ViewSpec, preset: AugmentPreset): Tensor {
  let y = toOutputChannels(cropResizeFlip(pixels, params, view), preset.outputChannels);
  const rgb = preset.outputChannels === 3;
  if (view.jitterProb > 0 && view.jitter.some((s) => s > 0)) y = colorJitter(y, params, view);
  if (rgb && view.grayProb > 0) y = where(greater(column(params, PARAM.gray), 0.5), expand(grayscale(y), y.shape), y);
  const blur = () => {
    if (view.blurProb > 0 && view.blurSigma[1] > 0) y = gaussianBlur(y, column(params, PARAM.blurSigma), boxBlurRadius(view.blurSigma[1]));
  };
  const sol = () => {
    if (view.solarizeProb > 0) y = solarize(y, column(params, PARAM.solarize));
  };
  if (view.solarizeBeforeBlur) { sol(); blur(); } else { blur(); sol(); }
  return normalize(y, preset.normalization);
}

/**
 * Every view of `preset` from a uint8 [B, H, W, C] batch: one float32 [B, C', S_k, S_k] normalised
 * tensor per view, in the preset's view order. `paramInputs` are augmentParamInputs' tensors.
 */
export function applyViews(g: Graph, imagesU8: Tensor, paramInputs: readonly Tensor[], preset: AugmentPreset): Tensor[] {
  if (paramInputs.length !== preset.views.length) {
    throw new GraphError(`${g.where()}augment: ${paramInputs.length} parameter inputs for ${preset.views.length} views of preset ${preset.id}`);
  }
  checkImages(imagesU8);
  const batch = staticBatch(imagesU8, 'augment');
  if (imagesU8.shape[3] !== preset.inputChannels) {
    throw new GraphError(`${g.where()}augment: images have ${imagesU8.shape[3]} channels, preset ${preset.id} was built for ${preset.inputChannels}`);
  }
  return g.scope('augment', () => {
    const pixels = cast(imagesU8, 'float32');
    return preset.views.map((view, k) => g.scope(`view${k}`, () => {
      const p = paramInputs[k];
      if (p.shape[0] !== batch || p.shape[1] !== VIEW_PARAMS) {
        throw new GraphError(`${g.where()}augment: parameters of view ${k} have shape [${p.shape.join(',')}], expected [${batch},${VIEW_PARAMS}]`);
      }
      return applyView(pixels, p, view, preset);
    }));
  });
}

/** The kNN/eval transform (Resize + CenterCrop happen in the data cache): ToTensor + Normalize. */
export function applyEvalTransform(g: Graph, imagesU8: Tensor, preset: Pick<AugmentPreset, 'outputChannels' | 'normalization'>): Tensor {
  return g.scope('evalTransform', () => normalize(toOutputChannels(toUnitFloat(imagesU8), preset.outputChannels), preset.normalization));
}
