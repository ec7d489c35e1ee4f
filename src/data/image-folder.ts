import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { openOrBuildCache } from './cache';
import { decodeImageFiles } from './decode-pool';
import { FileBackedImageSource } from './image-source';
import { ProgressOptions } from './progress';
import { RESIZE_RULE } from './resample';

/** File endings read as images (case-insensitive), as in torchvision's ImageFolder. */
const IMAGE_EXTENSIONS = ['.jpeg', '.jpg', '.png'];

/** `<root>/<split>/<class>/**\/*.{JPEG,jpg,jpeg,png}`: classes are the sorted folder names. */
export interface FolderListing {
  splitDir: string;
  classes: string[];
  /** Paths relative to `splitDir`, class by class, sorted within each class. */
  files: string[];
  labels: Int32Array;
  sizes: number[];
  mtimesMs: number[];
}

function walkImages(dir: string, rel: string, out: string[]): void {
  const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    const full = path.join(dir, child);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(full).isDirectory());
    if (isDir) walkImages(dir, child, out);
    else if (IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) out.push(child);
  }
}

export function listImageFolder(splitDir: string): FolderListing {
  if (!fs.existsSync(splitDir) || !fs.statSync(splitDir).isDirectory()) {
    throw new UserError(`${splitDir}: image folder split not found; expected <class>/<image>.{JPEG,jpg,png} folders inside`);
  }
  const classes = fs.readdirSync(splitDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(splitDir, e.name)).isDirectory()))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length === 0) {
    const loose = fs.readdirSync(splitDir).filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase())).length;
    const hint = loose > 0 ? ` (found ${loose} images directly in it: sort them into one folder per class, e.g. ImageNet's val/ into <wnid>/ folders)` : '';
    throw new UserError(`${splitDir}: no class folders; expected ${splitDir}/<class>/<image>.{JPEG,jpg,png}${hint}`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((cls, label) => {
    const inClass: string[] = [];
    walkImages(splitDir, cls, inClass);
    // An empty class would still get a label index and shift every later class: refused, not skipped.
    if (inClass.length === 0) throw new UserError(`${path.join(splitDir, cls)}: class folder holds no .JPEG/.jpg/.jpeg/.png images; remove the folder or add its images`);
    for (const f of inClass) { files.push(f); labels.push(label); }
  });
  const sizes: number[] = [];
  const mtimesMs: number[] = [];
  for (const f of files) {
    const st = fs.statSync(path.join(splitDir, f));
    sizes.push(st.size);
    mtimesMs.push(st.mtimeMs);
  }
  return { splitDir, classes, files, labels: Int32Array.from(labels), sizes, mtimesMs };
}

/** The listing restricted to `indices` (ascending), e.g. a class-balanced subset. */
export function selectFromListing(listing: FolderListing, indices: Int32Array): FolderListing {
  const pick = <T>(xs: T[]) => Array.from(indices, (i) => xs[i]);
  return {
    splitDir: listing.splitDir,
    classes: listing.classes,
    files: pick(listing.files),
    labels: Int32Array.from(indices, (i) => listing.labels[i]),
    sizes: pick(listing.sizes),
    mtimesMs: pick(listing.mtimesMs),
  };
}

export interface FolderCacheOptions extends ProgressOptions {
  name: string;
  split: string;
  imageSize: number;
  cacheDir: string;
  workers: number;
}

/**
 * Decodes every listed image once into the cache (torchvision `Resize(imageSize)` +
 * `CenterCrop(imageSize)`, so every record has one size) and serves later reads from it.
 *
 * Throughput (scripts/data-throughput.js, shared 2-core machine, 500x375 JPEGs, 2 workers): the
 * one-time decode runs at 22-26 images/s (ImageNet1k: ~15 h here, scaling with cores); a training
 * step's input afterwards is a cache read plus TypeScript view parameters, 0.06-0.10 s per batch of
 * 256 (2 500-4 500 images/s), the crops running in the training graph. A GPU-sized ResNet-50 step
 * (0.42 s per 256 images in the reference, 610 images/s) needs more than that; the runner reads the
 * batch before each step rather than during the previous one, so today it adds 14-24 % to such a step.
 */
export async function openImageFolder(listing: FolderListing, opts: FolderCacheOptions): Promise<{ source: FileBackedImageSource; file: string; key: string; built: boolean }> {
  const size = opts.imageSize;
  return openOrBuildCache({
    cacheDir: opts.cacheDir,
    shape: { name: opts.name, split: opts.split, height: size, width: size, channels: 3, classes: listing.classes },
    labels: listing.labels,
    keyMaterial: {
      kind: 'image-folder', image_size: size, resize: RESIZE_RULE, classes: listing.classes,
      files: listing.files.map((f, i) => [f, listing.sizes[i], listing.mtimesMs[i]]),
    },
    sourceInfo: { kind: 'image-folder', split_dir: path.resolve(listing.splitDir), resize: RESIZE_RULE },
    log: opts.log,
    tty: opts.tty,
    fill: (put) => decodeImageFiles(listing.files.map((f) => path.join(listing.splitDir, f)), size, opts.workers, put),
  });
}
