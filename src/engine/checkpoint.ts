import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { UserError } from '../errors';
import type { RngState } from '../data/rng';
import type { SamplerState } from '../data/sampler';
import { writeFileAtomic } from '../util/atomic';
import type { HostData, StateStore } from './state-store';

/**
 * Checkpoint file layout (little-endian):
 *   bytes 0..7   magic "SSLBCKPT"
 *   bytes 8..11  format version (uint32)
 *   bytes 12..15 header length H (uint32)
 *   16..16+H     JSON header: CheckpointHeader (UTF-8)
 *   then zero padding to a multiple of 8, then the raw tensor data; each entry's offset is
 *   relative to the start of the data section, and crc32 covers the whole data section.
 */
const MAGIC = 'SSLBCKPT';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointMeta {
  step: number;
  epoch: number;
  rng: RngState;
  sampler: SamplerState | null;
  /** Hash of the run identity (config) the state belongs to. */
  configHash: string;
  /** Small JSON-safe extras of the run loop (e.g. best accuracy so far). */
  extra?: Record<string, unknown>;
}

export interface CheckpointEntry {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  offset: number;
  byteLength: number;
}

interface CheckpointHeader extends CheckpointMeta {
  entries: CheckpointEntry[];
  dataBytes: number;
  crc32: number;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  tensors: Map<string, { dtype: 'float32' | 'int64'; shape: number[]; data: HostData }>;
}

const align8 = (n: number) => (n + 7) & ~7;

/** Writes every entry of `store` plus `meta` to `file` atomically (a reader never sees half a file). */
export function saveCheckpoint(file: string, store: StateStore, meta: CheckpointMeta): void {
  const entries: CheckpointEntry[] = [];
  let offset = 0;
  for (const e of store.entries) {
    const data = store.data(e.name);
    entries.push({ name: e.name, dtype: e.dtype, shape: [...e.shape], offset, byteLength: data.byteLength });
    offset += align8(data.byteLength);
  }
  const body = new Uint8Array(offset);
  for (const entry of entries) {
    const d = store.data(entry.name);
    body.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), entry.offset);
  }
  const header: CheckpointHeader = { ...meta, entries, dataBytes: offset, crc32: zlib.crc32(body) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align8(16 + json.length);
  const out = new Uint8Array(dataStart + body.length);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(body, dataStart);
  writeFileAtomic(file, out);
}

/**
 * Reads a checkpoint; a file that is not one, is truncated or corrupt is a one-line UserError, and
 * so is one written for another config when `expect.configHash` is given.
 */
export function loadCheckpoint(file: string, expect: { configHash?: string } = {}): Checkpoint {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (bytes.length < 16 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new UserError(`${file}: not an ssl-bench checkpoint (bad magic)`);
  const version = bytes.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) throw new UserError(`${file}: checkpoint format version ${version}; this ssl-bench reads version ${CHECKPOINT_VERSION}`);
  const headerLength = bytes.readUInt32LE(12);
  if (16 + headerLength > bytes.length) throw new UserError(`${file}: checkpoint is truncated (header needs ${16 + headerLength} bytes, file has ${bytes.length})`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 16, 16 + headerLength)) as CheckpointHeader;
  } catch {
    throw new UserError(`${file}: checkpoint header is not valid JSON (corrupt file)`);
  }
  const dataStart = align8(16 + headerLength);
  if (bytes.length < dataStart + header.dataBytes) {
    throw new UserError(`${file}: checkpoint is truncated (${bytes.length} bytes, ${dataStart + header.dataBytes} expected)`);
  }
  if (expect.configHash !== undefined && header.configHash !== expect.configHash) {
    throw new UserError(`${file}: checkpoint belongs to config ${header.configHash}, this run is ${expect.configHash}; resume with the same config or start a new run`);
  }
  const body = bytes.subarray(dataStart, dataStart + header.dataBytes);
  if (zlib.crc32(body) !== header.crc32) throw new UserError(`${file}: checkpoint data is corrupt (CRC mismatch)`);
  const tensors: Checkpoint['tensors'] = new Map();
  for (const e of header.entries) {
    // Copy into a fresh, aligned buffer: the tensors outlive `bytes` and typed arrays need alignment.
    const raw = new Uint8Array(e.byteLength);
    raw.set(body.subarray(e.offset, e.offset + e.byteLength));
    const data = e.dtype === 'int64' ? new BigInt64Array(raw.buffer) : new Float32Array(raw.buffer);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  const { entries: _entries, dataBytes: _dataBytes, crc32: _crc, ...meta } = header;
  return { meta, tensors };
}

/**
 * Checks that `ckpt` holds exactly the state entries of `store` with the same dtypes and shapes,
 * and copies the values in. Mismatches are listed in one line: missing, unexpected, different.
 */
export function restoreState(store: StateStore, ckpt: Checkpoint, file: string): void {
  const problems: string[] = [];
  const fmt = (dtype: string, shape: readonly number[]) => `${dtype}[${shape.join(',')}]`;
  for (const e of store.entries) {
    const t = ckpt.tensors.get(e.name);
    if (!t) problems.push(`missing '${e.name}'`);
    else if (t.dtype !== e.dtype || t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      problems.push(`'${e.name}' is ${fmt(t.dtype, t.shape)} in the checkpoint, ${fmt(e.dtype, e.shape)} in the model`);
    }
  }
  const known = new Set(store.entries.map((e) => e.name));
  for (const name of ckpt.tensors.keys()) if (!known.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) {
    const shown = problems.slice(0, 5).join('; ');
    throw new UserError(`${file}: checkpoint does not match the model (${problems.length} problem${problems.length > 1 ? 's' : ''}): ${shown}${problems.length > 5 ? '; …' : ''}`);
  }
  for (const e of store.entries) {
    const src = ckpt.tensors.get(e.name)!.data;
    (store.data(e.name) as Float32Array).set(src as Float32Array);
  }
}
