import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parseRandAugment, randAugmentFill } from '../../src/augment/rand-augment';
import { Rng } from '../../src/data/rng';
import { resizedCrop, sampleTimmTrainDraws, transformSamples, type TimmTrainTransform } from '../../src/eval/timm-train-transform';
import { TimmTransformPool } from '../../src/eval/timm-transform-pool';

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function randomImages(seed: number, n: number, h: number, w: number, c: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n * h * w * c }, () => rng.int(256));
}

function recipe(size: number, overrides: Partial<TimmTrainTransform> = {}): TimmTrainTransform {
  return {
    size, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bicubic', hflipProb: 0.5,
    randAugment: parseRandAugment('rand-m9-mstd0.5-inc1'), fill: randAugmentFill(IMAGENET.mean), erasingProb: 0.25,
    ...IMAGENET, ...overrides,
  };
}

describe('timm train transform on the host', () => {
  const python = '/usr/bin/python3';
  const hasPil = fs.existsSync(python) && spawnSync(python, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
  if (!hasPil) process.stderr.write('note: /usr/bin/python3 with Pillow and numpy not found; skipping the Pillow comparison\n');

  (hasPil ? test : test.skip)('crop + resize (bilinear, bicubic), flip and ToTensor + Normalize equal Pillow + torch float32 byte for byte', () => {
    // Crops that shrink, enlarge, keep one side and keep both, on 3- and 1-channel images.
    const cases = [
      { h: 29, w: 37, c: 3, box: { top: 3, left: 5, height: 21, width: 30 }, size: 16 },
      { h: 29, w: 37, c: 3, box: { top: 10, left: 2, height: 7, width: 9 }, size: 16 },
      { h: 29, w: 37, c: 3, box: { top: 0, left: 0, height: 16, width: 25 }, size: 16 },
      { h: 29, w: 37, c: 3, box: { top: 4, left: 11, height: 16, width: 16 }, size: 16 },
      { h: 23, w: 19, c: 1, box: { top: 1, left: 0, height: 22, width: 13 }, size: 12 },
    ].flatMap((k, i) => (['bilinear', 'bicubic'] as const).map((interpolation) => ({ ...k, interpolation, hflip: i % 2 === 0, seed: i })));
    const inputs = cases.map((k) => ({ ...k, pixels: Buffer.from(randomImages(k.seed, 1, k.h, k.w, k.c)).toString('hex') }));
    const script = `
import json, sys
import numpy as np
from PIL import Image
out = []
for k in json.load(sys.stdin):
    a = np.frombuffer(bytes.fromhex(k['pixels']), np.uint8).reshape(k['h'], k['w'], k['c'])
    img = Image.fromarray(a[:, :, 0] if k['c'] == 1 else a)
    b = k['box']
    img = img.crop((b['left'], b['top'], b['left'] + b['width'], b['top'] + b['height']))
    img = img.resize((k['size'], k['size']), Image.BICUBIC if k['interpolation'] == 'bicubic' else Image.BILINEAR)
    crop = np.asarray(img).reshape(k['size'], k['size'], k['c'])
    if k['hflip']:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    x = np.asarray(img).reshape(k['size'], k['size'], k['c']).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    mean = np.array(${JSON.stringify(IMAGENET.mean)}, np.float32)[:k['c'], None, None]
    std = np.array(${JSON.stringify(IMAGENET.std)}, np.float32)[:k['c'], None, None]
    out.append({'crop': crop.tobytes().hex(), 'views': ((x - mean) / std).astype(np.float32).tobytes().hex()})
print(json.dumps(out))
`;
    const r = spawnSync(python, ['-c', script], { input: JSON.stringify(inputs), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const expected = JSON.parse(r.stdout) as { crop: string; views: string }[];
    inputs.forEach((k, i) => {
      const pixels = Buffer.from(k.pixels, 'hex');
      expect(Buffer.from(resizedCrop(pixels, k.h, k.w, k.c, k.box, k.size, k.interpolation)).toString('hex')).toBe(expected[i].crop);
      const t = recipe(k.size, { interpolation: k.interpolation, randAugment: null, erasingProb: 0, mean: IMAGENET.mean.slice(0, k.c), std: IMAGENET.std.slice(0, k.c) });
      const out = new Float32Array(k.c * k.size * k.size);
      transformSamples({ pixels, srcH: k.h, srcW: k.w, channels: k.c, out, first: 0, draws: [{ box: k.box, hflip: k.hflip, randAugment: null, erasing: null }], transform: t });
      expect(Buffer.from(out.buffer).toString('hex')).toBe(expected[i].views);
    });
  });

  test('draws: one per image in transform order, the same for the same seed, RandAugment and erasing per the recipe', () => {
    const t = recipe(16);
    const a = sampleTimmTrainDraws(new Rng(3), t, 64, 24, 20);
    expect(sampleTimmTrainDraws(new Rng(3), t, 64, 24, 20)).toEqual(a);
    expect(sampleTimmTrainDraws(new Rng(4), t, 64, 24, 20)).not.toEqual(a);
    for (const d of a) {
      expect(d.box.top + d.box.height).toBeLessThanOrEqual(24);
      expect(d.box.left + d.box.width).toBeLessThanOrEqual(20);
      expect(d.randAugment!.ops).toHaveLength(2);
      expect(d.erasing!.mode).toBe('pixel');
      expect(d.erasing!.rects.length).toBeLessThanOrEqual(1);
    }
    // p 0.25 of 64 images erased, 0.5 flipped: loose bounds that a wrong probability would break.
    const erased = a.filter((d) => d.erasing!.rects.length === 1).length;
    expect(erased).toBeGreaterThan(4);
    expect(erased).toBeLessThan(32);
    const flipped = a.filter((d) => d.hflip).length;
    expect(flipped).toBeGreaterThan(16);
    expect(flipped).toBeLessThan(48);
    const off = sampleTimmTrainDraws(new Rng(3), recipe(16, { randAugment: null, erasingProb: 0 }), 8, 24, 20);
    expect(off.every((d) => d.randAugment === null && d.erasing === null)).toBe(true);
  });

  test('workers give the same views as the main thread, batch after batch', async () => {
    const [b, h, w, c] = [10, 24, 20, 3];
    const t = recipe(16, { erasingProb: 0.5 });
    const inline = new TimmTransformPool(0);
    const pool = new TimmTransformPool(2);
    try {
      const rngA = new Rng(11);
      const rngB = new Rng(11);
      const bufA = inline.allocate(b, h, w, c, t.size);
      const bufB = pool.allocate(b, h, w, c, t.size);
      expect(bufB.views.buffer).toBeInstanceOf(SharedArrayBuffer);
      for (let batch = 0; batch < 2; batch++) {
        const pixels = randomImages(100 + batch, b, h, w, c);
        bufA.pixels.set(pixels);
        bufB.pixels.set(pixels);
        await inline.run(bufA, sampleTimmTrainDraws(rngA, t, b, h, w), h, w, c, t);
        await pool.run(bufB, sampleTimmTrainDraws(rngB, t, b, h, w), h, w, c, t);
        expect(Array.from(bufB.views)).toEqual(Array.from(bufA.views));
        expect(bufA.views.every(Number.isFinite)).toBe(true);
      }
      // Erased rectangles hold N(0, 1) noise, not the normalised image: some values lie outside the pixel range's image.
      const lo = (0 - 0.485) / 0.229;
      expect(Array.from(bufA.views).some((v) => v < lo - 1e-6)).toBe(true);
    } finally {
      await Promise.all([inline.close(), pool.close()]);
    }
  });

  test('closing the pool rejects a batch still in flight instead of leaving it pending', async () => {
    const pool = new TimmTransformPool(1);
    const t = recipe(224);
    const buf = pool.allocate(128, 224, 224, 3, 224);
    // About half a second of work: still running when close() terminates the worker.
    const job = pool.run(buf, sampleTimmTrainDraws(new Rng(1), t, 128, 224, 224), 224, 224, 3, t);
    await pool.close();
    await expect(job).rejects.toThrow(/pool closed/);
  });

  test('a worker error rejects the batch', async () => {
    const pool = new TimmTransformPool(1);
    try {
      const t = recipe(8, { randAugment: null, erasingProb: 0 });
      const buf = pool.allocate(1, 8, 8, 3, 8);
      await expect(pool.run(buf, [{ box: { top: 4, left: 0, height: 8, width: 8 }, hflip: false, randAugment: null, erasing: null }], 8, 8, 3, t)).rejects.toThrow(/outside the 8x8 image/);
    } finally {
      await pool.close();
    }
  });
});
