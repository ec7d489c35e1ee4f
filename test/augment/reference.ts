/**
 * Independent float64 re-implementations of the reference transforms, written as plain loops from
 * the reference formulas (Pillow's C resampler, torchvision's tensor colour functions, PIL
 * solarize, torchvision Normalize), for checking the in-graph pipeline pixel by pixel.
 * Images here are HWC Float64Arrays in [0, 1].
 */
import { PARAM, VIEW_PARAMS, type ViewSpec } from '../../src/augment';

export interface Img {
  h: number;
  w: number;
  c: number;
  data: Float64Array;
}

export function fromU8(u8: Uint8Array, h: number, w: number, c: number, index = 0): Img {
  const n = h * w * c;
  return { h, w, c, data: Float64Array.from(u8.subarray(index * n, (index + 1) * n), (v) => v / 255) };
}

const at = (im: Img, y: number, x: number, ch: number) => im.data[(y * im.w + x) * im.c + ch];

function crop(im: Img, top: number, left: number, h: number, w: number): Img {
  const out = new Float64Array(h * w * im.c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < im.c; ch++) out[(y * w + x) * im.c + ch] = at(im, top + y, left + x, ch);
  return { h, w, c: im.c, data: out };
}

function bilinearFilter(x: number): number {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

function bicubicFilter(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Pillow's precompute_coeffs (libImaging/Resample.c), in float. */
function coeffs(inSize: number, outSize: number, interp: 'bilinear' | 'bicubic'): { xmin: number[]; k: number[][] } {
  const filter = interp === 'bilinear' ? bilinearFilter : bicubicFilter;
  const support0 = interp === 'bilinear' ? 1 : 2;
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = support0 * filterscale;
  const ss = 1 / filterscale;
  const xmins: number[] = [];
  const ks: number[][] = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k: number[] = [];
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * ss);
      k.push(w);
      ww += w;
    }
    xmins.push(xmin);
    ks.push(ww !== 0 ? k.map((w) => w / ww) : k);
  }
  return { xmin: xmins, k: ks };
}

/** PIL Image.resize((outW, outH), BILINEAR | BICUBIC) without the uint8 rounding; bicubic clipped to [0, 1]. */
export function pilResize(im: Img, outH: number, outW: number, interp: 'bilinear' | 'bicubic'): Img {
  const cx = coeffs(im.w, outW, interp);
  const cy = coeffs(im.h, outH, interp);
  const tmp = new Float64Array(im.h * outW * im.c);
  for (let y = 0; y < im.h; y++) for (let xx = 0; xx < outW; xx++) for (let ch = 0; ch < im.c; ch++) {
    let s = 0;
    cx.k[xx].forEach((w, x) => { s += w * at(im, y, cx.xmin[xx] + x, ch); });
    tmp[(y * outW + xx) * im.c + ch] = s;
  }
  const out = new Float64Array(outH * outW * im.c);
  for (let yy = 0; yy < outH; yy++) for (let xx = 0; xx < outW; xx++) for (let ch = 0; ch < im.c; ch++) {
    let s = 0;
    cy.k[yy].forEach((w, y) => { s += w * tmp[((cy.xmin[yy] + y) * outW + xx) * im.c + ch]; });
    out[(yy * outW + xx) * im.c + ch] = interp === 'bicubic' ? Math.min(1, Math.max(0, s)) : s;
  }
  return { h: outH, w: outW, c: im.c, data: out };
}

function mapPixels(im: Img, f: (px: number[], y: number, x: number) => number[]): Img {
  const out = new Float64Array(im.h * im.w * im.c);
  for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) {
    const px = Array.from({ length: im.c }, (_, ch) => at(im, y, x, ch));
    f(px, y, x).forEach((v, ch) => { out[(y * im.w + x) * im.c + ch] = v; });
  }
  return { ...im, data: out };
}

export function flip(im: Img, horizontal: boolean, vertical: boolean): Img {
  return mapPixels(im, (_px, y, x) => Array.from({ length: im.c }, (_, ch) => at(im, vertical ? im.h - 1 - y : y, horizontal ? im.w - 1 - x : x, ch)));
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
export const luma = (px: number[]) => (px.length === 1 ? px[0] : 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]);

export function brightness(im: Img, f: number): Img {
  return mapPixels(im, (px) => px.map((v) => clamp01(f * v)));
}

export function contrast(im: Img, f: number): Img {
  let mean = 0;
  mapPixels(im, (px) => { mean += luma(px); return px; });
  mean /= im.h * im.w;
  return mapPixels(im, (px) => px.map((v) => clamp01(f * v + (1 - f) * mean)));
}

export function saturation(im: Img, f: number): Img {
  return mapPixels(im, (px) => { const g = luma(px); return px.map((v) => clamp01(f * v + (1 - f) * g)); });
}

const pyMod = (a: number, m: number) => a - m * Math.floor(a / m);

/** torchvision.transforms.functional_tensor: _rgb2hsv, hue shift mod 1, _hsv2rgb (six-case table). */
export function hue(im: Img, shift: number): Img {
  return mapPixels(im, ([r, g, b]) => {
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const eqc = maxc === minc;
    const cr = maxc - minc;
    const s = cr / (eqc ? 1 : maxc);
    const d = eqc ? 1 : cr;
    const rc = (maxc - r) / d;
    const gc = (maxc - g) / d;
    const bc = (maxc - b) / d;
    const hr = maxc === r ? bc - gc : 0;
    const hg = maxc === g && maxc !== r ? 2 + rc - bc : 0;
    const hb = maxc !== g && maxc !== r ? 4 + gc - rc : 0;
    let h = pyMod((hr + hg + hb) / 6 + 1, 1);
    h = pyMod(h + shift, 1);
    const v = maxc;
    const i = Math.floor(h * 6);
    const f = h * 6 - i;
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    const table = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]];
    return table[pyMod(i, 6)];
  });
}

export function grayscale(im: Img): Img {
  return mapPixels(im, (px) => { const g = luma(px); return px.map(() => g); });
}

/** Pillow BoxBlur.c _gaussian_blur_radius: the extended-box radius of one of `passes` passes. */
export function pilBoxRadius(sigma: number, passes = 3): number {
  const sigma2 = (sigma * sigma) / passes;
  const L = Math.sqrt(12 * sigma2 + 1);
  const l = Math.floor((L - 1) / 2);
  let a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
  a /= 6 * (sigma2 - (l + 1) * (l + 1));
  return l + a;
}

/**
 * PIL ImageFilter.GaussianBlur(radius = sigma) without the uint8 rounding: ImagingBoxBlur with
 * three horizontal then three vertical passes of ImagingHorizontalBoxBlur, whose window is
 * pixels x − l..x + l at weight 1/(2r + 1) plus x ± (l + 1) at (r − l)/(2r + 1), indices clamped.
 */
export function pilGaussianBlur(im: Img, sigma: number): Img {
  const r = pilBoxRadius(sigma);
  const l = Math.floor(r);
  const inner = 1 / (2 * r + 1);
  const edge = (r - l) / (2 * r + 1);
  let data = Float64Array.from(im.data);
  const pass = (horizontal: boolean) => {
    const out = new Float64Array(data.length);
    for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) for (let ch = 0; ch < im.c; ch++) {
      const read = (d: number) => {
        const yy = horizontal ? y : Math.min(im.h - 1, Math.max(0, y + d));
        const xx = horizontal ? Math.min(im.w - 1, Math.max(0, x + d)) : x;
        return data[(yy * im.w + xx) * im.c + ch];
      };
      let acc = 0;
      for (let d = -l; d <= l; d++) acc += inner * read(d);
      acc += edge * (read(-l - 1) + read(l + 1));
      out[(y * im.w + x) * im.c + ch] = acc;
    }
    data = out;
  };
  for (let i = 0; i < 3; i++) pass(true);
  for (let i = 0; i < 3; i++) pass(false);
  return { ...im, data };
}

export function solarize(im: Img): Img {
  return mapPixels(im, (px) => px.map((v) => (v >= 128 / 255 ? 1 - v : v)));
}

export function toChannels(im: Img, c: number): Img {
  return im.c === c ? im : mapPixels({ ...im, c }, (_px, y, x) => Array.from({ length: c }, () => im.data[y * im.w + x]));
}

/** NCHW normalised output of one sample (what the graph returns), from an HWC image. */
export function normalizeToCHW(im: Img, mean: readonly number[], std: readonly number[]): Float64Array {
  const out = new Float64Array(im.c * im.h * im.w);
  for (let ch = 0; ch < im.c; ch++) for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) {
    out[(ch * im.h + y) * im.w + x] = (at(im, y, x, ch) - mean[ch]) / std[ch];
  }
  return out;
}

/**
 * One view of one sample through the reference transforms in docs/methods.md §3.1 order, driven by the
 * sample's parameter row (params.ts layout): crop → resize → flips → jitter slots → grayscale →
 * blur ↔ solarise (order per view) → channels → normalise.
 */
export function referenceView(src: Img, row: Float32Array, view: ViewSpec, outChannels: number, mean: readonly number[], std: readonly number[]): Float64Array {
  if (row.length !== VIEW_PARAMS) throw new Error('row length');
  let im = crop(src, row[PARAM.top], row[PARAM.left], row[PARAM.height], row[PARAM.width]);
  im = pilResize(im, view.size, view.size, view.interpolation);
  im = flip(im, row[PARAM.hflip] === 1, row[PARAM.vflip] === 1);
  im = toChannels(im, outChannels);
  const blend = (k: number) => {
    const [f, cSel, sSel] = Array.from(row.subarray(PARAM.jitter + 3 * k, PARAM.jitter + 3 * k + 3));
    if (cSel === 1) im = contrast(im, f);
    else if (sSel === 1) im = saturation(im, f);
    else im = brightness(im, f);
  };
  for (let k = 0; k < 3; k++) blend(k);
  if (row[PARAM.hue] !== 0 && outChannels === 3) im = hue(im, row[PARAM.hue]);
  for (let k = 3; k < 6; k++) blend(k);
  if (row[PARAM.gray] === 1) im = grayscale(im);
  const blur = () => { if (row[PARAM.blurSigma] > 0) im = pilGaussianBlur(im, row[PARAM.blurSigma]); };
  const sol = () => { if (row[PARAM.solarize] === 1) im = solarize(im); };
  if (view.solarizeBeforeBlur) { sol(); blur(); } else { blur(); sol(); }
  return normalizeToCHW(im, mean, std);
}
