#!/usr/bin/env node
/**
 * Times the ResNet-18-CIFAR SimCLR training step (bench-step.js's model) on the WebGPU EP with the
 * training state resident on the device (src/engine/device-state.ts) against the same step
 * uploading and downloading the whole state every step, interleaved A/B in one process, and the
 * resident step with the WebGPU EP's preferredLayout NHWC. Prints medians and ratios, and checks
 * that the variants give the same losses.
 *
 *   npm run build && node scripts/bench-webgpu-resident.js [--steps 7] [--batch 16] [--width 8] [--warmup 1]
 *
 * Without a GPU (no /dev/dri/renderD*, /dev/nvidia*) it selects Mesa's lavapipe (Vulkan on the CPU)
 * when installed: its "GPU buffers" are host memory and an upload is a memcpy, so the ratio it
 * prints understates what residency saves across a real PCIe bus. Compare ratios, not times.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', p));
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

function parseArgs(argv) {
  const o = { steps: 7, batch: 16, width: 8, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const v = Number(argv[++i]);
    if (!(key in o) || !Number.isInteger(v) || v < (key === 'warmup' ? 0 : 1)) {
      throw new Error(`${argv[i - 1]}: options are --steps --batch --width --warmup, each an integer >= 1 (--warmup >= 0)`);
    }
    o[key] = v;
  }
  return o;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { gpuDevicePresent } = dist('engine/session');
  let adapter = 'the machine\'s GPU';
  if (!gpuDevicePresent() && !process.env.VK_ICD_FILENAMES) {
    if (!fs.existsSync(LAVAPIPE_ICD)) throw new Error(`no GPU and no lavapipe (${LAVAPIPE_ICD}); apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`);
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
    adapter = 'Mesa lavapipe (Vulkan on the CPU): uploads are memcpys, ratios understate a PCIe GPU';
  }
  const ort = require('onnxruntime-node');
  ort.env.logLevel = 'error';
  const { TrainStepRunner } = dist('engine');
  const { initParameters } = dist('nn');
  const { Rng } = dist('data/rng');
  const { buildSimclrStep, randn } = require('./bench-step.js');

  const variants = [
    { name: 'transfer', label: 'state uploaded+downloaded every step', opts: { resident: false } },
    { name: 'resident', label: 'state resident on the device', opts: { resident: true } },
    { name: 'resident-nhwc', label: 'resident, preferredLayout NHWC', opts: { resident: true, webgpu: { layout: 'NHWC' } } },
  ];
  const n = o.batch * 3 * 32 * 32;
  const feeds = { x0: new ort.Tensor('float32', randn(n, 1), [o.batch, 3, 32, 32]), x1: new ort.Tensor('float32', randn(n, 2), [o.batch, 3, 32, 32]) };
  const scalars = { lr: 0.06, weightDecay: 5e-4 };
  let stateBytes = 0;
  for (const v of variants) {
    const { model, params, buffers } = buildSimclrStep({ batch: o.batch, width: o.width });
    v.runner = await TrainStepRunner.create(model, initParameters([...params, ...buffers], new Rng(0)), { device: 'webgpu', threads: 1, ...v.opts });
    if (v.runner.device !== 'webgpu') throw new Error(`${v.name}: got device ${v.runner.device}`);
    v.times = [];
    v.losses = [];
    stateBytes = model.state.reduce((s, e) => s + e.shape.reduce((a, d) => a * d, 1) * (e.dtype === 'int64' ? 8 : 4), 0);
  }
  // Interleaved: every step index runs each variant once, so load changes hit all alike.
  for (let i = 0; i < o.warmup + o.steps; i++) {
    for (const v of variants) {
      const t0 = process.hrtime.bigint();
      const r = await v.runner.step(feeds, scalars);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      v.losses.push(r.loss);
      if (i >= o.warmup) v.times.push(ms);
    }
  }
  const resident = variants[1].runner;
  const t0 = process.hrtime.bigint();
  for (const e of resident.model.state) resident.state.data(e.name);
  const readMs = Number(process.hrtime.bigint() - t0) / 1e6;

  console.log(`WebGPU on ${adapter}`);
  console.log(`ResNet-18-CIFAR SimCLR step, width ${o.width}, batch ${o.batch}, state ${(stateBytes / 1e6).toFixed(1)} MB in ${resident.model.state.length} tensors; ${o.steps} timed steps after ${o.warmup} warm-up, interleaved`);
  const base = median(variants[0].times);
  for (const v of variants) {
    const m = median(v.times);
    console.log(`  ${v.name.padEnd(14)} median ${m.toFixed(1).padStart(8)} ms  x${(m / base).toFixed(2)}  (${v.label})`);
  }
  console.log(`  read-back of the whole resident state (checkpoint/export/eval): ${readMs.toFixed(1)} ms`);
  const same = (a, b) => a.every((x, i) => x === b[i]);
  console.log(`  losses resident == transfer: ${same(variants[1].losses, variants[0].losses)}; NHWC == NCHW: ${same(variants[2].losses, variants[1].losses)}`);
  for (const v of variants) await v.runner.release();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
