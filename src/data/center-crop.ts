import { roundHalfEven } from '../augment/params';

/**
 * torchvision CenterCrop(size) of a batch of HWC uint8 images: top = int(round((h − size) / 2))
 * with Python's half-to-even round, likewise left. Returns `count` images of size × size × c.
 */
export function centerCropBatch(images: Uint8Array, count: number, h: number, w: number, c: number, size: number): Uint8Array {
  const top = roundHalfEven((h - size) / 2);
  const left = roundHalfEven((w - size) / 2);
  const out = new Uint8Array(count * size * size * c);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < size; y++) {
      const from = ((i * h + top + y) * w + left) * c;
      out.set(images.subarray(from, from + size * c), (i * size + y) * size * c);
    }
  }
  return out;
}
