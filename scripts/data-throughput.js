#!/usr/bin/env node
/**
 * What the image-folder pipeline delivers on this machine, for the ImageNet-style suites (after
 * `npm run build`):
 *   1. decode: ImageNet-like JPEGs (default 500x375, quality 90, textured) decoded by sharp on
 *      --workers worker threads and resized to the cache size (Resize(256) + CenterCrop(256), the
 *      one-time cache build of `data.image_size: 256`), images/s;
 *   2. per step: a random batch read from that cache (FileBackedImageSource.readBatch) plus the
 *      crop/flip/jitter parameters of two SimCLR views drawn in TypeScript, images/s. The crops
 *      themselves (224-px RandomResizedCrop) run inside the training graph on the device.
 *   3. for comparison, what a loader that decodes every step would deliver: JPEG decode +
 *      RandomResizedCrop(224) (scale 0.08-1, ratio 3/4-4/3) by sharp, on 1 and on --workers
 *      worker threads, images/s;
 *   4. the training step's prefetch (data/prefetch.ts): the main thread's time per step for
 *      BatchPrefetcher.take() + prefetch() when the worker had a --step-ms step to read the batch
 *      (the step is simulated by blocking the main thread, as onnxruntime-node's session.run does),
 *      against readBatch on the main thread; and an in-memory batch copy (CIFAR-10 shape), the
 *      path in-memory datasets keep.
 * Usage: node scripts/data-throughput.js [--images 400] [--workers 2] [--batch 256] [--step-ms 100] [--dir /tmp]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const { Worker } = require('node:worker_threads');
const { listImageFolder, openImageFolder } = require('../dist/data/image-folder');
const { InMemoryImageSet } = require('../dist/data/image-source');
const { BatchPrefetcher } = require('../dist/data/prefetch');
const { sampleViews } = require('../dist/augment/params');
const { buildPreset } = require('../dist/augment/presets');
const { Rng } = require('../dist/data/rng');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** JPEG decode + RandomResizedCrop(224) of `files` on `threads` worker threads: images/s. */
async function decodeCropRate(files, threads) {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const sharp = require(workerData.sharpPath);
    sharp.concurrency(1);
    let seed = workerData.seed;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    (async () => {
      for (const file of workerData.files) {
        const { width, height } = await sharp(file).metadata();
        // torchvision RandomResizedCrop.get_params: area scale 0.08-1, log-uniform ratio 3/4-4/3.
        let w = width, h = height, x = 0, y = 0;
        for (let t = 0; t < 10; t++) {
          const area = width * height * (0.08 + 0.92 * uniform());
          const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * uniform());
          const cw = Math.round(Math.sqrt(area * ratio)), ch = Math.round(Math.sqrt(area / ratio));
          if (cw > 0 && ch > 0 && cw <= width && ch <= height) { w = cw; h = ch; x = Math.floor(uniform() * (width - w + 1)); y = Math.floor(uniform() * (height - h + 1)); break; }
        }
        await sharp(file).extract({ left: x, top: y, width: w, height: h }).resize(224, 224, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
      }
      parentPort.postMessage('done');
    })();
  `;
  require('sharp');
  const sharpPath = require.resolve('sharp');
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: threads }, (_, k) => new Promise((resolve, reject) => {
    const mine = files.filter((_, i) => i % threads === k);
    const w = new Worker(source, { eval: true, workerData: { files: mine, sharpPath, seed: k + 1 } });
    w.once('message', () => w.terminate().then(resolve));
    w.once('error', reject);
  })));
  return files.length / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Blocks the main thread for `ms`, as a synchronous session.run does. */
function blockFor(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function main() {
  const images = Number(arg('images', 400));
  const workers = Number(arg('workers', 2));
  const batch = Number(arg('batch', 256));
  const root = fs.mkdtempSync(path.join(arg('dir', os.tmpdir()), 'data-throughput-'));
  try {
    const split = path.join(root, 'train');
    const [w, h] = [500, 375];
    for (let c = 0; c < 4; c++) fs.mkdirSync(path.join(split, `n0${c}`), { recursive: true });
    for (let i = 0; i < images; i++) {
      const px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < 3; ch++) {
        px[(y * w + x) * 3 + ch] = (128 + 60 * Math.sin((x + i) / (7 + ch)) + 50 * Math.cos((y * (ch + 1)) / 11) + ((x * 13 + y * 7 + i) % 17)) & 255;
      }
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(split, `n0${i % 4}`, `img${i}.JPEG`));
    }
    const listing = listImageFolder(split);
    const jpegBytes = listing.sizes.reduce((a, b) => a + b, 0) / images;
    const t0 = process.hrtime.bigint();
    const { source } = await openImageFolder(listing, { name: 'throughput', split: 'train', imageSize: 256, cacheDir: path.join(root, 'cache'), workers, log: () => undefined });
    const decodeSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rng = new Rng(1);
    const preset = buildPreset('simclr', 224);
    const reps = 20;
    const indices = new Int32Array(batch);
    const out = new Uint8Array(batch * 256 * 256 * 3);
    let readNs = 0n;
    let sampleNs = 0n;
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < batch; i++) indices[i] = rng.int(images);
      const a = process.hrtime.bigint();
      source.readBatch(indices, out);
      const b = process.hrtime.bigint();
      sampleViews(rng, preset, batch, 256, 256);
      readNs += b - a;
      sampleNs += process.hrtime.bigint() - b;
    }
    const stepSeconds = Number(readNs + sampleNs) / 1e9 / reps;

    const jpegFiles = listing.files.map((f) => path.join(listing.splitDir, f));
    const rrcOne = await decodeCropRate(jpegFiles, 1);
    const rrcAll = await decodeCropRate(jpegFiles, workers);

    // Prefetch: step k's take() finds the batch the worker read during step k-1's (blocked) step.
    const stepMs = Number(arg('step-ms', 100));
    const prefetcher = BatchPrefetcher.for(source, batch);
    const draw = () => Int32Array.from({ length: batch }, () => rng.int(images));
    const takeMs = [];
    const directMs = [];
    let next = draw();
    for (let r = 0; r <= reps; r++) {
      const a = performance.now();
      await prefetcher.take(next);
      next = draw();
      prefetcher.prefetch(next);
      const b = performance.now();
      if (r > 0) takeMs.push(b - a);
      blockFor(stepMs);
    }
    await prefetcher.close();
    for (let r = 0; r < reps; r++) {
      const a = performance.now();
      source.readBatch(draw(), out);
      directMs.push(performance.now() - a);
      blockFor(stepMs);
    }
    // An in-memory dataset's batch (CIFAR-10: 50 000 x 32 x 32 x 3) is one copy per image.
    const cifar = new InMemoryImageSet({ name: 'cifar-shape', split: 'train', height: 32, width: 32, channels: 3, classes: ['a'] },
      new Uint8Array(50000 * 32 * 32 * 3).fill(7), new Int32Array(50000));
    const cifarOut = new Uint8Array(batch * 32 * 32 * 3);
    const memoryMs = [];
    for (let r = 0; r < reps; r++) {
      const idx = Int32Array.from({ length: batch }, () => rng.int(50000));
      const a = performance.now();
      cifar.readBatch(idx, cifarOut);
      memoryMs.push(performance.now() - a);
    }
    console.log(JSON.stringify({
      images, jpeg: `${w}x${h}`, jpeg_kb: +(jpegBytes / 1024).toFixed(1), workers, cores: os.cpus().length,
      decode_images_per_second: +(images / decodeSeconds).toFixed(1),
      step_input_seconds_per_batch: +stepSeconds.toFixed(4),
      cache_read_seconds_per_batch: +(Number(readNs) / 1e9 / reps).toFixed(4), view_params_seconds_per_batch: +(Number(sampleNs) / 1e9 / reps).toFixed(4), step_input_images_per_second: +(batch / stepSeconds).toFixed(0), batch,
      jpeg_rrc224_images_per_second_1_thread: +rrcOne.toFixed(1), [`jpeg_rrc224_images_per_second_${workers}_threads`]: +rrcAll.toFixed(1),
      simulated_step_ms: stepMs,
      main_thread_cache_read_ms_median: +median(directMs).toFixed(2),
      main_thread_prefetch_take_ms_median: +median(takeMs).toFixed(3), main_thread_prefetch_take_ms_max: +Math.max(...takeMs).toFixed(3),
      in_memory_cifar_batch_copy_ms_median: +median(memoryMs).toFixed(3),
      load_average_1m: +os.loadavg()[0].toFixed(2),
    }));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
