import { Worker } from 'node:worker_threads';
import { UserError } from '../errors';
import { readRecordAt, type FileRecords } from './image-source';
import type { EpochSampler } from './sampler';

/**
 * Reads the next training batch on a worker thread while the current step runs.
 *
 * onnxruntime-node 1.30 runs the native session.run synchronously on the JS thread, so the next
 * batch can only be read during a step by another thread. The worker reads raw HWC records
 * (ImageSource.fileRecords(): the decoded cache, a resized binary dataset) with positional reads
 * into one of two ArrayBuffers that travel to it and back as transfers. Not SharedArrayBuffers:
 * ORT rejects a tensor over one ("Invalid argument", onnxruntime-node 1.30). While step k's tensor
 * views one buffer, the worker fills the other with step k+1's images. Handing a batch of 256
 * 256-px images over and posting the next read costs the main thread ~0.5 ms (median; a returning
 * buffer counts as new external memory, so V8 also runs a scavenge or two per step, 0.3-8 ms on
 * the loaded 2-core dev machine), against 6-14 ms for readBatch itself; issuing the reads as 256
 * async fs.read calls on libuv's pool instead measured ~6 ms of main-thread time per batch.
 *
 * The worker draws nothing: the main thread picks every batch's indices (peekNextBatch) and all
 * random parameters, so a run is bitwise the same with or without prefetch. A prefetched batch
 * is used only when its indices are exactly those the step asks for (after a resume, it is not).
 *
 * The worker holds the event loop only while a read is in flight (ref/unref), so a finished or
 * interrupted run exits without close().
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const readRecordAt = (${readRecordAt.toString()});
const { file, dataOffset, imageBytes } = workerData;
let fd = null;
parentPort.on('message', (job) => {
  const pixels = new Uint8Array(job.buffer);
  let error = null;
  try {
    if (fd === null) fd = fs.openSync(file, 'r');
    for (let k = 0; k < job.records.length && error === null; k++) {
      const r = job.records[k];
      error = readRecordAt(fs, fd, file, pixels.subarray(k * imageBytes, (k + 1) * imageBytes), dataOffset + r * imageBytes, r);
    }
  } catch (err) {
    error = file + ': cannot open for reading (' + (err.code || err.message) + ')';
  }
  parentPort.postMessage({ id: job.id, buffer: job.buffer, error }, [job.buffer]);
});
`;

interface Reply {
  id: number;
  buffer: ArrayBuffer;
  error: string | null;
}

interface Pending {
  indices: Int32Array;
  slot: number;
  done: Promise<void>;
}

/**
 * The batch after the sampler's next one, without moving the sampler: what the step after this
 * one will ask for (across an epoch end too). Only the sampler's position is saved and restored;
 * its permutations depend on nothing but seed and epoch.
 */
export function peekNextBatch(sampler: EpochSampler): Int32Array | null {
  const saved = sampler.state();
  try {
    return sampler.nextBatch() ?? sampler.nextBatch();
  } finally {
    sampler.setState(saved);
  }
}

function sameIndices(a: Int32Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

export class BatchPrefetcher {
  private worker: Worker | null = null;
  /** Slot buffers; null while the worker holds one. */
  private readonly buffers: Array<ArrayBuffer | null>;
  private readonly waiting = new Map<number, { slot: number; resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private pending: Pending | null = null;
  /** The slot the last take() returned: the step being run reads it, so the next prefetch uses the other. */
  private inUse = 1;
  private failure: Error | null = null;
  private closed = false;

  private constructor(private readonly records: FileRecords, readonly batchSize: number) {
    const bytes = batchSize * records.imageBytes;
    this.buffers = [new ArrayBuffer(bytes), new ArrayBuffer(bytes)];
  }

  /** A prefetcher for `source`'s batches of `batchSize`, or null when another thread cannot read them. */
  static for(source: { fileRecords(): FileRecords | null }, batchSize: number): BatchPrefetcher | null {
    const records = source.fileRecords();
    return records === null ? null : new BatchPrefetcher(records, batchSize);
  }

  /** Starts reading batch `indices` into the slot the current step does not use. */
  prefetch(indices: Int32Array): void {
    if (this.pending !== null) throw new Error('BatchPrefetcher.prefetch: a prefetched batch is still waiting to be taken');
    const slot = 1 - this.inUse;
    const done = this.read(indices, slot);
    done.catch(() => { /* surfaced by take() when this batch is asked for; a discarded one's failure is moot */ });
    this.pending = { indices: indices.slice(), slot, done };
  }

  /**
   * The pixels of batch `indices` (B x H x W x C): the prefetched batch when it is this one, else
   * read now. Valid until the next take(); a bad file is a UserError, as on the main thread.
   */
  async take(indices: Int32Array): Promise<Uint8Array> {
    const pending = this.pending;
    this.pending = null;
    let slot: number;
    if (pending !== null && sameIndices(pending.indices, indices)) {
      await pending.done;
      slot = pending.slot;
    } else {
      if (pending !== null) await pending.done.catch(() => undefined);
      slot = 1 - this.inUse;
      await this.read(indices, slot);
    }
    this.inUse = slot;
    return new Uint8Array(this.buffers[slot]!);
  }

  /** Stops the worker (waits for it); taking afterwards throws. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = null;
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    // An unref'd worker's exit would not hold the event loop: the await could end the process.
    worker.ref();
    await worker.terminate();
  }

  private read(indices: Int32Array, slot: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('BatchPrefetcher: read after close()'));
    if (this.failure !== null) return Promise.reject(this.failure);
    const { records, recordOf } = this.records;
    if (indices.length > this.batchSize) throw new RangeError(`BatchPrefetcher: ${indices.length} indices for batches of ${this.batchSize}`);
    const ids = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      const r = recordOf === null ? i : recordOf[i];
      if (!(Number.isInteger(i) && i >= 0 && (recordOf === null || i < recordOf.length) && r >= 0 && r < records)) {
        throw new RangeError(`${this.records.file}: image index ${i} out of range`);
      }
      ids[k] = r;
    }
    const buffer = this.buffers[slot];
    if (buffer === null) throw new Error(`BatchPrefetcher: slot ${slot} is already being filled`);
    const worker = this.start();
    const id = this.nextId++;
    this.buffers[slot] = null;
    if (this.waiting.size === 0) worker.ref();
    worker.postMessage({ id, records: ids, buffer }, [buffer]);
    return new Promise<void>((resolve, reject) => this.waiting.set(id, { slot, resolve, reject }));
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const { file, dataOffset, imageBytes } = this.records;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, dataOffset, imageBytes } });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = this.waiting.get(reply.id);
      if (!job) return;
      this.waiting.delete(reply.id);
      this.buffers[job.slot] = reply.buffer;
      if (this.waiting.size === 0 && !this.closed) worker.unref();
      if (reply.error === null) job.resolve();
      else job.reject(new UserError(reply.error));
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const job of this.waiting.values()) job.reject(err);
      this.waiting.clear();
      if (this.worker === worker) this.worker = null;
    };
    worker.on('error', (err) => fail(new Error(`batch prefetch worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`batch prefetch worker exited (code ${code}) while reading ${file}`));
    });
    this.worker = worker;
    return worker;
  }
}
