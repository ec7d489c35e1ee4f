import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { InMemoryImageSet } from './image-source';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** One record of the binary distribution: 1 label byte, then 1024 R, 1024 G, 1024 B bytes. */
const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

export const CIFAR10_BATCH_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;

export type Cifar10Split = keyof typeof CIFAR10_BATCH_FILES;

/** Folders under `root` that may be the extracted `cifar-10-batches-bin`. */
export function cifar10BinaryDirs(root: string): string[] {
  return [path.join(root, 'cifar-10-batches-bin'), root];
}

/** Class names from `batches.meta.txt` (one per line) when present, else the standard ten. */
function readClassNames(dir: string): string[] {
  const meta = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(meta)) return [...CIFAR10_CLASSES];
  const names = fs.readFileSync(meta, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== CIFAR10_CLASSES.length) {
    throw new UserError(`${meta}: ${names.length} class names, CIFAR-10 has ${CIFAR10_CLASSES.length} (one per line)`);
  }
  return names;
}

/** Converts one batch file's records into HWC pixels and labels at `first`. */
function decodeBatch(file: string, bytes: Buffer, images: Uint8Array, labels: Int32Array, first: number): void {
  const count = bytes.length / RECORD;
  for (let r = 0; r < count; r++) {
    const offset = r * RECORD;
    const label = bytes[offset];
    if (label > 9) {
      throw new UserError(`${file}: record ${r} at byte ${offset}: label ${label} out of range; CIFAR-10 labels are 0..9`);
    }
    labels[first + r] = label;
    const dst = (first + r) * 3 * PLANE;
    const src = offset + 1;
    for (let p = 0; p < PLANE; p++) {
      images[dst + 3 * p] = bytes[src + p];
      images[dst + 3 * p + 1] = bytes[src + PLANE + p];
      images[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p];
    }
  }
}

/** Reads the train (5 batches) or test split of `cifar-10-batches-bin` in `dir`. */
export function readCifar10Binary(dir: string, split: Cifar10Split, name = 'cifar10'): InMemoryImageSet {
  const files = CIFAR10_BATCH_FILES[split].map((f) => path.join(dir, f));
  const sizes = files.map((file) => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new UserError(`${file}: CIFAR-10 batch file missing; expected ${CIFAR10_BATCH_FILES[split].join(', ')} in ${dir}`);
    }
    if (size === 0 || size % RECORD !== 0) {
      const lastStart = Math.floor(size / RECORD) * RECORD;
      throw new UserError(`${file}: byte ${lastStart}: truncated CIFAR-10 batch; ${size} bytes is not a whole number of ${RECORD}-byte records (the record at byte ${lastStart} has ${size - lastStart} bytes); re-extract the archive`);
    }
    return size;
  });
  const n = sizes.reduce((a, s) => a + s / RECORD, 0);
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  let first = 0;
  files.forEach((file, j) => {
    const bytes = fs.readFileSync(file);
    if (bytes.length !== sizes[j]) throw new UserError(`${file}: file changed size while being read (${sizes[j]} -> ${bytes.length} bytes)`);
    decodeBatch(file, bytes, images, labels, first);
    first += bytes.length / RECORD;
  });
  return new InMemoryImageSet({ name, split, height: SIDE, width: SIDE, channels: 3, classes: readClassNames(dir) }, images, labels);
}
