/**
 * One spec per dataset a config can name: its catalogue entry (description, default root, sizes,
 * splits, classes, channels; src/registry.ts lists them for the config schema and `ssl-bench
 * list`) and how its files are found (format, candidate folders; src/data/resolve.ts). A new
 * dataset in an existing format is one entry here.
 */
import * as path from 'node:path';
import { cifar10BinaryDirs } from './cifar10';
import { fashionMnistDirs } from './fashion-mnist';
import { stl10Dirs } from './stl10';

export type DataFormat = 'cifar10-binary' | 'idx' | 'stl10-binary' | 'image-folder';

export interface DatasetSpec {
  readonly description: string;
  /** Default `data.root`, interpolated like any config string. */
  readonly root: string;
  /** Default `data.image_size`: pixels after the decode/resize cache (shorter side for folders). */
  readonly imageSize: number;
  /** Default `augmentation.input_size`: crop size of global views. */
  readonly inputSize: number;
  readonly trainSplit: string;
  readonly testSplit: string;
  readonly classes: number | null;
  /** Channels of the decoded images (1: grayscale, kept single-channel through the views). */
  readonly channels: 1 | 3;
  readonly format: DataFormat;
  /** Folders tried for the files under `root`, in order (default: root itself). */
  candidateDirs?(root: string): string[];
}

/** The repository's own small Fashion-MNIST subset (idx files), used when no data is downloaded. */
export const EMBEDDED_FASHION_MNIST_DIR = path.resolve(__dirname, '..', '..', 'data-embedded', 'fashion-mnist');

const imageNetFolder = (description: string, root: string, classes: number): DatasetSpec => ({
  description, root, imageSize: 256, inputSize: 224, trainSplit: 'train', testSplit: 'val', classes, channels: 3, format: 'image-folder',
});

export const DATASET_SPECS = {
  cifar10: {
    description: 'CIFAR-10 binary batches: 50 000 train / 10 000 test, 32x32, 10 classes',
    root: '${DATA_ROOT:-data}/cifar10', imageSize: 32, inputSize: 32, trainSplit: 'train', testSplit: 'test', classes: 10, channels: 3,
    format: 'cifar10-binary', candidateDirs: cifar10BinaryDirs,
  },
  'cifar10-folder': {
    description: 'CIFAR-10 as image folders (one PNG per image, one sub-folder per class), as the Lightly docs script reads it',
    root: '${DATA_ROOT:-data}/cifar10-folder', imageSize: 32, inputSize: 32, trainSplit: 'train', testSplit: 'test', classes: 10, channels: 3,
    format: 'image-folder',
  },
  'fashion-mnist': {
    description: 'Fashion-MNIST idx files: 60 000 train / 10 000 test, 28x28 grayscale, 10 classes',
    root: '${DATA_ROOT:-data}/fashion-mnist', imageSize: 28, inputSize: 28, trainSplit: 'train', testSplit: 'test', classes: 10, channels: 1,
    format: 'idx', candidateDirs: fashionMnistDirs,
  },
  stl10: {
    description: 'STL-10 binaries: 5 000 train + 100 000 unlabeled / 8 000 test, 96x96, 10 classes',
    root: '${DATA_ROOT:-data}/stl10', imageSize: 96, inputSize: 96, trainSplit: 'train', testSplit: 'test', classes: 10, channels: 3,
    format: 'stl10-binary', candidateDirs: stl10Dirs,
  },
  imagefolder: {
    description: 'Any ImageFolder tree: <root>/<split>/<class>/<image>, classes from sorted sub-folder names',
    root: '${DATA_ROOT:-data}/images', imageSize: 160, inputSize: 128, trainSplit: 'train', testSplit: 'val', classes: null, channels: 3,
    format: 'image-folder',
  },
  imagenette: {
    description: 'Imagenette2-160: 10 easy ImageNet classes, shorter side 160 px',
    root: '${DATA_ROOT:-data}/imagenette2-160', imageSize: 160, inputSize: 128, trainSplit: 'train', testSplit: 'val', classes: 10, channels: 3,
    format: 'image-folder',
    candidateDirs: (root) => [root, path.join(root, 'imagenette2-160'), path.join(root, 'imagenette2-320'), path.join(root, 'imagenette2')],
  },
  imagenet100: imageNetFolder('ImageNet-100: 100-class ImageNet subset as image folders, 224-px crops', '${DATA_ROOT:-data}/imagenet100', 100),
  imagenet1k: imageNetFolder('ILSVRC2012 ImageNet-1k train / val as image folders, 224-px crops', '${DATA_ROOT:-data}/imagenet', 1000),
  'embedded-fashion-mnist': {
    description: 'A small Fashion-MNIST sample shipped inside the repository, for offline smoke tests',
    root: '${DATA_ROOT:-data}/embedded-fashion-mnist', imageSize: 28, inputSize: 28, trainSplit: 'train', testSplit: 'test', classes: 10, channels: 1,
    format: 'idx', candidateDirs: (root) => [...new Set([root, EMBEDDED_FASHION_MNIST_DIR])],
  },
} satisfies Record<string, DatasetSpec>;

export type DatasetId = keyof typeof DATASET_SPECS;
export const DATASET_IDS = Object.keys(DATASET_SPECS) as readonly DatasetId[];
