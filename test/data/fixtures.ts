import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../../src/errors';

/** A fresh temporary folder for one test file's fixtures. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ssl-bench-${prefix}-`));
}

/** A recognisable pixel value for image `i`, row `y`, column `x`, channel `c`. */
export function pixel(i: number, y: number, x: number, c: number): number {
  return (i * 7 + y * 3 + x * 5 + c * 11) & 255;
}

/** The expected HWC bytes of image `i` of size h x w x ch. */
export function expectedHwc(i: number, h: number, w: number, ch: number): Uint8Array {
  const out = new Uint8Array(h * w * ch);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) out[(y * w + x) * ch + c] = pixel(i, y, x, c);
  return out;
}

/** CIFAR-10 binary records: label byte, then R, G, B planes of 32x32, row-major. */
export function cifarBatch(labels: number[], firstImage = 0): Buffer {
  const rec = 1 + 3 * 1024;
  const buf = Buffer.alloc(labels.length * rec);
  labels.forEach((label, r) => {
    buf[r * rec] = label;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) buf[r * rec + 1 + c * 1024 + y * 32 + x] = pixel(firstImage + r, y, x, c);
  });
  return buf;
}

/** idx3 images (n x h x w) and idx1 labels. */
export function idxImages(n: number, h: number, w: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0); head.writeUInt32BE(n, 4); head.writeUInt32BE(h, 8); head.writeUInt32BE(w, 12);
  const data = Buffer.alloc(n * h * w);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(i * h + y) * w + x] = pixel(i, y, x, 0);
  return Buffer.concat([head, data]);
}

export function idxLabels(labels: number[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(0x801, 0); head.writeUInt32BE(labels.length, 4);
  return Buffer.concat([head, Buffer.from(labels)]);
}

export function writeFashionMnist(dir: string, split: 'train' | 'test', labels: number[], gzip: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const prefix = split === 'train' ? 'train' : 't10k';
  const put = (name: string, data: Buffer) => fs.writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? zlib.gzipSync(data) : data);
  put(`${prefix}-images-idx3-ubyte`, idxImages(labels.length, 28, 28));
  put(`${prefix}-labels-idx1-ubyte`, idxLabels(labels));
}

/** STL-10 X file: per image 3 planes of 96x96 in column-major order (byte c*9216 + x*96 + y). */
export function stl10Images(n: number, firstImage = 0): Buffer {
  const buf = Buffer.alloc(n * 3 * 9216);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let x = 0; x < 96; x++) for (let y = 0; y < 96; y++) buf[i * 27648 + c * 9216 + x * 96 + y] = pixel(firstImage + i, y, x, c);
  return buf;
}

/** Runs `fn` and returns the message of the UserError it throws (fails if it throws anything else). */
export async function userErrorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
  throw new Error('expected a UserError, nothing was thrown');
}

/** A minimal ustar writer, independent of the extractor under test. */
export interface TarEntry {
  name: string;
  type?: '0' | '2' | '5' | '1';
  data?: Buffer;
  linkname?: string;
}

export function tar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write(e.type === '5' ? '0000755\0' : '0000644\0', 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    h.write('00000000000\0', 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h.write(e.type ?? '0', 156, 'ascii');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h);
    if ((e.type ?? '0') === '0') {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
