#!/usr/bin/env node
/**
 * node scripts/bench-timm-transform.js — throughput of the fine-tune's host-side timm train
 * transform (src/eval/timm-train-transform.ts via timm-transform-pool.ts) as the ImageNet1k MAE row
 * runs it: 256-px cached sources → bicubic RandomResizedCrop 224 → hflip → RandAugment
 * 'rand-m9-mstd0.5-inc1' → normalise → random erasing 0.25 (pixel). Reports images/s for the pixel
 * work inline and on 1..N worker threads, plus the main thread's share per batch (the draws and the
 * copy of the views into the feed buffer). Needs `npm run build` first.
 *
 *   node scripts/bench-timm-transform.js [--batch 256] [--source 256] [--size 224] [--batches 4] [--workers 2]
 */
'use strict';
const path = require('node:path');
const os = require('node:os');

const dist = (p) => require(path.join(__dirname, '..', 'dist', p));
const { parseRandAugment, randAugmentFill } = dist('augment/rand-augment.js');
const { sampleTimmTrainDraws } = dist('eval/timm-train-transform.js');
const { TimmTransformPool } = dist('eval/timm-transform-pool.js');
const { Rng } = dist('data/rng.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const B = arg('batch', 256);
const SRC = arg('source', 256);
const S = arg('size', 224);
const BATCHES = arg('batches', 4);
const MAX_WORKERS = arg('workers', 2);
const C = 3;
const mean = [0.485, 0.456, 0.406];
const transform = {
  size: S, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bicubic', hflipProb: 0.5,
  randAugment: parseRandAugment('rand-m9-mstd0.5-inc1'), fill: randAugmentFill(mean), erasingProb: 0.25,
  mean, std: [0.229, 0.224, 0.225],
};
const rng = new Rng(1);
// Smooth gradients with noise: histogram ops see a realistic spread, resampling real interpolation.
const pixels = new Uint8Array(B * SRC * SRC * C);
for (let k = 0; k < B; k++) for (let y = 0; y < SRC; y++) for (let x = 0; x < SRC; x++) for (let c = 0; c < C; c++) {
  pixels[((k * SRC + y) * SRC + x) * C + c] = Math.min(255, Math.max(0, ((y + x * 0.5 + 40 * c + 7 * k) % 256) + rng.int(30) - 15));
}

(async () => {
  console.log(`timm train transform, batch ${B}, ${SRC}-px sources -> ${S} px, ${os.cpus().length} CPUs, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const drawRng = new Rng(2);
  let t = process.hrtime.bigint();
  const draws = [];
  for (let i = 0; i < BATCHES; i++) draws.push(sampleTimmTrainDraws(drawRng, transform, B, SRC, SRC));
  console.log(`draws (main thread): ${(Number(process.hrtime.bigint() - t) / 1e6 / BATCHES).toFixed(1)} ms per batch`);
  const feed = new Float32Array(B * C * S * S);
  for (let workers = 0; workers <= MAX_WORKERS; workers++) {
    const pool = new TimmTransformPool(workers);
    const buf = pool.allocate(B, SRC, SRC, C, S);
    buf.pixels.set(pixels);
    await pool.run(buf, draws[0], SRC, SRC, C, transform); // warm-up (JIT, coefficient caches)
    t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < BATCHES; i++) await pool.run(buf, draws[i], SRC, SRC, C, transform);
    const ms = Number(process.hrtime.bigint() - t) / 1e6 / BATCHES;
    // Process CPU time (all threads): per image it does not depend on how loaded the machine is.
    const used = process.cpuUsage(cpu);
    const cpuMsPerImage = (used.user + used.system) / 1000 / BATCHES / B;
    t = process.hrtime.bigint();
    feed.set(buf.views);
    const copy = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(`${workers === 0 ? 'inline   ' : `${workers} worker${workers > 1 ? 's' : ' '}`}: ${ms.toFixed(0)} ms per batch = ${(B / ms * 1000).toFixed(0)} images/s (wall); CPU ${cpuMsPerImage.toFixed(2)} ms per image = ${(1000 / cpuMsPerImage).toFixed(0)} images/s per busy core${workers ? `; copy into the feed buffer ${copy.toFixed(1)} ms` : ''}`);
    await pool.close();
  }
})();
