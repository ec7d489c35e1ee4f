/**
 * Augmentation cost of one SimCLR-CIFAR step (2 views, batch 128, 32 px, blur off as the CIFAR-10
 * benchmark runs it): parameter sampling in TypeScript + the view graph in its own ORT session.
 * Not part of the suite; run with
 *   npx jest --testMatch '**\/test/augment/cost.perf.ts' --testTimeout 900000
 * PRESET=simclr OVERRIDES='{"cj_strength":0.5,"blur_prob":0}' SIZE=32 BATCH=128 THREADS=2 by default.
 */
import * as ort from 'onnxruntime-node';
import { Graph, toOnnx } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import { applyViews, augmentFeeds, augmentParamInputs, buildPreset, sampleViews } from '../../src/augment';
import type { PresetId } from '../../src/config';

const BATCH = Number(process.env.BATCH ?? 128);
const SIZE = Number(process.env.SIZE ?? 32);
const SOURCE = Number(process.env.SOURCE ?? SIZE);
const PRESET = (process.env.PRESET ?? 'simclr') as PresetId;
const OVERRIDES = JSON.parse(process.env.OVERRIDES ?? '{"cj_strength":0.5,"blur_prob":0}');
const THREADS = Number(process.env.THREADS ?? 2);
const STEPS = Number(process.env.STEPS ?? 20);

test(`augmentation cost: ${PRESET}, batch ${BATCH}, ${SOURCE} px source, ${SIZE} px views`, async () => {
  const preset = buildPreset(PRESET, SIZE, OVERRIDES);
  const g = new Graph('augment-cost');
  const images = g.input('images', [BATCH, SOURCE, SOURCE, 3], 'uint8');
  const views = applyViews(g, images, augmentParamInputs(g, preset, BATCH), preset);
  views.forEach((v, k) => g.output(`view${k}`, v));
  const session = await ort.InferenceSession.create(toOnnx(g), { executionProviders: ['cpu'], intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const pixels = new Uint8Array(BATCH * SOURCE * SOURCE * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  const rng = new Rng(0).fork('augment');
  const sampleMs: number[] = [];
  const runMs: number[] = [];
  for (let s = 0; s < STEPS + 2; s++) {
    const t0 = performance.now();
    const drawn = sampleViews(rng, preset, BATCH, SOURCE, SOURCE);
    const t1 = performance.now();
    const feeds: Record<string, ort.Tensor> = { images: new ort.Tensor('uint8', pixels, [BATCH, SOURCE, SOURCE, 3]) };
    for (const [name, f] of Object.entries(augmentFeeds(drawn))) feeds[name] = new ort.Tensor('float32', f.data, f.dims);
    await session.run(feeds);
    const t2 = performance.now();
    if (s >= 2) { sampleMs.push(t1 - t0); runMs.push(t2 - t1); }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${PRESET} ${JSON.stringify(OVERRIDES)} batch ${BATCH} ${SOURCE}->${SIZE}px ${preset.views.length} views, ${THREADS} threads: sampling ${median(sampleMs).toFixed(2)} ms, graph ${median(runMs).toFixed(1)} ms (median of ${STEPS})`);
  expect(median(runMs)).toBeGreaterThan(0);
});
