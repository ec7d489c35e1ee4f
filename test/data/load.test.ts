import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset, DataConfig } from '../../src/data/index';
import { resolveDataset, EMBEDDED_FASHION_MNIST_DIR } from '../../src/data/resolve';
import { RESIZE_RULE, resizeShorterCenterCrop } from '../../src/data/resample';
import { cifarBatch, expectedHwc, stl10Images, tempDir, userErrorOf, writeFashionMnist } from './fixtures';

const root = tempDir('load');
const quiet = { seed: 0, tty: false, log: () => undefined };
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function config(dataset: DataConfig['dataset'], dataRoot: string, extra: Partial<DataConfig> = {}): DataConfig {
  return { dataset, root: dataRoot, train_split: 'train', test_split: 'test', image_size: 32, cache_dir: path.join(root, 'cache'), workers: 1, ...extra };
}

describe('loadDataset on binary formats', () => {
  const cifarRoot = path.join(root, 'cifar10');
  const batches = path.join(cifarRoot, 'cifar-10-batches-bin');
  fs.mkdirSync(batches, { recursive: true });
  // 5 batches x 6 images alternating classes 0 and 1; 4 test images.
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(batches, `data_batch_${b}.bin`), cifarBatch([0, 1, 0, 1, 0, 1], (b - 1) * 6));
  fs.writeFileSync(path.join(batches, 'test_batch.bin'), cifarBatch([0, 1, 1, 1], 30));

  test('cifar10: train and test splits with manifest', async () => {
    const train = await loadDataset(config('cifar10', cifarRoot), 'train', quiet);
    expect(train.n).toBe(30);
    expect(train.manifest).toMatchObject({ dataset: 'cifar10', split: 'train', dir: batches, n: 30, class_counts: [15, 15, 0, 0, 0, 0, 0, 0, 0, 0], unlabeled: 0, subset: null, cache: null });
    expect(train.manifest.label_mapping.truck).toBe(9);
    const test = await loadDataset(config('cifar10', cifarRoot), 'test', quiet);
    expect(test.readBatch([3])).toEqual(expectedHwc(33, 32, 32, 3));
  });

  test('subset: per_class, fraction and test_per_class are class-balanced and keep source order', async () => {
    const perClass = await loadDataset(config('cifar10', cifarRoot, { subset: { per_class: 4, test_per_class: 1 } }), 'train', quiet);
    expect(perClass.n).toBe(8);
    expect(perClass.manifest.class_counts.slice(0, 2)).toEqual([4, 4]);
    expect(perClass.manifest.subset).toMatchObject({ per_class: 4, fraction: null, seed: 0, source_n: 30 });
    // Labels and pixels of the view agree with the full set.
    const full = await loadDataset(config('cifar10', cifarRoot), 'train', quiet);
    const firstPixels = perClass.readBatch([0]);
    const sourceIndex = Array.from({ length: 30 }, (_, i) => i).find((i) => Buffer.compare(Buffer.from(full.readBatch([i])), Buffer.from(firstPixels)) === 0)!;
    expect(full.labels[sourceIndex]).toBe(perClass.labels[0]);

    const fraction = await loadDataset(config('cifar10', cifarRoot, { subset: { fraction: 0.4 } }), 'train', quiet);
    expect(fraction.manifest.class_counts.slice(0, 2)).toEqual([6, 6]);
    const test = await loadDataset(config('cifar10', cifarRoot, { subset: { per_class: 4, test_per_class: 1 } }), 'test', quiet);
    expect(test.manifest.class_counts.slice(0, 2)).toEqual([1, 1]);

    expect(await userErrorOf(() => loadDataset(config('cifar10', cifarRoot, { subset: { per_class: 2, fraction: 0.5 } }), 'train', quiet))).toBe(
      'data.subset: per_class and fraction are both set; choose one (per_class: images per class, or fraction in (0, 1])',
    );
  });

  test('fashion-mnist at image_size 32 is resized once through the cache and keeps 1 channel', async () => {
    const fmRoot = path.join(root, 'fashion');
    writeFashionMnist(fmRoot, 'train', [0, 1, 2], true);
    const cfg = config('fashion-mnist', fmRoot, { image_size: 32 });
    const set = await loadDataset(cfg, 'train', quiet);
    expect([set.n, set.height, set.width, set.channels]).toEqual([3, 32, 32, 1]);
    expect(set.manifest.cache!.resize).toBe(RESIZE_RULE);
    const again = await loadDataset(cfg, 'train', quiet);
    expect(again.manifest.cache!.file).toBe(set.manifest.cache!.file);
    expect(again.readBatch([2])).toEqual(set.readBatch([2]));
    for (let i = 0; i < 3; i++) expect(set.readBatch([i])).toEqual(resizeShorterCenterCrop(expectedHwc(i, 28, 28, 1), 28, 28, 1, 32));
    const native = await loadDataset({ ...cfg, image_size: 28 }, 'train', quiet);
    expect(native.manifest.cache).toBeNull();
    expect(native.readBatch([1])).toEqual(expectedHwc(1, 28, 28, 1));
  });

  test('stl10 splits by config name, unlabeled included', async () => {
    const dir = path.join(root, 'stl10', 'stl10_binary');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'train_X.bin'), stl10Images(2));
    fs.writeFileSync(path.join(dir, 'train_y.bin'), Buffer.from([1, 2]));
    fs.writeFileSync(path.join(dir, 'unlabeled_X.bin'), stl10Images(3, 10));
    const set = await loadDataset(config('stl10', path.join(root, 'stl10'), { image_size: 96, train_split: 'train+unlabeled' }), 'train', quiet);
    expect(set.n).toBe(5);
    expect(set.manifest.unlabeled).toBe(3);
    expect(set.readBatch([4])).toEqual(expectedHwc(12, 96, 96, 3));
    set.close();
    expect(await userErrorOf(() => loadDataset(config('stl10', path.join(root, 'stl10'), { image_size: 96, train_split: 'extra' }), 'train', quiet))).toBe(
      'data.train_split: "extra" is not a split of stl10; allowed: train, unlabeled, train+unlabeled',
    );
  });
});

describe('resolveDataset: missing data', () => {
  test('cifar10 names every folder looked at and the download command', async () => {
    const missing = path.join(root, 'nothing', 'cifar10');
    expect(await userErrorOf(() => resolveDataset(config('cifar10', missing)))).toBe(
      `data.root: cifar10 not found: looked for data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin in ${path.join(missing, 'cifar-10-batches-bin')}, ${missing}; fetch it with: ssl-bench data download cifar10 --root ${missing}`,
    );
  });

  test('fashion-mnist and stl10', async () => {
    const fm = path.join(root, 'nothing', 'fm');
    expect(await userErrorOf(() => resolveDataset(config('fashion-mnist', fm), ['test']))).toBe(
      `data.root: fashion-mnist not found: looked for t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] in ${fm}, ${path.join(fm, 'FashionMNIST', 'raw')}; fetch it with: ssl-bench data download fashion-mnist --root ${fm}`,
    );
    const stl = path.join(root, 'nothing', 'stl');
    expect(await userErrorOf(() => resolveDataset(config('stl10', stl, { train_split: 'unlabeled' }), ['train']))).toBe(
      `data.root: stl10 not found: looked for unlabeled_X.bin in ${path.join(stl, 'stl10_binary')}, ${stl}; fetch it with: ssl-bench data download stl10 --root ${stl}`,
    );
  });

  test('image folders without a downloader say how to lay them out', async () => {
    const inet = path.join(root, 'nothing', 'imagenet');
    expect(await userErrorOf(() => resolveDataset(config('imagenet1k', inet, { test_split: 'val' })))).toBe(
      `data.root: imagenet1k not found: looked for split folders train/, val/ in ${inet}; lay it out as ${inet}/<split>/<class>/*.JPEG (ImageNet's train/ and val/ folders sorted into class folders)`,
    );
    expect(await userErrorOf(() => resolveDataset(config('imagefolder', inet, { train_split: '../x' })))).toBe(
      'data.train_split: "../x" must be the name of a folder inside data.root (e.g. train, val)',
    );
  });

  test('embedded-fashion-mnist reads the repository copy, or says it is missing', async () => {
    const elsewhere = path.join(root, 'no-embedded-here');
    const cfg = config('embedded-fashion-mnist', elsewhere, { image_size: 28 });
    if (fs.existsSync(EMBEDDED_FASHION_MNIST_DIR)) {
      const set = await loadDataset(cfg, 'train', quiet);
      expect([set.height, set.width, set.channels]).toEqual([28, 28, 1]);
      expect(set.n).toBeGreaterThan(0);
    } else {
      expect(await userErrorOf(() => resolveDataset(cfg))).toBe(
        `data.root: embedded-fashion-mnist not found: looked for train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] in ${elsewhere}, ${EMBEDDED_FASHION_MNIST_DIR}; the embedded subset ships with the repository; restore data-embedded/fashion-mnist/ from git`,
      );
    }
  });
});
