import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/index';
import { resizeBilinear, resizeShorterCenterCrop } from '../../src/data/resample';
import { tempDir } from './fixtures';

function pattern(w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = (x * 37 + y * 91 + k * 53 + x * y * 7) % 256;
  return out;
}

describe('torchvision Resize + CenterCrop on PIL images', () => {
  // Outputs of Pillow 9.4: img.resize((new_w, new_h), BILINEAR).crop(centre, offsets rounded
  // half-to-even) for the `pattern` images above (downscale, upscale, odd crop offset).
  test.each([
    [9, 7, 3, 4, '46769d7d8d8b728da089757c8a8574778388878a8f8c7e7c709b7e91837991857e93867a60948471a06d807b749e897c'],
    [5, 6, 1, 8, '0010273e566d84942e3f59728ca576506a7e9899a8c4691fa7bcce6845646b6e647b96686284a6be203a5f849ca6c9e25d78a1c9ad506b879a80638e906b8eac'],
    [13, 11, 3, 5, '68838f7887927d7c867281897791767c86838b8d858d807e80818087909072957982836f8f877f7b866d8a6b7f836d8d8378897e7984817b8282669a9b777f917e7871848b878c7c7d7e95'],
  ])('%ix%ix%i -> %i matches Pillow byte for byte', (w, h, c, size, hex) => {
    expect(Buffer.from(resizeShorterCenterCrop(pattern(w, h, c), w, h, c, size)).toString('hex')).toBe(hex);
  });

  test('an image already at the target size passes through unchanged', () => {
    const img = pattern(32, 32, 3);
    expect(resizeShorterCenterCrop(img, 32, 32, 3, 32)).toEqual(img);
    expect(resizeBilinear(img, 32, 32, 3, 32, 32)).toEqual(img);
  });

  test('close to an independent floating-point triangle-filter reference (within 1.5 levels)', () => {
    // Reference: separable antialiased triangle filter in float64, rounded once at the end;
    // Pillow's fixed point and intermediate uint8 rounding stay within 1.5 levels of it.
    const [w, h, c, ow, oh] = [23, 17, 3, 9, 13];
    const src = pattern(w, h, c);
    const weights = (inSize: number, outSize: number) => {
      const scale = inSize / outSize, fs = Math.max(scale, 1);
      return Array.from({ length: outSize }, (_, o) => {
        const center = (o + 0.5) * scale;
        const ws = Array.from({ length: inSize }, (_, i) => Math.max(0, 1 - Math.abs((i + 0.5 - center) / fs)));
        const total = ws.reduce((a, b) => a + b, 0);
        return ws.map((v) => v / total);
      });
    };
    const wx = weights(w, ow), wy = weights(h, oh);
    const got = resizeBilinear(src, w, h, c, ow, oh);
    let worst = 0;
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let k = 0; k < c; k++) {
      let v = 0;
      for (let sy = 0; sy < h; sy++) for (let sx = 0; sx < w; sx++) v += wy[y][sy] * wx[x][sx] * src[(sy * w + sx) * c + k];
      worst = Math.max(worst, Math.abs(got[(y * ow + x) * c + k] - v));
    }
    expect(worst).toBeLessThanOrEqual(1.5);
  });

  const python = '/usr/bin/python3';
  const hasPil = fs.existsSync(python) && spawnSync(python, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
  if (!hasPil) process.stderr.write('note: /usr/bin/python3 with Pillow and numpy not found; skipping the live Pillow comparison\n');
  (hasPil ? test : test.skip)('random images of many shapes match the installed Pillow exactly', () => {
    const dir = tempDir('pil');
    const shapes: Array<[number, number, number, number]> = [[28, 28, 1, 32], [500, 375, 3, 224], [61, 47, 3, 32], [47, 61, 3, 33], [96, 96, 3, 64], [17, 33, 3, 50], [300, 200, 3, 7]];
    const script = `
import numpy as np, sys
from PIL import Image
d = sys.argv[1]
for i, (w, h, c, s) in enumerate(${JSON.stringify(shapes)}):
    arr = np.fromfile(f'{d}/in{i}.u8', dtype=np.uint8).reshape(h, w, c)
    img = Image.fromarray(arr[:, :, 0] if c == 1 else arr, 'L' if c == 1 else 'RGB')
    short, long = (w, h) if w <= h else (h, w)
    nl = int(s * long / short)
    nw, nh = (s, nl) if w <= h else (nl, s)
    r = img if (nw, nh) == (w, h) else img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - s) / 2.0)), int(round((nw - s) / 2.0))
    np.asarray(r.crop((left, top, left + s, top + s))).astype(np.uint8).tofile(f'{d}/out{i}.u8')
`;
    let seed = 12345;
    const inputs = shapes.map(([w, h, c], i) => {
      const img = new Uint8Array(w * h * c);
      for (let j = 0; j < img.length; j++) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; img[j] = seed >>> 24; }
      fs.writeFileSync(path.join(dir, `in${i}.u8`), img);
      return img;
    });
    const run = spawnSync(python, ['-c', script, dir], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    shapes.forEach(([w, h, c, s], i) => {
      const expected = new Uint8Array(fs.readFileSync(path.join(dir, `out${i}.u8`)));
      expect(Buffer.from(resizeShorterCenterCrop(inputs[i], w, h, c, s)).equals(Buffer.from(expected))).toBe(true);
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  (hasPil ? test : test.skip)('JPEG folder cache equals Pillow decode + Resize + CenterCrop of the same files', async () => {
    const dir = tempDir('pil-jpeg');
    const shapes: Array<[number, number, string]> = [[333, 250, '4:2:0'], [180, 260, '4:4:4']];
    const files: string[] = [];
    for (const [k, [w, h, subsampling]] of shapes.entries()) {
      const px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.round(127 + 100 * Math.sin(x / (7 + c) + y / 11)) ^ ((x * y * (c + 1)) & 15);
      const file = path.join(dir, 'train', `class${k}`, 'img.JPEG');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85, chromaSubsampling: subsampling }).toFile(file);
      files.push(file);
    }
    const size = 96;
    const set = await loadDataset({ dataset: 'imagefolder', root: dir, train_split: 'train', test_split: 'val', image_size: size, cache_dir: path.join(dir, 'cache'), workers: 2 }, 'train', { seed: 0, tty: false, log: () => undefined });
    const script = `
import numpy as np, sys
from PIL import Image
s = ${size}
for i, f in enumerate(sys.argv[2:]):
    img = Image.open(f).convert('RGB')
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    nl = int(s * long / short)
    nw, nh = (s, nl) if w <= h else (nl, s)
    r = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - s) / 2.0)), int(round((nw - s) / 2.0))
    np.asarray(r.crop((left, top, left + s, top + s))).astype(np.uint8).tofile(f'{sys.argv[1]}/pil{i}.u8')
`;
    const run = spawnSync(python, ['-c', script, dir, ...files], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    for (let i = 0; i < files.length; i++) {
      const expected = fs.readFileSync(path.join(dir, `pil${i}.u8`));
      expect(Buffer.from(set.readBatch([i])).equals(expected)).toBe(true);
    }
    set.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
