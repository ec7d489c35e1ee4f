import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { FileBackedImageSource, ImageShape, imageBytes } from './image-source';
import { startProgress, ProgressOptions } from './progress';

/**
 * The decoded-image cache: one `<cache_dir>/<dataset>-<split>-<key>.u8` file of N fixed-size HWC
 * uint8 images plus a `.json` with its metadata. The key hashes everything the pixels depend on
 * (source files with sizes and mtimes, resize settings, this format version), so a changed
 * source or setting gets a new file instead of stale pixels. The `.u8` is written under a
 * temporary name and renamed, then the `.json` is written atomically: a cache is valid only when
 * its `.json` exists and agrees with the `.u8` size.
 */
export const CACHE_FORMAT_VERSION = 1;

export interface CacheMetadata {
  format_version: number;
  key: string;
  dataset: string;
  split: string;
  n: number;
  height: number;
  width: number;
  channels: number;
  classes: string[];
  /** What produced the pixels (resize rule, source root), for people reading the cache folder. */
  source: Record<string, unknown>;
  created_at: string;
}

export interface CacheRequest extends ProgressOptions {
  cacheDir: string;
  shape: ImageShape;
  labels: Int32Array;
  /** Everything the pixels depend on; hashed into the key. */
  keyMaterial: unknown;
  /** Stored in the metadata for people inspecting the cache. */
  sourceInfo: Record<string, unknown>;
  /** Produces every image exactly once through `put(index, pixels)`; may be asynchronous. */
  fill: (put: (index: number, pixels: Uint8Array) => void) => Promise<void>;
}

export function cacheKey(keyMaterial: unknown): string {
  const text = JSON.stringify({ format_version: CACHE_FORMAT_VERSION, keyMaterial });
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function cachePaths(cacheDir: string, dataset: string, split: string, key: string): { data: string; meta: string } {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._+-]/g, '_');
  const stem = path.join(cacheDir, `${safe(dataset)}-${safe(split)}-${key}`);
  return { data: `${stem}.u8`, meta: `${stem}.json` };
}

function validCache(meta: string, data: string, expected: CacheMetadata): boolean {
  if (!fs.existsSync(meta) || !fs.existsSync(data)) return false;
  let stored: CacheMetadata;
  try {
    stored = JSON.parse(fs.readFileSync(meta, 'utf8')) as CacheMetadata;
  } catch {
    return false;
  }
  return stored.format_version === CACHE_FORMAT_VERSION && stored.key === expected.key && stored.n === expected.n
    && stored.height === expected.height && stored.width === expected.width && stored.channels === expected.channels
    && fs.statSync(data).size === expected.n * imageBytes(expected);
}

/** Opens the cache for `req`, building it first when it is missing or stale. */
export async function openOrBuildCache(req: CacheRequest): Promise<{ source: FileBackedImageSource; file: string; key: string; built: boolean }> {
  const { shape, labels } = req;
  const key = cacheKey(req.keyMaterial);
  const paths = cachePaths(req.cacheDir, shape.name, shape.split, key);
  const metadata: CacheMetadata = {
    format_version: CACHE_FORMAT_VERSION, key, dataset: shape.name, split: shape.split, n: labels.length,
    height: shape.height, width: shape.width, channels: shape.channels, classes: [...shape.classes],
    source: req.sourceInfo, created_at: new Date().toISOString(),
  };
  let built = false;
  if (!validCache(paths.meta, paths.data, metadata)) {
    await buildCache(req, paths, metadata);
    built = true;
  }
  const source = new FileBackedImageSource(shape, { file: paths.data, dataOffset: 0, recordBytes: imageBytes(shape) }, labels);
  return { source, file: paths.data, key, built };
}

async function buildCache(req: CacheRequest, paths: { data: string; meta: string }, metadata: CacheMetadata): Promise<void> {
  const size = imageBytes(metadata);
  const n = metadata.n;
  try {
    fs.mkdirSync(path.dirname(paths.data), { recursive: true });
  } catch (err) {
    throw new UserError(`data.cache_dir: cannot create ${path.dirname(paths.data)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); choose a writable folder`);
  }
  const tmp = `${paths.data}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  const seen = new Uint8Array(n);
  let written = 0;
  const progress = startProgress(`caching ${metadata.dataset}/${metadata.split} at ${metadata.height}x${metadata.width}`, n, req);
  try {
    fs.ftruncateSync(fd, n * size);
    await req.fill((index, pixels) => {
      if (!(Number.isInteger(index) && index >= 0 && index < n) || seen[index]) throw new Error(`cache fill produced image ${index} twice or out of range [0, ${n})`);
      if (pixels.length !== size) throw new Error(`cache fill produced ${pixels.length} bytes for image ${index}, expected ${size}`);
      fs.writeSync(fd, pixels, 0, size, index * size);
      seen[index] = 1;
      written++;
      progress.increment();
    });
    if (written !== n) throw new Error(`cache fill produced ${written} of ${n} images`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, paths.data);
  } catch (err) {
    try { fs.closeSync(fd); } catch { /* already closed after a successful fsync */ }
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    progress.stop();
  }
  writeFileAtomic(paths.meta, `${JSON.stringify(metadata, null, 2)}\n`);
}
