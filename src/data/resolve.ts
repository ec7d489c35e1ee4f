import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { CIFAR10_BATCH_FILES } from './cifar10';
import { DATASET_IDS, DATASET_SPECS, type DataFormat, type DatasetId, type DatasetSpec } from './datasets';
import { DOWNLOADABLE_DATASETS, DownloadableDataset } from './download';
import { fashionMnistStems, findIdxFile } from './fashion-mnist';
import { STL10_SPLITS, Stl10Split, stl10Files } from './stl10';

export { DATASET_IDS, EMBEDDED_FASHION_MNIST_DIR } from './datasets';
export type { DataFormat, DatasetId } from './datasets';

/** The `data:` section of a resolved config (README "Configs" and "Data"); `dataset` is checked against DATASET_IDS. */
export interface DataConfig {
  dataset: string;
  root: string;
  train_split: string;
  test_split: string;
  image_size: number;
  subset?: { per_class?: number | null; fraction?: number | null; test_per_class?: number | null } | null;
  cache_dir: string;
  workers: number;
}

/** Where a dataset's files are, once found. */
export interface ResolvedDataset {
  dataset: DatasetId;
  format: DataFormat;
  /** The folder holding the files (batches folder, idx folder, stl10_binary, or the folder of split folders). */
  dir: string;
}

const formatOf = (dataset: DatasetId): DataFormat => DATASET_SPECS[dataset].format;

/** Candidate folders for `dataset` under `root`, in the order they are tried. */
export function candidateDirs(dataset: DatasetId, root: string): string[] {
  const spec: DatasetSpec = DATASET_SPECS[dataset];
  return spec.candidateDirs ? spec.candidateDirs(root) : [root];
}

/** Files (relative to a candidate folder) that must exist for `split`. */
function requiredFiles(dataset: DatasetId, split: string): string[] {
  switch (formatOf(dataset)) {
    case 'cifar10-binary':
      return [...CIFAR10_BATCH_FILES[split as 'train' | 'test']];
    case 'idx': {
      const stems = fashionMnistStems(split as 'train' | 'test');
      return [stems.images, stems.labels];
    }
    case 'stl10-binary':
      return stl10Files(split as Stl10Split);
    case 'image-folder':
      return [split];
  }
}

/** The files a split is read from, for cache keys (absolute paths; idx names as found on disk). */
export function splitSourceFiles(resolved: ResolvedDataset, cfg: DataConfig, split: string): string[] {
  return requiredFiles(resolved.dataset, split).map((rel) => (resolved.format === 'idx' ? findIdxFile([resolved.dir], rel) ?? path.join(resolved.dir, rel) : path.join(resolved.dir, rel)));
}

function checkSplitName(cfg: DataConfig, dataset: DatasetId, field: 'train_split' | 'test_split'): string {
  const split = cfg[field];
  const allowed = (() => {
    switch (formatOf(dataset)) {
      case 'cifar10-binary': case 'idx': return field === 'train_split' ? ['train'] : ['test'];
      case 'stl10-binary': return field === 'train_split' ? STL10_SPLITS.filter((s) => s !== 'test') : ['test'];
      case 'image-folder': return null;
    }
  })();
  if (allowed && !allowed.includes(split)) {
    throw new UserError(`data.${field}: "${split}" is not a split of ${cfg.dataset}; allowed: ${allowed.join(', ')}`);
  }
  if (!allowed && (split === '' || /[/\\]|^\.\.?$/.test(split))) {
    throw new UserError(`data.${field}: "${split}" must be the name of a folder inside data.root (e.g. train, val)`);
  }
  return split;
}

/** The config's split names against its dataset's format, reading no files (validate runs this). */
export function checkSplitNames(cfg: DataConfig): void {
  if (!(DATASET_IDS as readonly string[]).includes(cfg.dataset)) return;
  for (const field of ['train_split', 'test_split'] as const) checkSplitName(cfg, cfg.dataset as DatasetId, field);
}

function present(dir: string, rel: string, format: DataFormat): boolean {
  if (format === 'idx') return findIdxFile([dir], rel) !== null;
  const full = path.join(dir, rel);
  if (format === 'image-folder') return fs.existsSync(full) && fs.statSync(full).isDirectory();
  return fs.existsSync(full);
}

function fetchHint(cfg: DataConfig): string {
  if (cfg.dataset === 'embedded-fashion-mnist') return 'the embedded subset ships with the repository; restore data-embedded/fashion-mnist/ from git';
  const downloadable = (DOWNLOADABLE_DATASETS as readonly string[]).includes(cfg.dataset);
  if (downloadable) return `fetch it with: ssl-bench data download ${cfg.dataset as DownloadableDataset} --root ${cfg.root}`;
  if (cfg.dataset === 'cifar10-folder') return `lay it out as ${cfg.root}/<split>/<class>/*.png (or set data.dataset: cifar10 and run: ssl-bench data download cifar10 --root ${cfg.root})`;
  return `lay it out as ${cfg.root}/<split>/<class>/*.JPEG (ImageNet's train/ and val/ folders sorted into class folders)`;
}

/**
 * Finds the dataset on disk for the given splits (default: train and test split of the config).
 * When it is missing, one line names every path looked at and how to get the data.
 */
export function resolveDataset(cfg: DataConfig, which: ReadonlyArray<'train' | 'test'> = ['train', 'test']): ResolvedDataset {
  if (!(DATASET_IDS as readonly string[]).includes(cfg.dataset)) {
    throw new UserError(`data.dataset: "${cfg.dataset}" is not a known dataset; allowed: ${DATASET_IDS.join(', ')}`);
  }
  const dataset = cfg.dataset as DatasetId;
  const format = formatOf(dataset);
  const splits = which.map((w) => checkSplitName(cfg, dataset, w === 'train' ? 'train_split' : 'test_split'));
  const needed = [...new Set(splits.flatMap((s) => requiredFiles(dataset, s)))];
  const dirs = candidateDirs(dataset, cfg.root);
  for (const dir of dirs) {
    if (needed.every((rel) => present(dir, rel, format))) return { dataset, format, dir };
  }
  const what = format === 'image-folder'
    ? `split folder${needed.length > 1 ? 's' : ''} ${needed.map((s) => `${s}/`).join(', ')}`
    : format === 'idx' ? needed.map((f) => `${f}[.gz]`).join(', ') : needed.join(', ');
  throw new UserError(`data.root: ${cfg.dataset} not found: looked for ${what} in ${dirs.join(', ')}; ${fetchHint(cfg)}`);
}
