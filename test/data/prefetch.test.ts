/**
 * BatchPrefetcher reads a file-backed source's batches on a worker thread: the bytes equal the
 * source's own readBatch (direct, through an index view, across prefetch hits and misses), a bad
 * file gives the main-thread UserError word for word, and an idle worker does not keep the
 * process alive.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../src/errors';
import { BatchPrefetcher, peekNextBatch } from '../../src/data/prefetch';
import { ConcatImageSource, FileBackedImageSource, IndexedImageSource, InMemoryImageSet, type ImageShape } from '../../src/data/image-source';
import { EpochSampler } from '../../src/data/sampler';
import { expectedHwc, tempDir } from './fixtures';

const SHAPE: ImageShape = { name: 'toy', split: 'train', height: 4, width: 3, channels: 3, classes: ['a', 'b'] };
const SIZE = 4 * 3 * 3;
const N = 20;
const OFFSET = 7;

let dir: string;
let file: string;
const open: Array<{ close(): unknown }> = [];

beforeEach(() => {
  dir = tempDir('prefetch');
  file = path.join(dir, 'records.u8');
  const bytes = new Uint8Array(OFFSET + N * SIZE);
  for (let i = 0; i < N; i++) bytes.set(expectedHwc(i, 4, 3, 3), OFFSET + i * SIZE);
  fs.writeFileSync(file, bytes);
});

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function source(): FileBackedImageSource {
  const s = new FileBackedImageSource(SHAPE, { file, dataOffset: OFFSET, recordBytes: SIZE }, new Int32Array(N));
  open.push(s);
  return s;
}

function prefetcher(src: { fileRecords(): ReturnType<FileBackedImageSource['fileRecords']> }, batch: number): BatchPrefetcher {
  const p = BatchPrefetcher.for(src, batch);
  if (p === null) throw new Error('expected a prefetcher');
  open.push(p);
  return p;
}

const batch = (...i: number[]) => Int32Array.from(i);

test('prefetched and directly read batches equal readBatch, hits and misses alike', async () => {
  const src = source();
  const p = prefetcher(src, 3);
  // First take: nothing prefetched, read now.
  expect(await p.take(batch(4, 0, 19))).toEqual(src.readBatch([4, 0, 19]));
  p.prefetch(batch(1, 2, 3));
  expect(await p.take(batch(1, 2, 3))).toEqual(src.readBatch([1, 2, 3]));
  // A prefetched batch other than the one asked for (a resume moved the sampler) is dropped.
  p.prefetch(batch(5, 6, 7));
  expect(await p.take(batch(8, 9, 10))).toEqual(src.readBatch([8, 9, 10]));
  // The batch a step runs on stays intact while the next one is read into the other buffer.
  const current = await p.take(batch(11, 12, 13));
  const copy = current.slice();
  p.prefetch(batch(14, 15, 16));
  const next = await p.take(batch(14, 15, 16));
  expect(copy).toEqual(src.readBatch([11, 12, 13]));
  expect(next).toEqual(src.readBatch([14, 15, 16]));
  expect(next.buffer).not.toBe(current.buffer);
});

test('an index view reads the base records it maps to', async () => {
  const view = new IndexedImageSource(source(), batch(9, 3, 17, 0));
  const p = prefetcher(view, 2);
  expect(await p.take(batch(2, 1))).toEqual(view.readBatch([2, 1]));
  expect(await p.take(batch(1, 2))).toEqual(Uint8Array.from([...expectedHwc(3, 4, 3, 3), ...expectedHwc(17, 4, 3, 3)]));
  expect(() => p.prefetch(batch(0, 4))).toThrow(RangeError);
});

test('sources another thread cannot read have no prefetcher', () => {
  const memory = new InMemoryImageSet(SHAPE, new Uint8Array(2 * SIZE), new Int32Array(2));
  const decoded = new FileBackedImageSource(SHAPE, { file, dataOffset: 0, recordBytes: SIZE, decodeRecord: (r, hwc) => hwc.set(r) }, new Int32Array(N));
  open.push(decoded);
  expect(BatchPrefetcher.for(memory, 2)).toBeNull();
  expect(BatchPrefetcher.for(decoded, 2)).toBeNull();
  expect(BatchPrefetcher.for(new ConcatImageSource('all', [memory]), 2)).toBeNull();
  expect(BatchPrefetcher.for(new IndexedImageSource(memory, batch(1)), 2)).toBeNull();
});

test('a truncated file: the worker gives the main thread UserError word for word, also for a prefetched batch', async () => {
  const src = source();
  const p = prefetcher(src, 2);
  await p.take(batch(0, 1));
  fs.truncateSync(file, OFFSET + 10 * SIZE + 5);
  let direct: unknown;
  try { src.readBatch([2, 10]); } catch (err) { direct = err; }
  expect(direct).toBeInstanceOf(UserError);
  expect((direct as Error).message).toBe(`${file}: ends at byte ${OFFSET + 10 * SIZE + 5}, inside image 10: the file was truncated after it was opened; delete it if it is a decoded cache (it is rebuilt on the next run)`);
  p.prefetch(batch(2, 10));
  const prefetched = p.take(batch(2, 10));
  await expect(prefetched).rejects.toThrow(UserError);
  await expect(prefetched).rejects.toThrow((direct as Error).message);
  // The worker survives a bad read: readable records still come through.
  expect(await p.take(batch(3, 4))).toEqual(src.readBatch([3, 4]));
});

test('close stops the worker; taking afterwards fails', async () => {
  const p = prefetcher(source(), 1);
  await p.take(batch(0));
  await p.close();
  await expect(p.take(batch(1))).rejects.toThrow('read after close()');
});

test('peekNextBatch is the next step\'s batch, across an epoch end, and leaves the sampler where it was', () => {
  const sampler = new EpochSampler({ n: 10, batchSize: 4, seed: 5, dropLast: true });
  const twin = new EpochSampler({ n: 10, batchSize: 4, seed: 5, dropLast: true });
  const nextOf = (s: EpochSampler) => s.nextBatch() ?? s.nextBatch();
  for (let step = 0; step < 6; step++) {
    const state = sampler.state();
    const peeked = peekNextBatch(sampler);
    expect(sampler.state()).toEqual(state);
    expect(peeked).toEqual(nextOf(twin));
    expect(nextOf(sampler)).toEqual(peeked);
  }
});

test('close() with a read in flight returns; an idle worker does not keep the process alive (no close())', () => {
  const child = path.join(__dirname, 'support', 'prefetch-exit-child.js');
  const out = execFileSync(process.execPath, [child, file, String(OFFSET), String(SIZE)], { encoding: 'utf8', timeout: 20_000 });
  expect(out.trim().split('\n')).toEqual(['closed', `read ${2 * SIZE} bytes, prefetched ${2 * SIZE}`]);
});
