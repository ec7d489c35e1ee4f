import { Rng } from '../../src/data/rng';

/** Seeded uint8 images with a gray first row, two-channel ties in the second row, extremes in the third. */
export function fixtureImages(batch: number, h: number, w: number, c: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const px = new Uint8Array(batch * h * w * c);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(256);
  if (c === 3) {
    for (let b = 0; b < batch; b++) for (let x = 0; x < w; x++) {
      const row = (y: number) => ((b * h + y) * w + x) * 3;
      const g = rng.int(256);
      px.set([g, g, g], row(0));
      const t = rng.int(256);
      px.set(x % 2 ? [t, t, rng.int(256)] : [rng.int(256), t, t], row(1));
      px.set([x % 3 === 0 ? 255 : 0, x % 3 === 1 ? 255 : 0, 128], row(2));
    }
  }
  return px;
}
