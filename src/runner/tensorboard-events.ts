/**
 * TensorBoard's event-file format, the part scalars need, written and read without TensorFlow.
 *
 * A file is a sequence of TFRecords (tensorflow/core/lib/io/record_writer.cc): uint64 LE length,
 * uint32 LE masked CRC32C of those 8 bytes, the data, uint32 LE masked CRC32C of the data; masked
 * = rotate right by 15 plus 0xa282ead8 (tensorflow/core/lib/hash/crc32c.h Mask). Each record is
 * an `Event` protobuf (tensorflow/core/util/event.proto): wall_time (1, double), step (2, int64),
 * and one of file_version (3, string; the first event says "brain.Event:2") or summary (5,
 * Summary { repeated Value value = 1 }, Value { string tag = 1; float simple_value = 2 }).
 */

const CASTAGNOLI_REVERSED = 0x82f63b78;
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REVERSED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as iSCSI / TFRecord use it. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export const FILE_VERSION = 'brain.Event:2';

export type TensorboardEvent =
  | { wallTime: number; step: number; fileVersion: string }
  | { wallTime: number; step: number; scalars: { tag: string; value: number }[] };

// --- protobuf wire format (varint, fixed64, fixed32, length-delimited) --------------------------

function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tensorboard: ${value} is not a non-negative integer`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, body: Uint8Array | number[]): number[] {
  return [(field << 3) | 2, ...varint(body.length), ...body];
}

function fixed(bytes: number, write: (view: DataView) => void): number[] {
  const view = new DataView(new ArrayBuffer(bytes));
  write(view);
  return [...new Uint8Array(view.buffer)];
}

/** The Event protobuf's bytes. */
export function encodeEvent(event: TensorboardEvent): Uint8Array {
  const out: number[] = [(1 << 3) | 1, ...fixed(8, (v) => v.setFloat64(0, event.wallTime, true))];
  if (event.step !== 0) out.push(2 << 3, ...varint(event.step));
  if ('fileVersion' in event) {
    out.push(...lengthDelimited(3, [...Buffer.from(event.fileVersion, 'utf8')]));
  } else {
    const values = event.scalars.flatMap(({ tag, value }) => lengthDelimited(1, [
      ...lengthDelimited(1, [...Buffer.from(tag, 'utf8')]),
      (2 << 3) | 5, ...fixed(4, (v) => v.setFloat32(0, value, true)),
    ]));
    out.push(...lengthDelimited(5, values));
  }
  return Uint8Array.from(out);
}

/** One TFRecord around `data`. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

export function encodeEventFile(events: readonly TensorboardEvent[]): Uint8Array {
  return Buffer.concat(events.map((e) => frameRecord(encodeEvent(e))));
}

// --- reading back (the writer's own resume needs the wall times it wrote) -----------------------

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const b = this.bytes[this.at++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
  }

  /** A reader over the length-delimited field that starts here. */
  sub(): Reader {
    const length = this.varint();
    if (this.at + length > this.end) throw new Error('truncated field');
    const r = new Reader(this.bytes, this.at + length);
    r.at = this.at;
    return r;
  }

  take(n: number): Uint8Array {
    if (this.at + n > this.end) throw new Error('truncated field');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** Calls `on(field, wireType)` per field; `on` returns false to skip the field's value. */
  fields(on: (field: number, wire: number) => boolean): void {
    while (this.at < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (on(field, wire)) continue;
      if (wire === 0) this.varint();
      else if (wire === 1) this.take(8);
      else if (wire === 2) this.take(this.varint());
      else if (wire === 5) this.take(4);
      else throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function decodeEvent(data: Uint8Array): TensorboardEvent {
  const r = new Reader(data);
  let wallTime = 0;
  let step = 0;
  let fileVersion: string | null = null;
  const scalars: { tag: string; value: number }[] = [];
  r.fields((field, wire) => {
    if (field === 1 && wire === 1) wallTime = view(r.take(8)).getFloat64(0, true);
    else if (field === 2 && wire === 0) step = r.varint();
    else if (field === 3 && wire === 2) fileVersion = Buffer.from(r.take(r.varint())).toString('utf8');
    else if (field === 5 && wire === 2) {
      const summary = r.sub();
      summary.fields((f, w) => {
        if (f !== 1 || w !== 2) return false;
        const value = summary.sub();
        let tag = '';
        let simple: number | null = null;
        value.fields((vf, vw) => {
          if (vf === 1 && vw === 2) tag = Buffer.from(value.take(value.varint())).toString('utf8');
          else if (vf === 2 && vw === 5) simple = view(value.take(4)).getFloat32(0, true);
          else return false;
          return true;
        });
        if (simple !== null) scalars.push({ tag, value: simple });
        summary.at = value.end;
        return true;
      });
      r.at = summary.end;
    } else return false;
    return true;
  });
  return fileVersion !== null ? { wallTime, step, fileVersion } : { wallTime, step, scalars };
}

/** The events of a file written by encodeEventFile; throws on a bad CRC or a truncated record. */
export function decodeEventFile(bytes: Uint8Array): TensorboardEvent[] {
  const events: TensorboardEvent[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`truncated record header at byte ${at}`);
    const head = view(bytes.subarray(at, at + 12));
    if (head.getUint32(8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error(`bad length CRC at byte ${at}`);
    const length = Number(head.getBigUint64(0, true));
    if (at + 12 + length + 4 > bytes.length) throw new Error(`truncated record at byte ${at}`);
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (view(bytes.subarray(at + 12 + length, at + 16 + length)).getUint32(0, true) !== maskedCrc32c(data)) throw new Error(`bad data CRC at byte ${at}`);
    events.push(decodeEvent(data));
    at += 16 + length;
  }
  return events;
}
