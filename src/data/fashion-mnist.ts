import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { readIdxUint8 } from './idx';
import { InMemoryImageSet } from './image-source';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export type FashionMnistSplit = 'train' | 'test';

const FILE_STEMS: Record<FashionMnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Folders under `root` that may hold the idx files: root itself and torchvision's layout. */
export function fashionMnistDirs(root: string): string[] {
  return [root, path.join(root, 'FashionMNIST', 'raw')];
}

/** The idx stems of a split (without `.gz`); `findIdxFile` resolves either spelling. */
export function fashionMnistStems(split: FashionMnistSplit): { images: string; labels: string } {
  return FILE_STEMS[split];
}

/** `<dir>/<stem>` or `<dir>/<stem>.gz`, whichever exists first in `dirs`; null if none. */
export function findIdxFile(dirs: string[], stem: string): string | null {
  for (const dir of dirs) {
    for (const name of [stem, `${stem}.gz`]) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  return null;
}

/** Reads an idx image/label pair as 28x28x1 images with labels 0..9. */
export function readIdxPair(name: string, split: string, imagesFile: string, labelsFile: string, classes: readonly string[]): InMemoryImageSet {
  const images = readIdxUint8(imagesFile, 3);
  const labels = readIdxUint8(labelsFile, 1);
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) {
    throw new UserError(`${labelsFile}: ${labels.dims[0]} labels but ${imagesFile} holds ${n} images; the two files must come from the same split`);
  }
  const labelArray = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.data[i];
    if (label >= classes.length) {
      throw new UserError(`${labelsFile}: byte ${8 + i}: label ${label} of image ${i} out of range; labels are 0..${classes.length - 1}`);
    }
    labelArray[i] = label;
  }
  return new InMemoryImageSet({ name, split, height, width, channels: 1, classes }, images.data, labelArray);
}

export function readFashionMnist(root: string, split: FashionMnistSplit, name = 'fashion-mnist'): InMemoryImageSet {
  const dirs = fashionMnistDirs(root);
  const stems = FILE_STEMS[split];
  const imagesFile = findIdxFile(dirs, stems.images);
  const labelsFile = findIdxFile(dirs, stems.labels);
  if (!imagesFile || !labelsFile) {
    const missing = !imagesFile ? stems.images : stems.labels;
    throw new UserError(`${name}: ${missing}[.gz] not found in ${dirs.join(', ')}`);
  }
  return readIdxPair(name, split, imagesFile, labelsFile, FASHION_MNIST_CLASSES);
}
