import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadDataset, DataConfig } from '../../src/data/index';
import { listImageFolder } from '../../src/data/image-folder';
import { resizeShorterCenterCrop } from '../../src/data/resample';
import { expectedHwc, tempDir, userErrorOf } from './fixtures';

const root = tempDir('folders');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function writeImage(file: string, pixels: Uint8Array, width: number, height: number, channels: 1 | 3, format: 'png' | 'jpeg'): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toFile(file);
}

/**
 * Red | green | blue bands along the long side, the green band covering the middle half: the
 * centre square of the resized image is green only if the crop is centred and not squashed.
 */
function bands(width: number, height: number, vertical: boolean): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const long = vertical ? width : height;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const t = vertical ? x : y;
    const band = t < long / 4 ? 0 : t < (3 * long) / 4 ? 1 : 2;
    out[(y * width + x) * 3 + band] = 255;
  }
  return out;
}

function config(dataset: DataConfig['dataset'], dataRoot: string, extra: Partial<DataConfig> = {}): DataConfig {
  return { dataset, root: dataRoot, train_split: 'train', test_split: 'test', image_size: 32, cache_dir: path.join(root, 'cache'), workers: 2, ...extra };
}

const logs: string[] = [];
const quiet = { seed: 0, tty: false, log: (line: string) => logs.push(line) };

describe('CIFAR-10 PNG class folders', () => {
  const dataRoot = path.join(root, 'cifar-png');
  const classes = ['airplane', 'bird', 'cat'];

  beforeAll(async () => {
    let i = 0;
    for (const split of ['train', 'test']) {
      for (const cls of classes) {
        for (let k = 0; k < (split === 'train' ? 4 : 2); k++, i++) {
          await writeImage(path.join(dataRoot, split, cls, `${String(k).padStart(4, '0')}_${i}.png`), expectedHwc(i, 32, 32, 3), 32, 32, 3, 'png');
        }
      }
    }
    fs.writeFileSync(path.join(dataRoot, 'train', 'bird', 'notes.txt'), 'not an image');
  });

  test('lists sorted classes, decodes pixels exactly, caches once and reuses', async () => {
    const listing = listImageFolder(path.join(dataRoot, 'train'));
    expect(listing.classes).toEqual(classes);
    expect(listing.files.slice(0, 2)).toEqual(['airplane/0000_0.png', 'airplane/0001_1.png']);
    expect(Array.from(listing.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);

    logs.length = 0;
    const train = await loadDataset(config('cifar10-folder', dataRoot), 'train', quiet);
    expect([train.n, train.height, train.width, train.channels]).toEqual([12, 32, 32, 3]);
    expect(train.readBatch([5])).toEqual(expectedHwc(5, 32, 32, 3));
    expect(train.manifest.cache).not.toBeNull();
    expect(train.manifest.label_mapping).toEqual({ airplane: 0, bird: 1, cat: 2 });
    expect(train.manifest.class_counts).toEqual([4, 4, 4]);
    expect(logs[0]).toBe('caching cifar10-folder/train at 32x32: 0/12');
    expect(logs[logs.length - 1]).toMatch(/^caching cifar10-folder\/train at 32x32: 12\/12 done in \d+\.\d s$/);
    const cacheFile = train.manifest.cache!.file;
    expect(path.basename(cacheFile)).toMatch(/^cifar10-folder-train-[0-9a-f]{16}\.u8$/);
    const meta = JSON.parse(fs.readFileSync(cacheFile.replace(/\.u8$/, '.json'), 'utf8'));
    expect(meta).toMatchObject({ format_version: 1, dataset: 'cifar10-folder', split: 'train', n: 12, height: 32, width: 32, channels: 3, classes });
    expect(fs.statSync(cacheFile).size).toBe(12 * 32 * 32 * 3);
    train.close();

    logs.length = 0;
    const again = await loadDataset(config('cifar10-folder', dataRoot), 'train', quiet);
    expect(again.manifest.cache!.file).toBe(cacheFile);
    expect(logs).toEqual([]);
    expect(again.readBatch([11, 0])).toEqual(Buffer.concat([expectedHwc(11, 32, 32, 3), expectedHwc(0, 32, 32, 3)]));
    again.close();

    const test = await loadDataset(config('cifar10-folder', dataRoot), 'test', quiet);
    expect(test.n).toBe(6);
    expect(test.readBatch([0])).toEqual(expectedHwc(12, 32, 32, 3));
    test.close();
  });

  test('on a terminal the cache build draws a progress bar on stderr', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true; });
    try {
      const set = await loadDataset(config('cifar10-folder', dataRoot, { image_size: 24 }), 'test', { seed: 0, tty: true });
      set.close();
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('caching cifar10-folder/test at 24x24 [');
    expect(written.join('')).toContain('6/6 100%');
  });

  test('a changed source file or resize setting gets a new cache', async () => {
    const first = await loadDataset(config('cifar10-folder', dataRoot), 'train', quiet);
    const file = path.join(dataRoot, 'train', 'cat', '0000_8.png');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const touched = await loadDataset(config('cifar10-folder', dataRoot), 'train', quiet);
    expect(touched.manifest.cache!.key).not.toBe(first.manifest.cache!.key);
    const smaller = await loadDataset(config('cifar10-folder', dataRoot, { image_size: 16 }), 'train', quiet);
    expect(smaller.manifest.cache!.key).not.toBe(touched.manifest.cache!.key);
    expect([smaller.height, smaller.width]).toEqual([16, 16]);
    for (const s of [first, touched, smaller]) s.close();
  });

  test('class-balanced subset is seeded, chosen before decoding, and recorded', async () => {
    const cfg = config('cifar10-folder', dataRoot, { subset: { per_class: 2, test_per_class: 1 } });
    const a = await loadDataset(cfg, 'train', quiet);
    const b = await loadDataset(cfg, 'train', quiet);
    expect(a.n).toBe(6);
    expect(a.manifest.class_counts).toEqual([2, 2, 2]);
    expect(a.manifest.subset).toMatchObject({ per_class: 2, fraction: null, seed: 0, source_n: 12 });
    expect(b.manifest.subset!.indices_sha256).toBe(a.manifest.subset!.indices_sha256);
    expect(b.readBatch([0, 1, 2, 3, 4, 5])).toEqual(a.readBatch([0, 1, 2, 3, 4, 5]));
    const seeds = new Set<string>();
    for (let seed = 0; seed < 6; seed++) seeds.add((await loadDataset(cfg, 'train', { ...quiet, seed })).manifest.subset!.indices_sha256);
    expect(seeds.size).toBeGreaterThan(1);
    const test = await loadDataset(cfg, 'test', quiet);
    expect(test.manifest.class_counts).toEqual([1, 1, 1]);
  });
});

describe('JPEG image folders (ImageNet layout)', () => {
  const dataRoot = path.join(root, 'imagenet');

  beforeAll(async () => {
    await writeImage(path.join(dataRoot, 'train', 'n01', 'wide.JPEG'), bands(60, 20, true), 60, 20, 3, 'jpeg');
    await writeImage(path.join(dataRoot, 'train', 'n02', 'tall.jpg'), bands(20, 60, false), 20, 60, 3, 'png');
    const gray = new Uint8Array(24 * 24).fill(77);
    await writeImage(path.join(dataRoot, 'train', 'n03', 'gray.png'), gray, 24, 24, 1, 'png');
    await writeImage(path.join(dataRoot, 'val', 'n01', 'a.jpeg'), bands(30, 30, true), 30, 30, 3, 'jpeg');
  });

  test('Resize(image_size) + CenterCrop(image_size), RGB even for grayscale', async () => {
    const set = await loadDataset(config('imagenet1k', dataRoot, { image_size: 10, test_split: 'val' }), 'train', quiet);
    expect([set.n, set.height, set.width, set.channels]).toEqual([3, 10, 10, 3]);
    expect(set.classes).toEqual(['n01', 'n02', 'n03']);
    const pixels = set.readBatch([0, 1, 2]);
    // The centre square of a red|green|blue image (either orientation) is the green band.
    for (let img = 0; img < 2; img++) {
      for (let p = 0; p < 100; p++) {
        const [r, g, b] = pixels.subarray(img * 300 + p * 3, img * 300 + p * 3 + 3);
        // Tolerance 30 covers JPEG chroma subsampling at the band edges.
        expect(r).toBeLessThan(30);
        expect(g).toBeGreaterThan(225);
        expect(b).toBeLessThan(30);
      }
    }
    expect(Array.from(new Set(pixels.subarray(600, 900)))).toEqual([77]);
    // The lossless PNG decodes exactly, so its cached pixels are the reference resize of its source.
    expect(pixels.subarray(300, 600)).toEqual(resizeShorterCenterCrop(bands(20, 60, false), 20, 60, 3, 10));
    set.close();
  });

  // The reason in parentheses is libvips' text, which varies by version and once came back empty:
  // the test checks the line ssl-bench owns around it, not libvips' wording.
  test.each(['truncated', 'garbage'])('an undecodable JPEG (%s) stops the cache build with one line naming the image', async (kind) => {
    const brokenRoot = path.join(root, `broken-${kind}`);
    await writeImage(path.join(brokenRoot, 'train', 'n01', 'ok.JPEG'), bands(30, 30, true), 30, 30, 3, 'jpeg');
    const good = fs.readFileSync(path.join(brokenRoot, 'train', 'n01', 'ok.JPEG'));
    const broken = path.join(brokenRoot, 'train', 'n02', `${kind}.JPEG`);
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(broken, kind === 'truncated' ? good.subarray(0, Math.floor(good.length / 2)) : Buffer.from('this is not a JPEG at all'));
    const cacheDir = path.join(root, `broken-cache-${kind}`);
    const cfg = config('imagenet1k', brokenRoot, { image_size: 8, cache_dir: cacheDir });
    const message = await userErrorOf(() => loadDataset(cfg, 'train', quiet));
    expect(message.startsWith(`${broken}: cannot decode image (`)).toBe(true);
    expect(message.endsWith('); replace or delete the file')).toBe(true);
    const reason = message.slice(`${broken}: cannot decode image (`.length, -'); replace or delete the file'.length);
    expect(reason.trim()).not.toBe('');
    expect(message).not.toContain('\n');
    // No partial cache is left behind.
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  test('a missing split folder names where it looked', async () => {
    const cfg = config('imagenette', dataRoot, { test_split: 'validation' });
    expect(await userErrorOf(() => loadDataset(cfg, 'test', quiet))).toBe(
      `data.root: imagenette not found: looked for split folder validation/ in ${dataRoot}, ${path.join(dataRoot, 'imagenette2-160')}, ${path.join(dataRoot, 'imagenette2-320')}, ${path.join(dataRoot, 'imagenette2')}; fetch it with: ssl-bench data download imagenette --root ${dataRoot}`,
    );
  });
});
