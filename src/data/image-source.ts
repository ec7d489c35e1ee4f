import * as fs from 'node:fs';
import { UserError } from '../errors';

/**
 * The one read API every dataset reader returns: uint8 images in HWC order plus labels and
 * metadata. Small datasets live in memory (`InMemoryImageSet`); large ones are read on demand by
 * positional reads from a fixed-record file (`FileBackedImageSource`, e.g. the decoded cache).
 */
export interface ImageSource {
  readonly name: string;
  readonly split: string;
  /** Number of images. */
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Class names; label `i` means `classes[i]`. */
  readonly classes: readonly string[];
  /** One label per image; -1 for unlabeled images (STL-10 `unlabeled`). */
  readonly labels: Int32Array;
  /**
   * Copies images `indices[k]` into `out` (length >= indices.length * H * W * C), back to back
   * in HWC order, and returns `out` (a fresh buffer when omitted).
   */
  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array;
  /**
   * Where the images lie as raw HWC records of one file, so another thread can read them itself
   * (the training-step prefetch worker); null when reading needs this object (pixels in memory,
   * records that need decoding, several files).
   */
  fileRecords(): FileRecords | null;
  /** Releases file handles; reading afterwards throws. */
  close(): void;
}

/**
 * Image i of a source is the `imageBytes`-byte record at `dataOffset + record(i) * imageBytes` of
 * `file`, where record(i) is `recordOf[i]`, or i itself when `recordOf` is null.
 */
export interface FileRecords {
  file: string;
  dataOffset: number;
  imageBytes: number;
  /** Records in the file (the range record indices are checked against). */
  records: number;
  recordOf: Int32Array | null;
}

/**
 * Fills `target` from `fd` at byte `position` (record `index` of `file`) and returns null, or
 * returns the one-line reason it could not. Self-contained (no imports, `fs` passed in): the
 * prefetch worker runs its source text, so both threads report a bad file in the same words.
 */
export function readRecordAt(
  fs: { readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number },
  fd: number, file: string, target: Uint8Array, position: number, index: number,
): string | null {
  let done = 0;
  while (done < target.length) {
    let got: number;
    try {
      got = fs.readSync(fd, target, done, target.length - done, position + done);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return `${file}: cannot read image ${index} (${e.code || e.message}); check the disk, or delete the file if it is a decoded cache (it is rebuilt on the next run)`;
    }
    if (got === 0) {
      return `${file}: ends at byte ${position + done}, inside image ${index}: the file was truncated after it was opened; delete it if it is a decoded cache (it is rebuilt on the next run)`;
    }
    done += got;
  }
  return null;
}

/** An ImageSource whose pixels are all in memory (N x H x W x C, uint8). */
export interface ImageSet extends ImageSource {
  readonly images: Uint8Array;
}

export interface ImageShape {
  name: string;
  split: string;
  height: number;
  width: number;
  channels: number;
  classes: readonly string[];
}

export function imageBytes(src: { height: number; width: number; channels: number }): number {
  return src.height * src.width * src.channels;
}

function batchBuffer(src: ImageSource, count: number, out: Uint8Array | undefined): Uint8Array {
  const need = count * imageBytes(src);
  if (!out) return new Uint8Array(need);
  if (out.length < need) throw new RangeError(`readBatch: output holds ${out.length} bytes, ${count} images need ${need}`);
  return out;
}

function checkIndex(src: ImageSource, index: number): void {
  if (!(Number.isInteger(index) && index >= 0 && index < src.n)) {
    throw new RangeError(`${src.name}/${src.split}: image index ${index} out of range [0, ${src.n})`);
  }
}

export class InMemoryImageSet implements ImageSet {
  readonly name: string;
  readonly split: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: readonly string[];
  readonly labels: Int32Array;
  readonly images: Uint8Array;

  constructor(shape: ImageShape, images: Uint8Array, labels: Int32Array) {
    this.name = shape.name; this.split = shape.split;
    this.height = shape.height; this.width = shape.width; this.channels = shape.channels;
    this.classes = [...shape.classes];
    this.n = labels.length;
    if (images.length !== this.n * imageBytes(this)) {
      throw new RangeError(`${this.name}/${this.split}: ${images.length} pixel bytes for ${this.n} images of ${this.height}x${this.width}x${this.channels}`);
    }
    this.images = images;
    this.labels = labels;
  }

  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
    const size = imageBytes(this);
    const dst = batchBuffer(this, indices.length, out);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      checkIndex(this, i);
      dst.set(this.images.subarray(i * size, (i + 1) * size), k * size);
    }
    return dst;
  }

  fileRecords(): null {
    return null;
  }

  close(): void {
    // Memory is reclaimed by the garbage collector; nothing to release.
  }
}

/**
 * Fixed-size records in a file: record i starts at `dataOffset + i * recordBytes`. `decodeRecord`
 * turns a record's bytes into one HWC image (identity for the decoded cache; a transpose for
 * STL-10's column-major planes).
 */
export interface RecordLayout {
  file: string;
  dataOffset: number;
  recordBytes: number;
  decodeRecord?: (record: Uint8Array, hwc: Uint8Array) => void;
}

export class FileBackedImageSource implements ImageSource {
  readonly name: string;
  readonly split: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: readonly string[];
  readonly labels: Int32Array;
  private fd: number | null;
  private readonly layout: RecordLayout;
  private scratch: Uint8Array;

  constructor(shape: ImageShape, layout: RecordLayout, labels: Int32Array) {
    this.name = shape.name; this.split = shape.split;
    this.height = shape.height; this.width = shape.width; this.channels = shape.channels;
    this.classes = [...shape.classes];
    this.labels = labels;
    this.n = labels.length;
    this.layout = layout;
    if (!layout.decodeRecord && layout.recordBytes !== imageBytes(this)) {
      throw new RangeError(`${layout.file}: record of ${layout.recordBytes} bytes cannot hold a ${this.height}x${this.width}x${this.channels} image`);
    }
    this.scratch = new Uint8Array(layout.recordBytes);
    this.fd = fs.openSync(layout.file, 'r');
  }

  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
    if (this.fd === null) throw new Error(`${this.layout.file}: read after close()`);
    const size = imageBytes(this);
    const dst = batchBuffer(this, indices.length, out);
    const { recordBytes, dataOffset, decodeRecord } = this.layout;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      checkIndex(this, i);
      const target = decodeRecord ? this.scratch : dst.subarray(k * size, (k + 1) * size);
      const problem = readRecordAt(fs, this.fd, this.layout.file, target, dataOffset + i * recordBytes, i);
      if (problem !== null) throw new UserError(problem);
      if (decodeRecord) decodeRecord(this.scratch, dst.subarray(k * size, (k + 1) * size));
    }
    return dst;
  }

  fileRecords(): FileRecords | null {
    if (this.layout.decodeRecord || this.fd === null) return null;
    return { file: this.layout.file, dataOffset: this.layout.dataOffset, imageBytes: this.layout.recordBytes, records: this.n, recordOf: null };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** A view of `base` restricted to `indices` (in that order); labels follow the view. */
export class IndexedImageSource implements ImageSource {
  readonly name: string;
  readonly split: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: readonly string[];
  readonly labels: Int32Array;

  constructor(readonly base: ImageSource, readonly indices: Int32Array) {
    this.name = base.name; this.split = base.split;
    this.height = base.height; this.width = base.width; this.channels = base.channels;
    this.classes = base.classes;
    this.n = indices.length;
    this.labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      checkIndex(base, indices[k]);
      this.labels[k] = base.labels[indices[k]];
    }
  }

  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
    const mapped = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      checkIndex(this, indices[k]);
      mapped[k] = this.indices[indices[k]];
    }
    return this.base.readBatch(mapped, out);
  }

  fileRecords(): FileRecords | null {
    const base = this.base.fileRecords();
    if (base === null) return null;
    const baseOf = base.recordOf;
    return { ...base, recordOf: baseOf === null ? this.indices : this.indices.map((i) => baseOf[i]) };
  }

  close(): void {
    this.base.close();
  }
}

/** Sources with equal image shape and classes, one after another (STL-10 `train+unlabeled`). */
export class ConcatImageSource implements ImageSource {
  readonly name: string;
  readonly split: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: readonly string[];
  readonly labels: Int32Array;
  private readonly starts: number[];

  constructor(split: string, readonly parts: ImageSource[]) {
    const first = parts[0];
    if (!first) throw new RangeError('ConcatImageSource needs at least one part');
    for (const p of parts) {
      if (p.height !== first.height || p.width !== first.width || p.channels !== first.channels) {
        throw new RangeError(`cannot concatenate ${p.name}/${p.split} (${p.height}x${p.width}x${p.channels}) with ${first.name}/${first.split} (${first.height}x${first.width}x${first.channels})`);
      }
    }
    this.name = first.name; this.split = split;
    this.height = first.height; this.width = first.width; this.channels = first.channels;
    this.classes = first.classes;
    this.starts = [];
    let total = 0;
    for (const p of parts) { this.starts.push(total); total += p.n; }
    this.n = total;
    this.labels = new Int32Array(total);
    parts.forEach((p, j) => this.labels.set(p.labels, this.starts[j]));
  }

  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
    const size = imageBytes(this);
    const dst = batchBuffer(this, indices.length, out);
    const one = [0];
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      checkIndex(this, i);
      let j = this.parts.length - 1;
      while (this.starts[j] > i) j--;
      one[0] = i - this.starts[j];
      this.parts[j].readBatch(one, dst.subarray(k * size, (k + 1) * size));
    }
    return dst;
  }

  fileRecords(): null {
    return null;
  }

  close(): void {
    for (const p of this.parts) p.close();
  }
}
