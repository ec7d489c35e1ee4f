import * as fs from 'node:fs';
import { loadDataset } from '../../src/data/index';

/** Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist). */
const REAL_DIR = '/usr/share/datasets/fashion-mnist';
const present = fs.existsSync(`${REAL_DIR}/train-images-idx3-ubyte.gz`) && fs.existsSync(`${REAL_DIR}/t10k-labels-idx1-ubyte.gz`);

if (!present) {
  process.stderr.write(`note: ${REAL_DIR} not found; skipping the real Fashion-MNIST check (apt-get install dataset-fashion-mnist)\n`);
}

(present ? describe : describe.skip)('real Fashion-MNIST (Debian package)', () => {
  test('60000 train / 10000 test images, 6000 / 1000 per class', async () => {
    const cfg = { dataset: 'fashion-mnist' as const, root: REAL_DIR, train_split: 'train', test_split: 'test', image_size: 28, cache_dir: '/nonexistent', workers: 1 };
    const started = performance.now();
    const train = await loadDataset(cfg, 'train', { seed: 0, tty: false });
    const trainMs = performance.now() - started;
    const test = await loadDataset(cfg, 'test', { seed: 0, tty: false });
    process.stderr.write(`real Fashion-MNIST: train read in ${trainMs.toFixed(0)} ms, train+test in ${(performance.now() - started).toFixed(0)} ms\n`);
    expect([train.n, train.height, train.width, train.channels]).toEqual([60000, 28, 28, 1]);
    expect(test.n).toBe(10000);
    expect(train.manifest.class_counts).toEqual(new Array(10).fill(6000));
    expect(test.manifest.class_counts).toEqual(new Array(10).fill(1000));
    expect(train.classes).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    // Fashion-MNIST's first training image is an ankle boot (label 9); the mean pixel of the
    // training set is 72.94 (0.2860 * 255), a widely published normalisation constant.
    expect(train.labels[0]).toBe(9);
    const all = train.readBatch(Int32Array.from({ length: 60000 }, (_, i) => i));
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    expect(Math.abs(mean / 255 - 0.286)).toBeLessThan(0.0005);
  });
});
