import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readCifar10Binary, CIFAR10_CLASSES } from '../../src/data/cifar10';
import { readFashionMnist } from '../../src/data/fashion-mnist';
import { readIdxUint8 } from '../../src/data/idx';
import { readStl10 } from '../../src/data/stl10';
import { cifarBatch, expectedHwc, idxImages, idxLabels, stl10Images, tempDir, userErrorOf, writeFashionMnist } from './fixtures';

const root = tempDir('readers');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function cifarDir(name: string, perBatch: number[][], test: number[]): string {
  const dir = path.join(root, name, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  let first = 0;
  perBatch.forEach((labels, b) => {
    fs.writeFileSync(path.join(dir, `data_batch_${b + 1}.bin`), cifarBatch(labels, first));
    first += labels.length;
  });
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBatch(test, 100));
  return dir;
}

describe('CIFAR-10 binary', () => {
  const dir = cifarDir('good', [[0, 1], [2], [3, 4], [5], [9, 8]], [7, 6]);

  test('reads all five training batches in order and converts CHW planes to HWC', () => {
    const set = readCifar10Binary(dir, 'train');
    expect(set.n).toBe(8);
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 3]);
    expect(Array.from(set.labels)).toEqual([0, 1, 2, 3, 4, 5, 9, 8]);
    expect(set.classes).toEqual(CIFAR10_CLASSES);
    for (let i = 0; i < 8; i++) expect(set.readBatch([i])).toEqual(expectedHwc(i, 32, 32, 3));
    const two = set.readBatch([7, 2]);
    expect(two.subarray(0, 3072)).toEqual(expectedHwc(7, 32, 32, 3));
    expect(two.subarray(3072)).toEqual(expectedHwc(2, 32, 32, 3));
    const test = readCifar10Binary(dir, 'test');
    expect(Array.from(test.labels)).toEqual([7, 6]);
    expect(test.readBatch([1])).toEqual(expectedHwc(101, 32, 32, 3));
  });

  test('class names come from batches.meta.txt when present', () => {
    const named = cifarDir('named', [[0], [0], [0], [0], [0]], [0]);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    fs.writeFileSync(path.join(named, 'batches.meta.txt'), `${names.join('\n')}\n\n`);
    expect(readCifar10Binary(named, 'test').classes).toEqual(names);
  });

  test('short batch: one line naming the file and the byte offset of the broken record', async () => {
    const bad = cifarDir('short', [[0, 1], [2], [3], [4], [5]], [6]);
    const file = path.join(bad, 'data_batch_3.bin');
    fs.writeFileSync(file, cifarBatch([3, 3]).subarray(0, 3073 + 100));
    expect(await userErrorOf(() => readCifar10Binary(bad, 'train'))).toBe(
      `${file}: byte 3073: truncated CIFAR-10 batch; 3173 bytes is not a whole number of 3073-byte records (the record at byte 3073 has 100 bytes); re-extract the archive`,
    );
  });

  test('label out of range: names file, record and byte offset', async () => {
    const bad = cifarDir('label', [[0], [1], [2], [3], [4]], [1, 2, 12]);
    expect(await userErrorOf(() => readCifar10Binary(bad, 'test'))).toBe(
      `${path.join(bad, 'test_batch.bin')}: record 2 at byte 6146: label 12 out of range; CIFAR-10 labels are 0..9`,
    );
  });

  test('missing batch file is named', async () => {
    const bad = cifarDir('missing', [[0], [1], [2], [3], [4]], [1]);
    fs.rmSync(path.join(bad, 'data_batch_4.bin'));
    expect(await userErrorOf(() => readCifar10Binary(bad, 'train'))).toBe(
      `${path.join(bad, 'data_batch_4.bin')}: CIFAR-10 batch file missing; expected data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin in ${bad}`,
    );
  });
});

describe('Fashion-MNIST idx', () => {
  test.each([false, true])('reads plain and gzipped idx pairs (gzip=%s) as 28x28x1', (gzip) => {
    const dir = path.join(root, `fm-${gzip}`);
    writeFashionMnist(dir, 'train', [3, 1, 4, 1, 5], gzip);
    writeFashionMnist(dir, 'test', [9, 2], gzip);
    const set = readFashionMnist(dir, 'train');
    expect([set.n, set.height, set.width, set.channels]).toEqual([5, 28, 28, 1]);
    expect(Array.from(set.labels)).toEqual([3, 1, 4, 1, 5]);
    expect(set.classes[9]).toBe('Ankle boot');
    expect(set.readBatch([4])).toEqual(expectedHwc(4, 28, 28, 1));
    expect(Array.from(readFashionMnist(dir, 'test').labels)).toEqual([9, 2]);
  });

  test('gzip is detected from magic bytes, not the file name', () => {
    const dir = path.join(root, 'fm-misnamed');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), zlib.gzipSync(idxImages(2, 28, 28)));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), idxLabels([0, 7]));
    expect(Array.from(readFashionMnist(dir, 'train').labels)).toEqual([0, 7]);
  });

  test('bad magic: names the file, byte 0, found and expected magic', async () => {
    const file = path.join(root, 'bad-magic-idx');
    const data = idxImages(1, 28, 28);
    data.writeUInt32BE(0x801, 0);
    fs.writeFileSync(file, data);
    expect(await userErrorOf(() => readIdxUint8(file, 3))).toBe(
      `${file}: byte 0: bad idx magic 0x00000801, expected 0x00000803 (unsigned-byte images, 3 dimensions)`,
    );
    const gz = path.join(root, 'bad-magic-idx.gz');
    fs.writeFileSync(gz, zlib.gzipSync(Buffer.from('<html>not found</html>')));
    expect(await userErrorOf(() => readIdxUint8(gz, 1))).toBe(
      `${gz}: byte 0: bad idx magic 0x3c68746d, expected 0x00000801 (unsigned-byte labels)`,
    );
  });

  test('truncated idx data and corrupt gzip are reported with the file', async () => {
    const file = path.join(root, 'short-idx');
    fs.writeFileSync(file, idxImages(3, 28, 28).subarray(0, 16 + 2 * 784 + 10));
    expect(await userErrorOf(() => readIdxUint8(file, 3))).toBe(
      `${file}: byte 1594: idx data is 1578 bytes but the header (3x28x28) needs 2352; the file is truncated`,
    );
    const gz = path.join(root, 'short-idx.gz');
    fs.writeFileSync(gz, zlib.gzipSync(idxImages(3, 28, 28)).subarray(0, 200));
    expect(await userErrorOf(() => readIdxUint8(gz, 3))).toBe(`${gz}: corrupt gzip data (unexpected end of file); re-download the file`);
  });

  test('image/label count mismatch is an error', async () => {
    const dir = path.join(root, 'fm-mismatch');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idxImages(3, 28, 28));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 2]));
    expect(await userErrorOf(() => readFashionMnist(dir, 'test'))).toBe(
      `${path.join(dir, 't10k-labels-idx1-ubyte')}: 2 labels but ${path.join(dir, 't10k-images-idx3-ubyte')} holds 3 images; the two files must come from the same split`,
    );
  });

  test('label out of range names the byte offset', async () => {
    const dir = path.join(root, 'fm-badlabel');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idxImages(2, 28, 28));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([1, 10]));
    expect(await userErrorOf(() => readFashionMnist(dir, 'test'))).toBe(
      `${path.join(dir, 't10k-labels-idx1-ubyte')}: byte 9: label 10 of image 1 out of range; labels are 0..9`,
    );
  });
});

describe('STL-10 binary', () => {
  const dir = path.join(root, 'stl', 'stl10_binary');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train_X.bin'), stl10Images(3));
  fs.writeFileSync(path.join(dir, 'train_y.bin'), Buffer.from([1, 10, 4]));
  fs.writeFileSync(path.join(dir, 'test_X.bin'), stl10Images(2, 50));
  fs.writeFileSync(path.join(dir, 'test_y.bin'), Buffer.from([2, 3]));
  fs.writeFileSync(path.join(dir, 'unlabeled_X.bin'), stl10Images(4, 20));
  fs.writeFileSync(path.join(dir, 'class_names.txt'), 'airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n');

  test('train/test: labels 1..10 become 0..9, column-major planes become HWC', () => {
    const train = readStl10(dir, 'train');
    expect([train.n, train.height, train.width, train.channels]).toEqual([3, 96, 96, 3]);
    expect(Array.from(train.labels)).toEqual([0, 9, 3]);
    expect(train.classes[7]).toBe('monkey');
    expect(train.readBatch([2])).toEqual(expectedHwc(2, 96, 96, 3));
    const test = readStl10(dir, 'test');
    expect(Array.from(test.labels)).toEqual([1, 2]);
    expect(test.readBatch([0])).toEqual(expectedHwc(50, 96, 96, 3));
  });

  test('unlabeled is read from disk per batch; train+unlabeled concatenates', () => {
    const unlabeled = readStl10(dir, 'unlabeled');
    expect(unlabeled.n).toBe(4);
    expect(Array.from(unlabeled.labels)).toEqual([-1, -1, -1, -1]);
    const out = new Uint8Array(2 * 27648);
    unlabeled.readBatch([3, 0], out);
    expect(out.subarray(0, 27648)).toEqual(expectedHwc(23, 96, 96, 3));
    expect(out.subarray(27648)).toEqual(expectedHwc(20, 96, 96, 3));
    unlabeled.close();
    expect(() => unlabeled.readBatch([0])).toThrow('read after close()');

    const both = readStl10(dir, 'train+unlabeled');
    expect(both.n).toBe(7);
    expect(Array.from(both.labels)).toEqual([0, 9, 3, -1, -1, -1, -1]);
    const mixed = both.readBatch([4, 1]);
    expect(mixed.subarray(0, 27648)).toEqual(expectedHwc(21, 96, 96, 3));
    expect(mixed.subarray(27648)).toEqual(expectedHwc(1, 96, 96, 3));
    both.close();
  });

  test('truncated image file and bad labels are named', async () => {
    const bad = path.join(root, 'stl-bad');
    fs.mkdirSync(bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'train_X.bin'), stl10Images(2).subarray(0, 27648 + 5));
    fs.writeFileSync(path.join(bad, 'train_y.bin'), Buffer.from([1, 2]));
    expect(await userErrorOf(() => readStl10(bad, 'train'))).toBe(
      `${path.join(bad, 'train_X.bin')}: byte 27648: truncated STL-10 image file; 27653 bytes is not a whole number of 27648-byte images; re-extract the archive`,
    );
    fs.writeFileSync(path.join(bad, 'train_X.bin'), stl10Images(2));
    fs.writeFileSync(path.join(bad, 'train_y.bin'), Buffer.from([1, 0]));
    expect(await userErrorOf(() => readStl10(bad, 'train'))).toBe(
      `${path.join(bad, 'train_y.bin')}: byte 1: label 0 out of range; STL-10 labels on disk are 1..10`,
    );
  });
});
