import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { openOrBuildCache } from './cache';
import { readCifar10Binary } from './cifar10';
import { FASHION_MNIST_CLASSES, readIdxPair, fashionMnistStems, findIdxFile } from './fashion-mnist';
import { listImageFolder, openImageFolder, selectFromListing } from './image-folder';
import { ImageSource, IndexedImageSource, imageBytes } from './image-source';
import { ProgressOptions } from './progress';
import { RESIZE_RULE, resizeShorterCenterCrop } from './resample';
import { DataConfig, ResolvedDataset, resolveDataset, splitSourceFiles } from './resolve';
import { Rng } from './rng';
import { readStl10, Stl10Split } from './stl10';
import { selectSubset } from './subset';

export type { DataConfig, DatasetId, ResolvedDataset } from './resolve';
export type { ImageSource, ImageSet } from './image-source';

/** What a run records about its data: enough to know exactly which images and labels it saw. */
export interface DatasetManifest {
  dataset: string;
  split: string;
  dir: string;
  n: number;
  image: { height: number; width: number; channels: number };
  classes: string[];
  label_mapping: Record<string, number>;
  /** Images per class, in class order; `unlabeled` counts label -1. */
  class_counts: number[];
  unlabeled: number;
  subset: null | {
    per_class: number | null;
    fraction: number | null;
    seed: number;
    source_n: number;
    /** sha256 of the kept source indices (int32 little-endian), to compare subsets across runs. */
    indices_sha256: string;
  };
  cache: null | { file: string; key: string; resize: string };
}

export type LoadedDataset = ImageSource & { readonly manifest: DatasetManifest };

export interface LoadOptions extends ProgressOptions {
  /** Seed of the class-balanced subset (use the config's base seed so every run sees the same images). */
  seed: number;
}

function sha256Indices(indices: Int32Array): string {
  return crypto.createHash('sha256').update(new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength)).digest('hex');
}

function fileStamps(files: string[]): Array<[string, number, number]> {
  return files.map((f) => {
    const st = fs.statSync(f);
    return [path.basename(f), st.size, st.mtimeMs];
  });
}

/** Subset spec for a split: train uses per_class/fraction, test only test_per_class. */
function subsetFor(cfg: DataConfig, which: 'train' | 'test'): { per_class: number | null; fraction: number | null } | null {
  const s = cfg.subset ?? null;
  if (!s) return null;
  const spec = which === 'train' ? { per_class: s.per_class ?? null, fraction: s.fraction ?? null } : { per_class: s.test_per_class ?? null, fraction: null };
  if (spec.per_class !== null && spec.fraction !== null) {
    throw new UserError('data.subset: per_class and fraction are both set; choose one (per_class: images per class, or fraction in (0, 1])');
  }
  return spec.per_class === null && spec.fraction === null ? null : spec;
}

function readBinary(resolved: ResolvedDataset, cfg: DataConfig, split: string): ImageSource {
  switch (resolved.format) {
    case 'cifar10-binary':
      return readCifar10Binary(resolved.dir, split as 'train' | 'test', cfg.dataset);
    case 'idx': {
      const stems = fashionMnistStems(split as 'train' | 'test');
      const images = findIdxFile([resolved.dir], stems.images)!;
      const labels = findIdxFile([resolved.dir], stems.labels)!;
      return readIdxPair(cfg.dataset, split, images, labels, FASHION_MNIST_CLASSES);
    }
    case 'stl10-binary':
      return readStl10(resolved.dir, split as Stl10Split, cfg.dataset);
    case 'image-folder':
      throw new Error('image folders are not a binary format');
  }
}

/** Resizes every image of a fixed-size binary dataset to `size` (as image folders are) through the cache. */
async function resizedThroughCache(source: ImageSource, size: number, cfg: DataConfig, keyMaterial: unknown, opts: LoadOptions): Promise<{ source: ImageSource; file: string; key: string }> {
  const { channels, height, width } = source;
  const one = new Uint8Array(imageBytes(source));
  const index = [0];
  const cached = await openOrBuildCache({
    cacheDir: cfg.cache_dir,
    shape: { name: source.name, split: source.split, height: size, width: size, channels, classes: source.classes },
    labels: source.labels,
    keyMaterial,
    sourceInfo: { kind: 'resized-binary', resize: RESIZE_RULE, from: `${height}x${width}x${channels}` },
    log: opts.log,
    tty: opts.tty,
    fill: async (put) => {
      for (let i = 0; i < source.n; i++) {
        index[0] = i;
        source.readBatch(index, one);
        put(i, resizeShorterCenterCrop(one, width, height, channels, size));
      }
    },
  });
  source.close();
  return cached;
}

function manifestOf(source: ImageSource, cfg: DataConfig, dir: string, subset: DatasetManifest['subset'], cache: DatasetManifest['cache']): DatasetManifest {
  const counts = new Array<number>(source.classes.length).fill(0);
  let unlabeled = 0;
  for (const label of source.labels) {
    if (label < 0) unlabeled++;
    else counts[label]++;
  }
  return {
    dataset: cfg.dataset, split: source.split, dir: path.resolve(dir), n: source.n,
    image: { height: source.height, width: source.width, channels: source.channels },
    classes: [...source.classes],
    label_mapping: Object.fromEntries(source.classes.map((c, i) => [c, i])),
    class_counts: counts, unlabeled, subset, cache,
  };
}

/**
 * Opens the train or test split named by `cfg` as an ImageSource with its manifest. Binary
 * formats are read into memory (STL-10's unlabeled split stays on disk); image folders are
 * decoded once into the cache. A class-balanced subset is chosen before any decoding.
 */
export async function loadDataset(cfg: DataConfig, which: 'train' | 'test', opts: LoadOptions): Promise<LoadedDataset> {
  if (!(Number.isInteger(cfg.image_size) && cfg.image_size >= 1)) throw new UserError(`data.image_size: ${cfg.image_size} is not a positive integer`);
  const resolved = resolveDataset(cfg, [which]);
  const split = which === 'train' ? cfg.train_split : cfg.test_split;
  const spec = subsetFor(cfg, which);
  const subsetRng = new Rng(opts.seed).fork(`subset:${cfg.dataset}:${split}`);
  let subset: DatasetManifest['subset'] = null;
  let cache: DatasetManifest['cache'] = null;
  let source: ImageSource;

  if (resolved.format === 'image-folder') {
    let listing = listImageFolder(path.join(resolved.dir, split));
    if (spec) {
      const kept = selectSubset(listing.labels, listing.classes.length, spec, subsetRng);
      subset = { ...spec, seed: opts.seed, source_n: listing.files.length, indices_sha256: sha256Indices(kept) };
      listing = selectFromListing(listing, kept);
    }
    const opened = await openImageFolder(listing, { name: cfg.dataset, split, imageSize: cfg.image_size, cacheDir: cfg.cache_dir, workers: cfg.workers, log: opts.log, tty: opts.tty });
    source = opened.source;
    cache = { file: opened.file, key: opened.key, resize: RESIZE_RULE };
  } else {
    source = readBinary(resolved, cfg, split);
    let kept: Int32Array | null = null;
    if (spec) {
      kept = selectSubset(source.labels, source.classes.length, spec, subsetRng);
      subset = { ...spec, seed: opts.seed, source_n: source.n, indices_sha256: sha256Indices(kept) };
      source = new IndexedImageSource(source, kept);
    }
    if (source.height !== cfg.image_size || source.width !== cfg.image_size) {
      const keyMaterial = {
        kind: 'resized-binary', dataset: cfg.dataset, split, image_size: cfg.image_size, resize: RESIZE_RULE,
        files: fileStamps(splitSourceFiles(resolved, cfg, split)), subset: subset?.indices_sha256 ?? null,
      };
      const resized = await resizedThroughCache(source, cfg.image_size, cfg, keyMaterial, opts);
      source = resized.source;
      cache = { file: resized.file, key: resized.key, resize: RESIZE_RULE };
    }
  }
  const manifest = manifestOf(source, cfg, resolved.dir, subset, cache);
  return Object.assign(source, { manifest }) as LoadedDataset;
}
