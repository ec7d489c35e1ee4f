/**
 * Image resizing that reproduces torchvision's eval transform on PIL images bit for bit:
 * `Resize(size)` (shorter side to `size`, PIL BILINEAR with its antialiasing support scaled by
 * the reduction factor, 22-bit fixed-point weights, horizontal pass then vertical pass with
 * uint8 rounding in between) followed by `CenterCrop(size)` (offsets rounded half to even, as
 * Python's `round`). Checked against Pillow 9.4 in test/data/resample.test.ts.
 *
 * Everything lives inside `resamplerFactory` and uses no imports, because the decode workers
 * receive this exact function as source text (`resamplerFactory.toString()`); keep it
 * self-contained.
 */
export type PillowFilter = 'bilinear' | 'bicubic';

/** Pillow's 22-bit fixed-point resampling weights of one axis: output i reads inputs bounds[2i] .. bounds[2i] + bounds[2i+1] - 1. */
export interface PillowCoefficients { ksize: number; bounds: Int32Array; weights: Float64Array }

export interface Resampler {
  /** PIL `Image.resize((dstW, dstH), BILINEAR)` of an HWC uint8 image, any channel count. */
  resizeBilinear(src: Uint8Array, width: number, height: number, channels: number, dstW: number, dstH: number): Uint8Array;
  /** torchvision `CenterCrop(size)(Resize(size)(img))`: a `size x size` HWC uint8 image. */
  resizeShorterCenterCrop(src: Uint8Array, width: number, height: number, channels: number, size: number): Uint8Array;
  /** The weights Pillow resamples one axis of `inSize` pixels to `outSize` with (default bilinear). */
  coefficients(inSize: number, outSize: number, filter?: PillowFilter): PillowCoefficients;
}

export function resamplerFactory(): Resampler {
  const PRECISION_BITS = 22;
  const ONE = 1 << PRECISION_BITS;
  const HALF = 1 << (PRECISION_BITS - 1);

  // Pillow 9.4 libImaging/Resample.c: the triangle filter and the a = -0.5 cubic, with their supports.
  const triangle = (x: number): number => {
    const ax = x < 0 ? -x : x;
    return ax < 1 ? 1 - ax : 0;
  };
  const cubic = (x: number): number => {
    const a = -0.5;
    const ax = x < 0 ? -x : x;
    if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
    if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
    return 0;
  };

  /** Pillow's precompute_coeffs for one axis (box = the whole axis), then normalize_coeffs_8bpc. */
  const coefficients = (inSize: number, outSize: number, filter: PillowFilter = 'bilinear'): PillowCoefficients => {
    const kernel = filter === 'bicubic' ? cubic : triangle;
    const scale = inSize / outSize;
    const filterscale = scale < 1 ? 1 : scale;
    const support = (filter === 'bicubic' ? 2 : 1) * filterscale;
    const ksize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2);
    const weights = new Float64Array(outSize * ksize);
    const k = new Float64Array(ksize);
    const ss = 1 / filterscale;
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      let xmin = Math.trunc(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      let xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      let ww = 0;
      for (let x = 0; x < xmax; x++) {
        const w = kernel((x + xmin - center + 0.5) * ss);
        k[x] = w;
        ww += w;
      }
      for (let x = 0; x < xmax; x++) {
        const w = ww !== 0 ? k[x] / ww : k[x];
        weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    return { ksize, bounds, weights };
  };

  const clip8 = (acc: number): number => {
    if (acc >= ONE * 256) return 255;
    if (acc <= 0) return 0;
    return Math.floor(acc / ONE);
  };

  /**
   * Resized image restricted to output columns [x0, x0+w) and rows [y0, y0+h): each output pixel
   * depends only on its own coefficients, so computing just the crop equals resize-then-crop.
   */
  const resizeWindow = (src: Uint8Array, width: number, height: number, channels: number, dstW: number, dstH: number, x0: number, y0: number, w: number, h: number): Uint8Array => {
    const needH = dstW !== width;
    const needV = dstH !== height;
    const vert = needV ? coefficients(height, dstH) : null;
    // Rows of the source the vertical pass reads.
    let rowFirst = y0, rowLast = y0 + h;
    if (vert) {
      rowFirst = vert.bounds[y0 * 2];
      rowLast = vert.bounds[(y0 + h - 1) * 2] + vert.bounds[(y0 + h - 1) * 2 + 1];
    }
    const rows = rowLast - rowFirst;
    // Horizontal pass: rows [rowFirst, rowLast) x output columns [x0, x0+w).
    let temp: Uint8Array;
    if (needH) {
      const horiz = coefficients(width, dstW);
      temp = new Uint8Array(rows * w * channels);
      for (let y = 0; y < rows; y++) {
        const srcRow = (rowFirst + y) * width * channels;
        const dstRow = y * w * channels;
        for (let xo = 0; xo < w; xo++) {
          const xx = x0 + xo;
          const xmin = horiz.bounds[xx * 2], xmax = horiz.bounds[xx * 2 + 1];
          const kOff = xx * horiz.ksize;
          for (let c = 0; c < channels; c++) {
            let acc = HALF;
            for (let x = 0; x < xmax; x++) acc += src[srcRow + (xmin + x) * channels + c] * horiz.weights[kOff + x];
            temp[dstRow + xo * channels + c] = clip8(acc);
          }
        }
      }
    } else {
      temp = new Uint8Array(rows * w * channels);
      for (let y = 0; y < rows; y++) {
        temp.set(src.subarray(((rowFirst + y) * width + x0) * channels, ((rowFirst + y) * width + x0 + w) * channels), y * w * channels);
      }
    }
    if (!vert) return temp;
    // Vertical pass over the horizontally resized rows.
    const out = new Uint8Array(h * w * channels);
    for (let yo = 0; yo < h; yo++) {
      const yy = y0 + yo;
      const ymin = vert.bounds[yy * 2] - rowFirst, ymax = vert.bounds[yy * 2 + 1];
      const kOff = yy * vert.ksize;
      for (let i = 0; i < w * channels; i++) {
        let acc = HALF;
        for (let y = 0; y < ymax; y++) acc += temp[(ymin + y) * w * channels + i] * vert.weights[kOff + y];
        out[yo * w * channels + i] = clip8(acc);
      }
    }
    return out;
  };

  /** Python's round(): halves go to the even neighbour. */
  const roundHalfEven = (v: number): number => {
    const f = Math.floor(v);
    const diff = v - f;
    if (diff > 0.5) return f + 1;
    if (diff < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  };

  const check = (src: Uint8Array, width: number, height: number, channels: number, outW: number, outH: number): void => {
    if (!(width >= 1 && height >= 1 && channels >= 1 && src.length === width * height * channels)) {
      throw new RangeError(`resize: ${src.length} bytes is not a ${width}x${height}x${channels} image`);
    }
    if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW >= 1 && outH >= 1)) throw new RangeError(`resize: bad output size ${outW}x${outH}`);
  };

  return {
    coefficients,
    resizeBilinear(src, width, height, channels, dstW, dstH) {
      check(src, width, height, channels, dstW, dstH);
      return resizeWindow(src, width, height, channels, dstW, dstH, 0, 0, dstW, dstH);
    },
    resizeShorterCenterCrop(src, width, height, channels, size) {
      check(src, width, height, channels, size, size);
      let dstW: number, dstH: number;
      if (width <= height) { dstW = size; dstH = Math.trunc((size * height) / width); }
      else { dstH = size; dstW = Math.trunc((size * width) / height); }
      if (dstW < size || dstH < size) throw new RangeError(`resize: ${width}x${height} resized to ${dstW}x${dstH} is smaller than the ${size}x${size} crop`);
      const top = roundHalfEven((dstH - size) / 2);
      const left = roundHalfEven((dstW - size) / 2);
      return resizeWindow(src, width, height, channels, dstW, dstH, left, top, size, size);
    },
  };
}

export const { resizeBilinear, resizeShorterCenterCrop, coefficients: pillowCoefficients } = resamplerFactory();

/** How cached images are made, recorded in cache metadata and run manifests. */
export const RESIZE_RULE = 'torchvision Resize(image_size) + CenterCrop(image_size) on a PIL image (bilinear, antialiased), bit-exact with Pillow';
