import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { UserError } from '../errors';

/**
 * The idx format of MNIST / Fashion-MNIST: a 4-byte magic (0, 0, type 0x08 = unsigned byte,
 * number of dimensions), one big-endian uint32 per dimension, then the data. Files may be
 * gzipped; that is detected from the gzip magic bytes, not the file name.
 */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Reads a file, transparently gunzipping it when it starts with the gzip magic bytes. */
export function readMaybeGzipped(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1]) {
    try {
      return zlib.gunzipSync(raw);
    } catch (err) {
      throw new UserError(`${file}: corrupt gzip data (${(err as Error).message}); re-download the file`);
    }
  }
  return raw;
}

function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** Parses an unsigned-byte idx file with exactly `expectedDims` dimensions. */
export function readIdxUint8(file: string, expectedDims: number): IdxArray {
  const buf = readMaybeGzipped(file);
  const expectedMagic = 0x00000800 | expectedDims;
  const what = expectedDims === 1 ? 'labels' : `images, ${expectedDims} dimensions`;
  if (buf.length < 4) {
    throw new UserError(`${file}: byte 0: file is ${buf.length} bytes, too short for an idx header; expected magic ${hex32(expectedMagic)} (unsigned-byte ${what})`);
  }
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new UserError(`${file}: byte 0: bad idx magic ${hex32(magic)}, expected ${hex32(expectedMagic)} (unsigned-byte ${what})`);
  }
  const headerBytes = 4 + 4 * expectedDims;
  if (buf.length < headerBytes) {
    throw new UserError(`${file}: byte ${buf.length}: idx header truncated; it needs ${headerBytes} bytes`);
  }
  const dims: number[] = [];
  for (let d = 0; d < expectedDims; d++) dims.push(buf.readUInt32BE(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - headerBytes;
  if (have !== count) {
    throw new UserError(`${file}: byte ${buf.length}: idx data is ${have} bytes but the header (${dims.join('x')}) needs ${count}; the file is ${have < count ? 'truncated' : 'followed by extra bytes'}`);
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, count) };
}
