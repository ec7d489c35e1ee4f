import { Worker } from 'node:worker_threads';
import { transformSamples, type TimmSampleDraw, type TimmTrainTransform } from './timm-train-transform';

/**
 * Runs the timm train transform's pixel work (timm-train-transform.ts transformSamples) for a
 * batch on `node:worker_threads`, or inline when `workers` is 0; both give the same bytes, since
 * the draws are made beforehand on the caller's thread. The batch's source pixels and its output
 * live in SharedArrayBuffers that every worker reads and writes in place (each worker its own
 * rows), so a batch costs one message per worker. A worker require()s the transform module by
 * path: the compiled .js in dist/; under jest the .ts sources, compiled on load with @swc/core
 * (a dev dependency), since jest's transform does not reach worker threads.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.modulePath.endsWith('.ts')) {
  const fs = require('node:fs');
  const swc = require(workerData.swcPath);
  require.extensions['.ts'] = (module, filename) => {
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename, module: { type: 'commonjs' }, jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    });
    module._compile(code, filename);
  };
}
const { transformSamples } = require(workerData.modulePath);
parentPort.on('message', (job) => {
  try {
    transformSamples({ ...job, pixels: new Uint8Array(job.pixels), out: new Float32Array(job.out) });
    parentPort.postMessage({ id: job.id });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.stack) || err) });
  }
});
`;

function workerData(): { modulePath: string; swcPath: string | null } {
  const modulePath = require.resolve('./timm-train-transform');
  return { modulePath, swcPath: modulePath.endsWith('.ts') ? require.resolve('@swc/core') : null };
}

/** Source pixels [B, srcH, srcW, C] uint8 and views [B, C, size, size] float32 of one batch, shared with the workers. */
export interface TimmBatchBuffers {
  pixels: Uint8Array;
  views: Float32Array;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class TimmTransformPool {
  private readonly pool: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  /** `workers` threads (0: everything inline on the calling thread). */
  constructor(readonly workers: number) {
    if (!(Number.isInteger(workers) && workers >= 0)) throw new RangeError(`timm transform pool: workers ${workers} must be an integer >= 0`);
    const data = workers > 0 ? workerData() : null;
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
      worker.on('message', (reply: { id: number; error?: string }) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (reply.error !== undefined) p.reject(new Error(`timm transform worker: ${reply.error}`));
        else p.resolve();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`timm transform worker exited with code ${code}`));
      });
      this.pool.push(worker);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Buffers for batches of `batch` images that the workers can read and write. */
  allocate(batch: number, srcH: number, srcW: number, channels: number, size: number): TimmBatchBuffers {
    const pixelBytes = batch * srcH * srcW * channels;
    const viewValues = batch * channels * size * size;
    if (this.workers === 0) return { pixels: new Uint8Array(pixelBytes), views: new Float32Array(viewValues) };
    return { pixels: new Uint8Array(new SharedArrayBuffer(pixelBytes)), views: new Float32Array(new SharedArrayBuffer(4 * viewValues)) };
  }

  /**
   * Transforms every image of `buffers.pixels` with `draws[k]` into `buffers.views`; resolves when
   * all rows are written. The buffers must not be touched until then.
   */
  run(buffers: TimmBatchBuffers, draws: readonly TimmSampleDraw[], srcH: number, srcW: number, channels: number, transform: TimmTrainTransform): Promise<void> {
    const batch = draws.length;
    if (buffers.pixels.length !== batch * srcH * srcW * channels) throw new RangeError(`timm transform pool: ${buffers.pixels.length} source bytes for ${batch} images of ${srcH}x${srcW}x${channels}`);
    if (buffers.views.length !== batch * channels * transform.size * transform.size) throw new RangeError(`timm transform pool: ${buffers.views.length} output values for ${batch} views of ${channels}x${transform.size}x${transform.size}`);
    if (this.workers === 0) {
      transformSamples({ pixels: buffers.pixels, srcH, srcW, channels, out: buffers.views, first: 0, draws, transform });
      return Promise.resolve();
    }
    if (this.failure) return Promise.reject(this.failure);
    if (!(buffers.pixels.buffer instanceof SharedArrayBuffer && buffers.views.buffer instanceof SharedArrayBuffer)) {
      throw new RangeError('timm transform pool: buffers must come from allocate() (shared memory)');
    }
    const per = Math.ceil(batch / this.workers);
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < this.workers && w * per < batch; w++) {
      const first = w * per;
      const id = this.nextId++;
      jobs.push(new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject })));
      this.pool[w].postMessage({
        id, pixels: buffers.pixels.buffer, out: buffers.views.buffer, srcH, srcW, channels, first,
        draws: draws.slice(first, Math.min(first + per, batch)), transform,
      });
    }
    return Promise.all(jobs).then(() => undefined);
  }

  /** Stops the workers; batches still in flight reject. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.pool.map((w) => w.terminate()));
    this.pool.length = 0;
    this.fail(new Error('timm transform pool closed'));
  }
}
