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
 * Usage: node scripts/data-throughput.js [--images 400] [--workers 2] [--batch 256] [--dir /tmp]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const { listImageFolder, openImageFolder } = require('../dist/data/image-folder');
const { sampleViews } = require('../dist/augment/params');
const { buildPreset } = require('../dist/augment/presets');
const { Rng } = require('../dist/data/rng');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
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
    console.log(JSON.stringify({
      images, jpeg: `${w}x${h}`, jpeg_kb: +(jpegBytes / 1024).toFixed(1), workers, cores: os.cpus().length,
      decode_images_per_second: +(images / decodeSeconds).toFixed(1),
      step_input_seconds_per_batch: +stepSeconds.toFixed(4),
      cache_read_seconds_per_batch: +(Number(readNs) / 1e9 / reps).toFixed(4), view_params_seconds_per_batch: +(Number(sampleNs) / 1e9 / reps).toFixed(4), step_input_images_per_second: +(batch / stepSeconds).toFixed(0), batch,
    }));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
