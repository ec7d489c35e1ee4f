/**
 * Position embeddings resampled to another token grid, as timm's `resample_abs_pos_embed` (and
 * Lightly's MaskedVisionTransformerTorchvision.interpolate_pos_encoding) do when a ViT sees an image
 * of another size (local crops, focal views, 128-px evaluation of a 224-px model): the class-token
 * row is kept, the patch rows are viewed as a gh × gw image with D channels and interpolated with
 * torch.nn.functional.interpolate(mode='bicubic', align_corners=False, antialias=True) — both
 * references pass antialias=True by default.
 *
 * Bicubic resampling is linear and separable, so the whole resample is one constant matrix
 * R = R_rows ⊗ R_cols of shape [h·w, gh·gw] applied to the [gh·gw, D] patch rows (one MatMul in
 * the graph; a learned table gets its gradient through it).
 *
 * The per-axis weights follow PyTorch's kernels (aten/src/ATen/native/cpu/UpSampleKernel.cpp):
 *  - antialias (`_upsample_bicubic2d_aa`): scale s = in/out; support = 2·max(s, 1);
 *    centre c = s·(i + 0.5); taps j ∈ [max(trunc(c − support + 0.5), 0), min(trunc(c + support + 0.5), in));
 *    w_j = K((j − c + 0.5)/max(s, 1)) normalised to sum 1, K the Keys cubic with a = −0.5 (PIL's);
 *  - plain (`upsample_bicubic2d`): x = s·(i + 0.5) − 0.5, taps floor(x) − 1 … floor(x) + 2 clamped
 *    to the border, Keys cubic with a = −0.75.
 */
import { GraphError, concat, formatShape, matmul, reshape, slice, type Tensor } from '../graph';

/** Keys' cubic convolution kernel with parameter a. */
function keysCubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Row-major [outSize, inSize] weights of 1-D bicubic resampling (align_corners=False). */
export function bicubicResampleWeights(inSize: number, outSize: number, antialias = true): Float64Array {
  if (!(Number.isInteger(inSize) && inSize >= 1 && Number.isInteger(outSize) && outSize >= 1)) {
    throw new RangeError(`bicubic resample: sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  const w = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  if (antialias) {
    const stretch = Math.max(scale, 1);
    const support = 2 * stretch;
    for (let i = 0; i < outSize; i++) {
      const centre = scale * (i + 0.5);
      const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
      const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
      let total = 0;
      for (let j = lo; j < hi; j++) total += keysCubic((j - centre + 0.5) / stretch, -0.5);
      for (let j = lo; j < hi; j++) w[i * inSize + j] = total === 0 ? 0 : keysCubic((j - centre + 0.5) / stretch, -0.5) / total;
    }
    return w;
  }
  for (let i = 0; i < outSize; i++) {
    const x = scale * (i + 0.5) - 0.5;
    const x0 = Math.floor(x);
    const t = x - x0;
    const coeffs = [keysCubic(t + 1, -0.75), keysCubic(t, -0.75), keysCubic(1 - t, -0.75), keysCubic(2 - t, -0.75)];
    for (let k = 0; k < 4; k++) {
      const j = Math.min(Math.max(x0 - 1 + k, 0), inSize - 1);
      w[i * inSize + j] += coeffs[k];
    }
  }
  return w;
}

/** Row-major [outH·outW, inH·inW] matrix of the separable 2-D resample (row-major grids). */
export function gridResampleMatrix(inGrid: readonly [number, number], outGrid: readonly [number, number], antialias = true): Float64Array {
  const [inH, inW] = inGrid;
  const [outH, outW] = outGrid;
  const rows = bicubicResampleWeights(inH, outH, antialias);
  const cols = bicubicResampleWeights(inW, outW, antialias);
  const m = new Float64Array(outH * outW * inH * inW);
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      const r = (i * outW + j) * inH * inW;
      for (let p = 0; p < inH; p++) {
        const wr = rows[i * inH + p];
        if (wr === 0) continue;
        for (let q = 0; q < inW; q++) m[r + p * inW + q] = wr * cols[j * inW + q];
      }
    }
  }
  return m;
}

/**
 * `table` [1, prefix + gh·gw, D] resampled to [1, prefix + h·w, D]: prefix (class-token) rows kept,
 * patch rows bicubically resampled from the `from` grid to the `to` grid. The same table when the
 * grids are equal.
 */
export function resamplePositionEmbedding(
  table: Tensor, from: readonly [number, number], to: readonly [number, number], prefixTokens: number, antialias = true,
): Tensor {
  const [one, rows, dim] = table.shape;
  if (table.rank !== 3 || one !== 1 || rows !== prefixTokens + from[0] * from[1] || typeof dim !== 'number') {
    throw new GraphError(`${table.graph.where()}position embedding ${formatShape(table.shape)} is not [1, ${prefixTokens} + ${from[0]}·${from[1]}, D]`);
  }
  if (from[0] === to[0] && from[1] === to[1]) return table;
  const patchRows = reshape(slice(table, [prefixTokens], [rows], [1]), [from[0] * from[1], dim]);
  const weights = gridResampleMatrix(from, to, antialias);
  const m = table.graph.constant(table.dtype === 'float64' ? weights : Float32Array.from(weights), [to[0] * to[1], from[0] * from[1]], table.dtype);
  const resampled = reshape(matmul(m, patchRows), [1, to[0] * to[1], dim]);
  return prefixTokens > 0 ? concat([slice(table, [0], [prefixTokens], [1]), resampled], 1) : resampled;
}
