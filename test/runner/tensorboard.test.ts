/**
 * TensorBoard event files: CRC-32C known answers, the Event protobuf and TFRecord framing against
 * bytes written out by hand, the run writer's rewrite/resume behaviour, and the files read back by
 * a reader that is not ours (scripts/read_tfevents.py: TensorBoard's loader where installed, else
 * python3-protobuf decoding messages declared from event.proto, with its own bitwise CRC-32C).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EpochRow } from '../../src/runner/metrics-csv';
import { EVENTS_FILE_PREFIX, TensorboardScalars, rowScalars } from '../../src/runner/tensorboard';
import { crc32c, decodeEventFile, encodeEvent, frameRecord, maskedCrc32c } from '../../src/runner/tensorboard-events';

const PYTHON = '/usr/bin/python3';
const READER = path.join(__dirname, '../../scripts/read_tfevents.py');
const hasProtobuf = spawnSync(PYTHON, ['-c', 'import google.protobuf'], { encoding: 'utf8' }).status === 0;
if (!hasProtobuf) console.warn('SKIPPED: TensorBoard event files read by Python (no google.protobuf for /usr/bin/python3; apt-get install python3-protobuf)');
const itPython = hasProtobuf ? it : it.skip;

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'ascii'));

describe('CRC-32C', () => {
  it('known answers: "123456789" and the RFC 3720 B.4 vectors', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('masked as TensorFlow does: rotate right by 15, add 0xa282ead8 (mod 2^32)', () => {
    const c = 0xe3069283n;
    const rotated = ((c >> 15n) | (c << 17n)) & 0xffffffffn;
    expect(BigInt(maskedCrc32c(ascii('123456789')))).toBe((rotated + 0xa282ead8n) & 0xffffffffn);
  });
});

describe('Event protobuf and TFRecord framing', () => {
  it('a scalar event, byte for byte', () => {
    const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [{ tag: 'lr', value: 0.25 }, { tag: 'loss', value: -2 }] });
    const expected = [
      0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // wall_time = 1.5 (double LE)
      0x10, 0xac, 0x02, // step = 300 (varint)
      0x2a, 24, // summary, 24 bytes
      0x0a, 9, 0x0a, 2, 0x6c, 0x72, 0x15, 0, 0, 0x80, 0x3e, // value { tag "lr", simple_value 0.25 }
      0x0a, 11, 0x0a, 4, 0x6c, 0x6f, 0x73, 0x73, 0x15, 0, 0, 0, 0xc0, // value { tag "loss", simple_value -2 }
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it('the file_version event (step 0 omitted, as proto3 does)', () => {
    expect(Array.from(encodeEvent({ wallTime: 0, step: 0, fileVersion: 'brain.Event:2' })))
      .toEqual([0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 13, ...ascii('brain.Event:2')]);
  });

  it('a record: u64 LE length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = ascii('123456789');
    const rec = frameRecord(data);
    expect(Array.from(rec.subarray(0, 8))).toEqual([9, 0, 0, 0, 0, 0, 0, 0]);
    const u32 = (at: number) => new DataView(rec.buffer, rec.byteOffset).getUint32(at, true);
    expect(u32(8)).toBe(maskedCrc32c(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0)));
    expect(Array.from(rec.subarray(12, 21))).toEqual(Array.from(data));
    expect(u32(21)).toBe(maskedCrc32c(data));
    expect(rec.length).toBe(25);
    rec[14] ^= 1;
    expect(() => decodeEventFile(rec)).toThrow('bad data CRC at byte 0');
  });
});

function row(epoch: number, over: Partial<EpochRow> = {}): EpochRow {
  return {
    epoch, steps: 10, loss: 5 - epoch / 4, lr: 0.06 * (1 - epoch / 10), eval: { knn_top1: 0.1 * epoch, knn_top5: 0.3 + 0.05 * epoch },
    epoch_seconds: 12.5, data_seconds: 0.25, eval_seconds: 2, images_per_second: 640.5, ...over,
  };
}

describe('TensorboardScalars (run writer)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-tb-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const clock = (start: number) => {
    let t = start;
    return () => new Date((t += 1000));
  };
  const eventsIn = (d: string) => fs.readdirSync(d).filter((n) => n.startsWith(EVENTS_FILE_PREFIX));

  it('one scalar per metrics.csv value at the global step; the floor row has no loss/lr', () => {
    expect(rowScalars(row(2))).toEqual([
      { tag: 'epoch', value: 2 }, { tag: 'loss', value: 4.5 }, { tag: 'lr', value: 0.06 * 0.8 }, { tag: 'knn_top1', value: 0.2 },
      { tag: 'knn_top5', value: 0.4 }, { tag: 'epoch_seconds', value: 12.5 }, { tag: 'data_seconds', value: 0.25 },
      { tag: 'eval_seconds', value: 2 }, { tag: 'images_per_second', value: 640.5 },
    ]);
    expect(rowScalars(row(0, { steps: 0, loss: null, lr: null, eval: { knn_top1: 0.5 } })).map((s) => s.tag))
      .toEqual(['epoch', 'knn_top1', 'epoch_seconds', 'data_seconds', 'eval_seconds', 'images_per_second']);
  });

  it('names the file events.out.tfevents.<seconds>.<host>; resume keeps the file and restored wall times, redone epochs appear once', () => {
    const first = TensorboardScalars.open(dir, [], clock(1_700_000_000_000));
    expect(path.basename(first.file)).toBe(`events.out.tfevents.1700000001.${os.hostname()}`);
    const rows = [row(1), row(2), row(3)];
    for (let i = 1; i <= rows.length; i++) first.write(rows.slice(0, i));
    const before = decodeEventFile(fs.readFileSync(first.file));
    expect(before.map((e) => e.step)).toEqual([0, 10, 20, 30]);
    expect(before.map((e) => e.wallTime)).toEqual([1_700_000_001, 1_700_000_002, 1_700_000_003, 1_700_000_004]);

    // Killed after epoch 3 with the checkpoint at epoch 2: resume restores rows 1-2 and redoes 3
    // (the clock's first tick goes to open()).
    const resumed = TensorboardScalars.open(dir, rows.slice(0, 2), clock(1_800_000_000_000));
    expect(resumed.file).toBe(first.file);
    resumed.write(rows.slice(0, 2));
    resumed.write([...rows.slice(0, 2), row(3, { loss: 1.25 }), row(4)]);
    expect(eventsIn(dir)).toEqual([path.basename(first.file)]);
    const after = decodeEventFile(fs.readFileSync(first.file));
    expect(after.map((e) => e.step)).toEqual([0, 10, 20, 30, 40]);
    expect(after.map((e) => e.wallTime)).toEqual([1_700_000_001, 1_700_000_002, 1_700_000_003, 1_800_000_002, 1_800_000_003]);
    const third = after[3];
    expect('scalars' in third && third.scalars.find((s) => s.tag === 'loss')!.value).toBe(1.25);
  });

  itPython('the files read by Python (not our reader): file_version first, every scalar at its step, float32 values', () => {
    const w = TensorboardScalars.open(dir, [], clock(1_700_000_000_000));
    const rows = [row(0, { steps: 0, loss: null, lr: null, eval: { knn_top1: 0.25 } }), row(1), row(2, { eval: { knn_top1: 0.6, knn_top5: 0.9, online_linear_top1: 0.55 } })];
    w.write(rows);
    const run = spawnSync(PYTHON, [READER, w.file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { reader: string; files: { events: { wall_time: number; step: number; file_version?: string; scalars?: Record<string, number> }[] }[] };
    expect(['tensorboard', 'protobuf']).toContain(out.reader);
    const events = out.files[0].events;
    expect(events[0]).toEqual({ wall_time: 1_700_000_001, step: 0, file_version: 'brain.Event:2' });
    expect(events.slice(1).map((e) => [e.step, e.wall_time])).toEqual([[0, 1_700_000_002], [10, 1_700_000_003], [20, 1_700_000_004]]);
    rows.forEach((r, i) => {
      expect(events[i + 1].scalars).toEqual(Object.fromEntries(rowScalars(r).map(({ tag, value }) => [tag, Math.fround(value)])));
    });
    // A corrupted byte is caught by the Python reader's CRC check.
    const bad = fs.readFileSync(w.file);
    bad[bad.length - 6] ^= 0x40;
    fs.writeFileSync(w.file, bad);
    const broken = spawnSync(PYTHON, [READER, w.file], { encoding: 'utf8' });
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toMatch(/bad data CRC|crc/i);
  });
});
