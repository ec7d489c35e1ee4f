/**
 * The safetensors file format (huggingface/safetensors, `docs/source/index.mdx` "Format"): an
 * unsigned 64-bit little-endian header length N, N bytes of JSON header, then the raw tensor bytes.
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets into
 * the byte buffer after the header) and may hold `__metadata__`, a string → string map.
 *
 * Laid out as the reference writer does (`safetensors/src/tensor.rs` prepare/serialize): tensors
 * ordered by dtype, wider first, then by name, so every tensor starts at a multiple of its element
 * size; the header padded with spaces to a multiple of 8 so the data starts 8-aligned (readers may
 * then map tensors without copying).
 */
import * as os from 'node:os';

export type SafetensorsDtype = 'F32' | 'I64';

export interface SafetensorsTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array | BigInt64Array;
}

const ELEMENT_BYTES: Record<SafetensorsDtype, number> = { F32: 4, I64: 8 };
const METADATA_KEY = '__metadata__';

function dtypeOf(data: Float32Array | BigInt64Array): SafetensorsDtype {
  return data instanceof Float32Array ? 'F32' : 'I64';
}

/** Serialises `tensors` (unique names) and optional string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  // Typed arrays are copied byte for byte; the format is little-endian.
  if (os.endianness() !== 'LE') throw new Error('encodeSafetensors: only little-endian hosts are supported');
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === METADATA_KEY || t.name === '') throw new Error(`encodeSafetensors: invalid tensor name '${t.name}'`);
    if (seen.has(t.name)) throw new Error(`encodeSafetensors: tensor '${t.name}' appears twice`);
    seen.add(t.name);
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0) || numel !== t.data.length) {
      throw new Error(`encodeSafetensors: tensor '${t.name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
  }
  const ordered = [...tensors].sort((a, b) => ELEMENT_BYTES[dtypeOf(b.data)] - ELEMENT_BYTES[dtypeOf(a.data)] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Entries joined by hand: a JS object would move integer-like names ('0') to the front.
  const entries: string[] = [];
  const meta = Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1));
  if (meta.length > 0) entries.push(`${JSON.stringify(METADATA_KEY)}:{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const t of ordered) {
    entries.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: dtypeOf(t.data), shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] })}`);
    offset += t.data.byteLength;
  }
  let json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of ordered) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
