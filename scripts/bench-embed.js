#!/usr/bin/env node
/**
 * node scripts/bench-embed.js — kNN/embedding throughput: ssl-bench's eval-mode ResNet-18-CIFAR
 * backbone (the inference model the kNN evaluation builds: uint8 NHWC images in, normalised in the
 * graph, features out) against the same model in PyTorch (scripts/torch_reference.py embed, under
 * no_grad), random 32x32 RGB images, in one run on this machine.
 *
 *   node scripts/bench-embed.js [--width 8,16,64] [--images 1024] [--batch 256] [--rounds 3] [--threads N] [--nchwc auto|off] [--no-torch]
 *
 * Rounds alternate the two sides (one pass over all images each) so load from other processes
 * hits both alike; images/s is the median over rounds. The ratio is PyTorch's time / ours per
 * image written as ssl-bench / PyTorch time (< 1: ssl-bench faster), like bench:step. --nchwc as in
 * bench-step.js (auto, the default and what runs embed with on the CPU: ORT's NCHWc convolutions at
 * this CPU's channel block after the self-check; off: plain ONNX Conv).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', p));
const TORCH_PYTHON = '/usr/bin/python3';

function parseArgs(argv) {
  const o = { widths: [8, 16, 64], images: 1024, batch: 256, rounds: 3, threads: os.availableParallelism(), torch: true, nchwc: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} must be an integer >= 1`);
      return v;
    };
    if (a === '--width') {
      o.widths = String(argv[++i]).split(',').map(Number);
      if (o.widths.some((w) => !Number.isInteger(w) || w < 1)) throw new Error('--width takes integers >= 1, comma-separated (e.g. 8,16,64)');
    } else if (a === '--images') o.images = int();
    else if (a === '--batch') o.batch = int();
    else if (a === '--rounds') o.rounds = int();
    else if (a === '--threads') o.threads = int();
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--nchwc') {
      o.nchwc = argv[++i];
      if (!['auto', 'off'].includes(o.nchwc)) throw new Error('--nchwc must be auto or off');
    }
    else throw new Error(`unknown option ${a}; options: --width --images --batch --rounds --threads --nchwc --no-torch`);
  }
  if (o.threads > os.availableParallelism()) throw new Error(`--threads ${o.threads} is more than this machine's ${os.availableParallelism()} cores`);
  return o;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function runTorch(args) {
  const r = spawnSync(TORCH_PYTHON, [path.join(__dirname, 'torch_reference.py'), 'embed', JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`PyTorch reference failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function benchWidth(o, width) {
  const { ResNet18Cifar, initParameters } = dist('nn');
  const { buildInferenceModel, createSession, embed } = dist('engine');
  const { Rng } = dist('data/rng');
  const backbone = new ResNet18Cifar({ baseWidth: width });
  const init = initParameters([...backbone.parameters('backbone'), ...backbone.buffers('backbone')], new Rng(0));
  const ort = require('onnxruntime-node');
  const state = new Map();
  for (const s of [...backbone.parameters('backbone'), ...backbone.buffers('backbone')]) state.set(s.name, new ort.Tensor('float32', init.get(s.name), [...s.shape]));
  const model = buildInferenceModel(backbone, {
    name: 'knn-embed', prefix: 'backbone',
    input: { format: 'uint8-nhwc', channels: 3, height: 32, width: 32, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] },
  });
  const { session, convLayout } = await createSession(model.modelBytes, 'cpu', { threads: o.threads, executionMode: 'sequential', convLayout: o.nchwc });
  const rng = new Rng(1);
  const images = new Uint8Array(o.images * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.uniform() * 256);
  const stateView = { get: (name) => state.get(name) };
  await embed(session, model, images.subarray(0, o.batch * 3072), Math.min(o.batch, o.images), o.batch, [32, 32, 3], stateView); // warm-up
  const ours = [];
  const theirs = [];
  let torchInfo = null;
  for (let r = 0; r < o.rounds; r++) {
    const t = performance.now();
    await embed(session, model, images, o.images, o.batch, [32, 32, 3], stateView);
    ours.push(o.images / ((performance.now() - t) / 1000));
    if (o.torch) {
      torchInfo = runTorch({ width, size: 32, images: o.images, batch: o.batch, threads: o.threads, rounds: 1 });
      theirs.push(...torchInfo.images_per_s);
    }
  }
  await session.release();
  return { width, convLayout, ours: median(ours), torch: o.torch ? median(theirs) : null, torchInfo };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const rows = [];
  for (const width of o.widths) {
    const row = await benchWidth(o, width);
    rows.push(row);
    console.log(`width ${width}: ssl-bench ${row.ours.toFixed(0)} img/s (convs ${row.convLayout})` + (row.torch ? `, PyTorch ${row.torch.toFixed(0)} img/s` : ''));
  }
  const info = rows.find((r) => r.torchInfo)?.torchInfo;
  if (info) console.log(`PyTorch ${info.torch}, BLAS: ${info.blas.kind}, threads ${info.threads}`);
  console.log(`\nwidth  ssl-bench img/s  PyTorch img/s  time ratio  (batch ${o.batch}, ${o.images} images, threads ${o.threads}, NCHWc ${o.nchwc}; median over ${o.rounds} interleaved rounds; ratio < 1: ssl-bench faster)`);
  for (const r of rows) {
    console.log(`${String(r.width).padStart(5)}  ${r.ours.toFixed(0).padStart(15)}  ${r.torch ? r.torch.toFixed(0).padStart(13) : '            -'}  ${r.torch ? (r.torch / r.ours).toFixed(2).padStart(10) : '         -'}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
