/**
 * lightly's utils.patchify and get_at_index(patches, idx_mask − 1) as plain loops over an
 * [N, C, H, W] array, for checking the graph's reconstruction targets.
 */
export function patchifyReference(images: ArrayLike<number>, n: number, c: number, size: number, p: number): number[][][] {
  const g = size / p;
  const out: number[][][] = [];
  for (let b = 0; b < n; b++) {
    const patches: number[][] = [];
    for (let gi = 0; gi < g; gi++) {
      for (let gj = 0; gj < g; gj++) {
        const v: number[] = [];
        for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) for (let ch = 0; ch < c; ch++) v.push(images[((b * c + ch) * size + gi * p + y) * size + gj * p + x]);
        patches.push(v);
      }
    }
    out.push(patches);
  }
  return out;
}

/** Patches at sequence indices `mask` [N][M] (class token at 0, so patch = index − 1). */
export function maskedTargetsReference(images: ArrayLike<number>, n: number, c: number, size: number, p: number, mask: number[][]): number[][][] {
  const patches = patchifyReference(images, n, c, size, p);
  return mask.map((row, b) => row.map((i) => patches[b][i - 1]));
}
