#!/usr/bin/env node
/**
 * Per-step time split of a real pretraining step: data (sampler + readBatch + augmentation
 * parameters drawn in TypeScript), the in-graph augmentation alone (a graph of just the views),
 * and the whole training step (augmentation + forward + backward + update).
 *
 *   npm run build && node scripts/pretrain-step-timing.js <config.yaml> [--steps N] [--set k=v ...]
 *
 * Prints one JSON line with the median seconds of each part over N steps (after one warm-up step).
 *
 *   node scripts/pretrain-step-timing.js <config.yaml> --compare-prefetch [--steps N] [--set k=v ...]
 *
 * instead builds the training twice, data.prefetch off and on, and alternates their steps (so both
 * see the same machine load): median step wall time and main-thread input seconds of each, and
 * whether their losses agree bit for bit.
 */
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const ort = require('onnxruntime-node');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config', 'index.js'));
const { Pretraining } = require(path.join(dist, 'runner', 'pretrain.js'));
const { Graph, toOnnx } = require(path.join(dist, 'graph', 'index.js'));
const { applyViews, presetFromConfig, sampleViews, VIEW_PARAMS } = require(path.join(dist, 'augment', 'index.js'));
const { Rng } = require(path.join(dist, 'data', 'rng.js'));
const { createSession } = require(path.join(dist, 'engine', 'session.js'));

function parseArgs(argv) {
  const opts = { config: null, steps: 5, set: [], comparePrefetch: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--steps') opts.steps = Number(argv[++i]);
    else if (argv[i] === '--compare-prefetch') opts.comparePrefetch = true;
    else if (argv[i] === '--threads') opts.threads = Number(argv[++i]);
    else if (argv[i] === '--set') opts.set.push(argv[++i]);
    else opts.config = argv[i];
  }
  if (!opts.config) {
    process.stderr.write('usage: node scripts/pretrain-step-timing.js <config.yaml> [--steps N] [--threads N] [--compare-prefetch] [--set k=v ...]\n');
    process.exit(2);
  }
  return opts;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function comparePrefetch(opts) {
  const runs = [];
  for (const prefetch of [false, true]) {
    const config = loadConfig(opts.config, { set: [...opts.set, `data.prefetch=${prefetch}`] });
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-timing-'));
    const t0 = performance.now();
    const training = await Pretraining.create(config, runDir, { dataSeed: config.seed, threads: opts.threads });
    runs.push({ prefetch, config, runDir, training, buildSeconds: (performance.now() - t0) / 1000, step: [], data: [], loss: [] });
  }
  for (let i = 0; i <= opts.steps; i++) {
    for (const run of runs) {
      const start = performance.now();
      const r = await run.training.runStep();
      const total = (performance.now() - start) / 1000;
      run.loss.push(r.loss);
      if (i === 0) continue; // warm-up
      run.step.push(total);
      run.data.push(r.dataSeconds);
    }
  }
  const [off, on] = runs;
  // The part of the input that stays on the main thread either way: the views' random parameters.
  const { height, width, channels } = JSON.parse(fs.readFileSync(path.join(off.runDir, 'data.json'), 'utf8')).train.image;
  const preset = presetFromConfig(off.config, { inputChannels: channels, singleChannel: 'gray' });
  const rng = new Rng(1).fork('timing');
  const views = [];
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    sampleViews(rng, preset, off.config.train.batch_size, height, width);
    views.push((performance.now() - a) / 1000);
  }
  const result = {
    config: opts.config, set: opts.set, batch: off.config.train.batch_size, steps: opts.steps,
    prefetch_worker_used: on.training.prefetcher !== null,
    off: { step_seconds: +median(off.step).toFixed(4), main_thread_input_seconds: +median(off.data).toFixed(4) },
    on: { step_seconds: +median(on.step).toFixed(4), main_thread_input_seconds: +median(on.data).toFixed(4) },
    view_params_seconds: +median(views).toFixed(4),
    losses_bitwise_equal: off.loss.every((l, k) => Object.is(l, on.loss[k])),
    threads: opts.threads ?? os.availableParallelism(), load_average_1m: +os.loadavg()[0].toFixed(2),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const run of runs) {
    await run.training.close();
    fs.rmSync(run.runDir, { recursive: true, force: true });
  }
}

(async () => {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.comparePrefetch) return comparePrefetch(opts);
  const config = loadConfig(opts.config, { set: opts.set });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-timing-'));
  const t0 = performance.now();
  const training = await Pretraining.create(config, runDir, { dataSeed: config.seed, threads: opts.threads });
  const buildSeconds = (performance.now() - t0) / 1000;

  // The augmentation graph alone, fed the same kind of batch.
  const b = config.train.batch_size;
  const data = JSON.parse(fs.readFileSync(path.join(runDir, 'data.json'), 'utf8')).train.image;
  const preset = presetFromConfig(config, { inputChannels: data.channels, singleChannel: 'gray' });
  const g = new Graph('augment-only');
  const images = g.input('images', [b, data.height, data.width, data.channels], 'uint8');
  const params = preset.views.map((_, k) => g.input(`augment.view${k}`, [b, VIEW_PARAMS]));
  applyViews(g, images, params, preset).forEach((v, k) => g.output(`view${k}`, v));
  const { session: augSession } = await createSession(toOnnx(g), 'cpu', { executionMode: 'sequential' });
  const rng = new Rng(1).fork('timing');
  const pixels = new Uint8Array(b * data.height * data.width * data.channels).map((_, i) => (i * 2654435761) >>> 24);

  const data_s = [];
  const step_s = [];
  const aug_s = [];
  for (let i = 0; i <= opts.steps; i++) {
    const start = performance.now();
    const r = await training.runStep();
    const total = (performance.now() - start) / 1000;
    const feeds = { images: new ort.Tensor('uint8', pixels, [b, data.height, data.width, data.channels]) };
    sampleViews(rng, preset, b, data.height, data.width).forEach((v, k) => { feeds[`augment.view${k}`] = new ort.Tensor('float32', v.params, [b, VIEW_PARAMS]); });
    const a0 = performance.now();
    await augSession.run(feeds);
    const aug = (performance.now() - a0) / 1000;
    if (i === 0) continue; // warm-up
    data_s.push(r.dataSeconds);
    step_s.push(total);
    aug_s.push(aug);
  }
  const result = {
    config: opts.config, set: opts.set, batch: b, steps: opts.steps, build_seconds: +buildSeconds.toFixed(2),
    step_seconds: +median(step_s).toFixed(3),
    data_seconds: +median(data_s).toFixed(4),
    augment_graph_seconds: +median(aug_s).toFixed(3),
    data_plus_augment_fraction: +((median(data_s) + median(aug_s)) / median(step_s)).toFixed(3),
    threads: os.availableParallelism(), load_average_1m: +os.loadavg()[0].toFixed(2),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  fs.rmSync(runDir, { recursive: true, force: true });
})();
