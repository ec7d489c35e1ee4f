import { Worker } from 'node:worker_threads';
import { UserError } from '../errors';
import { resamplerFactory } from './resample';

/**
 * Decodes image files with sharp in `node:worker_threads` workers, then resizes them exactly as
 * torchvision's `Resize(size)` + `CenterCrop(size)` do on PIL images (see resample.ts), giving
 * `size x size x 3` uint8 HWC. The worker body is JavaScript text run with `eval: true` (the
 * resampler travels as its function source), so it works alike from compiled `dist/` and from
 * TypeScript under jest. EXIF orientation is ignored, as PIL does; grayscale and CMYK become RGB.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sharp = require(workerData.sharpPath);
const { resizeShorterCenterCrop } = (${resamplerFactory.toString()})();
sharp.concurrency(1);
parentPort.on('message', async (job) => {
  try {
    const { data, info } = await sharp(job.file)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error('decoded to ' + info.channels + ' channels instead of 3');
    const pixels = resizeShorterCenterCrop(data, info.width, info.height, 3, job.size);
    parentPort.postMessage({ id: job.id, pixels }, [pixels.buffer]);
  } catch (err) {
    const message = String((err && err.message) || err).split('\\n')[0];
    parentPort.postMessage({ id: job.id, error: message });
  }
});
`;

interface WorkerReply {
  id: number;
  pixels?: Uint8Array;
  error?: string;
}

/**
 * Decodes `files[i]` for every i, calling `onImage(i, pixels)` as results arrive (any order).
 * The first undecodable file stops all workers and rejects with a UserError naming it.
 */
export async function decodeImageFiles(
  files: readonly string[],
  size: number,
  workers: number,
  onImage: (index: number, pixels: Uint8Array) => void,
): Promise<void> {
  if (files.length === 0) return;
  // sharp's native addon must be loaded by the main thread before any worker loads it.
  require('sharp');
  const sharpPath = require.resolve('sharp');
  const count = Math.max(1, Math.min(workers, files.length));
  const pool: Worker[] = [];
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: Error) => {
        if (!failed) { failed = true; reject(err); }
      };
      const feed = (worker: Worker) => {
        if (failed || next >= files.length) return;
        const id = next++;
        worker.postMessage({ id, file: files[id], size });
      };
      for (let w = 0; w < count; w++) {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sharpPath } });
        pool.push(worker);
        worker.on('message', (reply: WorkerReply) => {
          if (failed) return;
          if (reply.error !== undefined || !reply.pixels) {
            // libvips' own reason is shown when it gives one (its wording varies by version, and it can be empty).
            const reason = reply.error === undefined ? 'no pixels returned' : reply.error.replace(/^Error:?\s*/, '').trim() || 'the decoder gave no reason';
            fail(new UserError(`${files[reply.id]}: cannot decode image (${reason}); replace or delete the file`));
            return;
          }
          try {
            onImage(reply.id, reply.pixels);
          } catch (err) {
            fail(err as Error);
            return;
          }
          finished++;
          if (finished === files.length) resolve();
          else feed(worker);
        });
        worker.on('error', (err) => fail(err));
        worker.on('exit', (code) => {
          if (code !== 0 && finished < files.length) fail(new Error(`image decode worker exited with code ${code}`));
        });
        // Two jobs in flight per worker hide the message round trip.
        feed(worker);
        feed(worker);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
