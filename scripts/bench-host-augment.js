#!/usr/bin/env node
/**
 * node scripts/bench-host-augment.js — single-thread cost of the host-side fine-tune augmentations
 * (src/augment/rand-augment.ts, random-erasing.ts) on one 224x224x3 image: every RandAugment op at
 * magnitude 9 (geometric ops with bicubic and bilinear resampling), a sampled 'rand-m9-mstd0.5-inc1'
 * chain averaged over 256 draws, and 'pixel' random erasing at p = 1. Needs `npm run build` first.
 *
 *   node scripts/bench-host-augment.js [--size 224] [--reps 60]
 */
'use strict';
const path = require('node:path');

const dist = (p) => require(path.join(__dirname, '..', 'dist', p));
const { applyRandAugment, sampleRandAugment, parseRandAugment, randAugmentFill } = dist('augment/rand-augment.js');
const { sampleRandomErasing, applyRandomErasing } = dist('augment/random-erasing.js');
const { Rng } = dist('data/rng.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const S = arg('size', 224);
const REPS = arg('reps', 60);
const C = 3;
const rng = new Rng(1);
// A gradient with noise: histogram ops see a realistic spread, geometric ops real interpolation.
const img = new Uint8Array(S * S * C);
for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < C; c++) img[(y * S + x) * C + c] = Math.min(255, Math.max(0, ((y + x * 0.5 + 40 * c) % 256) + rng.int(30) - 15));
const fill = randAugmentFill([0.485, 0.456, 0.406]);
const GEOMETRIC = ['Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel'];
const OPS = [
  ['AutoContrast', 0], ['Equalize', 0], ['Invert', 0], ['Rotate', 27], ['PosterizeIncreasing', 1], ['SolarizeIncreasing', 26],
  ['SolarizeAdd', 99], ['ColorIncreasing', 1.81], ['ContrastIncreasing', 0.19], ['BrightnessIncreasing', 1.81],
  ['SharpnessIncreasing', 0.19], ['ShearX', 0.27], ['ShearY', -0.27], ['TranslateXRel', 0.405], ['TranslateYRel', -0.405],
];
const msPer = (f, reps) => {
  for (let i = 0; i < 5; i++) f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f();
  return Number(process.hrtime.bigint() - t) / 1e6 / reps;
};
const rows = [['copy (no op applied)', msPer(() => applyRandAugment(img, S, S, C, { ops: [] }, { fill }), REPS)]];
for (const [op, value] of OPS) {
  for (const resample of GEOMETRIC.includes(op) ? ['bicubic', 'bilinear'] : ['bicubic']) {
    const draw = { ops: [{ op, applied: true, magnitude: 9, value, resample }] };
    rows.push([`${op}${GEOMETRIC.includes(op) ? ` (${resample})` : ''}`, msPer(() => applyRandAugment(img, S, S, C, draw, { fill }), REPS)]);
  }
}
const spec = parseRandAugment('rand-m9-mstd0.5-inc1');
const draws = Array.from({ length: 256 }, () => sampleRandAugment(rng, spec));
let k = 0;
rows.push(['rand-m9-mstd0.5-inc1, sampled chain (mean of 256 draws)', msPer(() => applyRandAugment(img, S, S, C, draws[k++ % 256], { fill }), 512)]);
rows.push(['sampleRandAugment', msPer(() => sampleRandAugment(rng, spec), 10000)]);
const x = new Float32Array(C * S * S);
const erasings = Array.from({ length: 256 }, () => sampleRandomErasing(rng, S, S, { probability: 1, mode: 'pixel' }));
k = 0;
rows.push(["random erasing 'pixel', p = 1 (mean of 256 draws)", msPer(() => applyRandomErasing(x, C, S, S, erasings[k++ % 256]), 512)]);
rows.push(['sampleRandomErasing', msPer(() => sampleRandomErasing(rng, S, S, { probability: 0.25, mode: 'pixel' }), 10000)]);
console.log(`ms per ${S}x${S}x${C} image, one thread:`);
for (const [name, ms] of rows) console.log(`  ${name.padEnd(58)} ${ms.toFixed(3)}`);
