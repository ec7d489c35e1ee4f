import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ConcatImageSource, FileBackedImageSource, ImageSource, InMemoryImageSet } from './image-source';

export const STL10_CLASSES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'];

const SIDE = 96;
const PLANE = SIDE * SIDE;
const RECORD = 3 * PLANE;

export type Stl10Split = 'train' | 'test' | 'unlabeled' | 'train+unlabeled';
export const STL10_SPLITS: readonly Stl10Split[] = ['train', 'test', 'unlabeled', 'train+unlabeled'];

/** Folders under `root` that may be the extracted `stl10_binary`. */
export function stl10Dirs(root: string): string[] {
  return [path.join(root, 'stl10_binary'), root];
}

/** Files a split needs (relative to the stl10_binary folder). */
export function stl10Files(split: Stl10Split): string[] {
  switch (split) {
    case 'train': return ['train_X.bin', 'train_y.bin'];
    case 'test': return ['test_X.bin', 'test_y.bin'];
    case 'unlabeled': return ['unlabeled_X.bin'];
    case 'train+unlabeled': return ['train_X.bin', 'train_y.bin', 'unlabeled_X.bin'];
  }
}

/**
 * STL-10 stores each image as three 96x96 planes in column-major order (Matlab heritage): byte
 * `c*9216 + x*96 + y` is pixel (row y, column x) of channel c. This turns one record into HWC.
 */
export function stl10RecordToHwc(record: Uint8Array, hwc: Uint8Array): void {
  for (let c = 0; c < 3; c++) {
    const plane = c * PLANE;
    for (let x = 0; x < SIDE; x++) {
      const column = plane + x * SIDE;
      for (let y = 0; y < SIDE; y++) hwc[(y * SIDE + x) * 3 + c] = record[column + y];
    }
  }
}

function readClassNames(dir: string): string[] {
  const file = path.join(dir, 'class_names.txt');
  if (!fs.existsSync(file)) return [...STL10_CLASSES];
  const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== STL10_CLASSES.length) throw new UserError(`${file}: ${names.length} class names, STL-10 has ${STL10_CLASSES.length} (one per line)`);
  return names;
}

function imageCount(file: string): number {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new UserError(`${file}: STL-10 file missing`);
  }
  if (size % RECORD !== 0) {
    const lastStart = Math.floor(size / RECORD) * RECORD;
    throw new UserError(`${file}: byte ${lastStart}: truncated STL-10 image file; ${size} bytes is not a whole number of ${RECORD}-byte images; re-extract the archive`);
  }
  return size / RECORD;
}

/** Labels 1..10 on disk become 0..9. */
function readLabels(file: string, expected: number, imagesFile: string): Int32Array {
  if (!fs.existsSync(file)) throw new UserError(`${file}: STL-10 label file missing`);
  const bytes = fs.readFileSync(file);
  if (bytes.length !== expected) {
    throw new UserError(`${file}: ${bytes.length} labels but ${imagesFile} holds ${expected} images; the two files must come from the same split`);
  }
  const labels = new Int32Array(expected);
  for (let i = 0; i < expected; i++) {
    const v = bytes[i];
    if (v < 1 || v > 10) throw new UserError(`${file}: byte ${i}: label ${v} out of range; STL-10 labels on disk are 1..10`);
    labels[i] = v - 1;
  }
  return labels;
}

function readLabeled(dir: string, split: 'train' | 'test', name: string, classes: string[]): InMemoryImageSet {
  const xFile = path.join(dir, `${split}_X.bin`);
  const n = imageCount(xFile);
  const labels = readLabels(path.join(dir, `${split}_y.bin`), n, xFile);
  const raw = fs.readFileSync(xFile);
  const images = new Uint8Array(n * RECORD);
  for (let i = 0; i < n; i++) {
    stl10RecordToHwc(raw.subarray(i * RECORD, (i + 1) * RECORD), images.subarray(i * RECORD, (i + 1) * RECORD));
  }
  return new InMemoryImageSet({ name, split, height: SIDE, width: SIDE, channels: 3, classes }, images, labels);
}

/** The 100k unlabeled images (2.8 GB) stay on disk and are read per batch. */
function openUnlabeled(dir: string, name: string, classes: string[]): FileBackedImageSource {
  const file = path.join(dir, 'unlabeled_X.bin');
  const n = imageCount(file);
  return new FileBackedImageSource(
    { name, split: 'unlabeled', height: SIDE, width: SIDE, channels: 3, classes },
    { file, dataOffset: 0, recordBytes: RECORD, decodeRecord: stl10RecordToHwc },
    new Int32Array(n).fill(-1),
  );
}

/** Reads a split of the extracted `stl10_binary` folder `dir`. */
export function readStl10(dir: string, split: Stl10Split, name = 'stl10'): ImageSource {
  const classes = readClassNames(dir);
  switch (split) {
    case 'train':
    case 'test':
      return readLabeled(dir, split, name, classes);
    case 'unlabeled':
      return openUnlabeled(dir, name, classes);
    case 'train+unlabeled':
      return new ConcatImageSource(split, [readLabeled(dir, 'train', name, classes), openUnlabeled(dir, name, classes)]);
  }
}
