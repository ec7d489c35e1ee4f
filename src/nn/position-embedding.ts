/**
 * Fixed 2-D sin-cos position embedding (docs/methods.md §2.3) in the layout of MAE's
 * get_2d_sincos_pos_embed, which Lightly copies: for token (row i, column j) of a gridH × gridW
 * grid (row-major), the first D/2 channels encode the column j and the last D/2 the row i; each
 * half is [sin(pos·ω_k)] ++ [cos(pos·ω_k)] with ω_k = 1/10000^(k/(D/4)), k < D/4. Prefix (class)
 * tokens come first with all-zero rows.
 */
export function sinCos2dPositionEmbedding(gridH: number, gridW: number, dim: number, prefixTokens: number): Float32Array {
  if (dim % 4 !== 0) throw new RangeError(`sin-cos position embedding needs a dim divisible by 4, got ${dim}`);
  const quarter = dim / 4;
  const out = new Float32Array((prefixTokens + gridH * gridW) * dim);
  const omega = Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  for (let i = 0; i < gridH; i++) {
    for (let j = 0; j < gridW; j++) {
      const row = (prefixTokens + i * gridW + j) * dim;
      for (let k = 0; k < quarter; k++) {
        out[row + k] = Math.sin(j * omega[k]);
        out[row + quarter + k] = Math.cos(j * omega[k]);
        out[row + 2 * quarter + k] = Math.sin(i * omega[k]);
        out[row + 3 * quarter + k] = Math.cos(i * omega[k]);
      }
    }
  }
  return out;
}
