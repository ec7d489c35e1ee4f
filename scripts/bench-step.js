#!/usr/bin/env node
/**
 * npm run bench:step — times ssl-bench's ResNet-18-CIFAR SimCLR training step against the same
 * model in PyTorch (scripts/torch_reference.py bench), in one run on this machine.
 *
 * Both sides do the same work per step: two views of batch×3×32×32 forwarded as separate batches
 * through ResNet-18-CIFAR (3x3 stem, no max-pool) + SimCLR head Lin(512→512, nb)–BN–ReLU–
 * Lin(512→128, nb)–BN, NT-Xent (τ = 0.5), backward, SGD (lr 0.06, momentum 0.9, wd 5e-4), BN in
 * training mode (running statistics updated). Fixed random inputs; median over --steps after 2
 * warm-up steps. Peak memory: each process's peak RSS (Node: process.resourceUsage().maxRSS).
 * Ratios: of the two medians, of the fastest steps, and the median of the per-round ratios (each
 * round runs ssl-bench's steps, then PyTorch's, so its ratio sees one stretch of machine load).
 *
 *   node scripts/bench-step.js [--steps 10] [--rounds 2] [--batch 128] [--width 16,32,64] [--threads N]
 *        [--exec sequential|parallel] [--outputs fresh|pingpong] [--profile] [--no-spin] [--nchwc auto|off] [--no-torch]
 *        [--allow-reference-blas] [--device cpu|webgpu|cuda] [--json]
 *
 * --width is the first stage's channel count: 64 = the real ResNet-18 (config width 1), 16 = width
 * 0.25 and 8 = width 0.125 (the CPU suites' models). Several widths (a comma
 * list) run one child process each, so every width's peak RSS is its own, and a table of the
 * ratios closes the run.
 *
 * Fairness: the PyTorch side reports the BLAS library its process loaded and a measured SGEMM
 * rate. Debian's torch on the reference BLAS runs its Linear layers ~25x slower, which would
 * flatter ssl-bench: the bench refuses to compare against it unless --allow-reference-blas, and
 * then says so on every line. Threads: both sides use --threads (capped at the core count). --profile writes an ORT
 * profile (JSON trace) and prints the time per op type and per op and input shapes. --no-spin makes ORT's idle threads sleep
 * instead of spinning (on a loaded shared machine: median 12.8 s vs 15.0 s at batch 64, A/B).
 * --nchwc auto (default, what `ssl-bench run` uses on the CPU): ORT's NCHWc convolutions at this
 * CPU's channel block (16 with AVX-512F, 8 with AVX2) after the self-check of
 * src/engine/conv-layout.ts, opened by createSession as in a run; off: plain ONNX Conv (run --nchwc off).
 * scripts/bench-embed.js does the same comparison for the kNN embedding (inference) throughput.
 *
 * --device webgpu|cuda runs ssl-bench's step on that execution provider (the runner's device
 * option) and PyTorch on CUDA (torch.cuda.synchronize() around each timed step; its memory is
 * torch.cuda.max_memory_allocated, so no memory ratio is printed: ORT's GPU memory is not readable
 * from here). Without a CUDA device PyTorch falls back to the CPU and says so. The BLAS refusal is
 * about CPU BLAS and does not apply to CUDA PyTorch. Python: env SSL_BENCH_TORCH_PYTHON (default
 * /usr/bin/python3; on the GPU machine /opt/torch/.venv/bin/python3, see scripts/device-check.sh).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', p));
const TORCH_PYTHON = process.env.SSL_BENCH_TORCH_PYTHON || '/usr/bin/python3';
const TORCH_HELP = 'PyTorch reference unavailable: install Debian\'s PyTorch and a threaded BLAS with\n'
  + '  sudo apt-get install python3-torch libopenblas0-pthread\n'
  + '(/usr/bin/python3 is used because Debian\'s python3-torch is importable only from it; without\n'
  + 'libopenblas0-pthread torch\'s Linear layers fall back to the reference BLAS, ~25x slower).';

function parseArgs(argv) {
  const o = { steps: 10, rounds: 2, batch: 128, widths: [64], allowReferenceBlas: false, json: false, threads: os.availableParallelism(), exec: 'sequential', outputs: 'fresh', profile: false, torch: true, warmup: 2, nchwc: 'auto', device: 'cpu' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} must be an integer >= 1`);
      return v;
    };
    if (a === '--steps') o.steps = int();
    else if (a === '--batch') o.batch = int();
    else if (a === '--width') {
      o.widths = val().split(',').map((w) => Number(w.trim()));
      if (o.widths.some((w) => !Number.isInteger(w) || w < 1)) throw new Error('--width takes integers >= 1, comma-separated (e.g. 16,32,64)');
    }
    else if (a === '--allow-reference-blas') o.allowReferenceBlas = true;
    else if (a === '--json') o.json = true;
    else if (a === '--threads') o.threads = int();
    else if (a === '--warmup') o.warmup = int();
    else if (a === '--rounds') o.rounds = int();
    else if (a === '--exec') o.exec = val();
    else if (a === '--outputs') o.outputs = val();
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--no-spin') o.spinning = false;
    else if (a === '--nchwc') o.nchwc = val();
    else if (a === '--device') o.device = val();
    else throw new Error(`unknown option ${a}; options: --steps --rounds --batch --width --threads --warmup --exec --outputs --profile --no-spin --nchwc --no-torch --allow-reference-blas --device --json`);
  }
  const cores = os.availableParallelism();
  if (o.threads > cores) throw new Error(`--threads ${o.threads} is more than this machine's ${cores} cores; oversubscribed threads only measure contention`);
  if (!['sequential', 'parallel'].includes(o.exec)) throw new Error('--exec must be sequential or parallel');
  if (!['fresh', 'pingpong'].includes(o.outputs)) throw new Error('--outputs must be fresh or pingpong');
  if (!['auto', 'off'].includes(o.nchwc)) throw new Error('--nchwc must be auto or off');
  if (!['cpu', 'webgpu', 'cuda'].includes(o.device)) throw new Error('--device must be cpu, webgpu or cuda');
  return o;
}

/**
 * The SimCLR training step of torch_reference.py's SimCLR(width, hidden, out) in ssl-bench.
 * Parameter names: `backbone.*` as torch's, head `head.layers.<i>.*` (torch: `head.<i>.*`).
 */
function buildSimclrStep({ batch, width, hidden = 512, out = 128, size = 32, temperature = 0.5 }) {
  const { ResNet18Cifar, simclrProjectionHead } = dist('nn');
  const { ntXentLoss } = dist('losses/ntxent');
  const { sgd } = dist('optim');
  const { buildTrainStep } = dist('engine');
  const backbone = new ResNet18Cifar({ baseWidth: width });
  const head = simclrProjectionHead(backbone.featureDim, hidden, out);
  const params = [...backbone.parameters('backbone'), ...head.parameters('head')];
  const buffers = [...backbone.buffers('backbone'), ...head.buffers('head')];
  const spec = {
    name: 'simclr-resnet18-cifar',
    trainable: params,
    buffers,
    optimizer: sgd({ momentum: 0.9 }),
    build(step) {
      const b = step.forward(backbone, { prefix: 'backbone' });
      const h = step.forward(head, { prefix: 'head' });
      const x0 = step.input('x0', [batch, 3, size, size]);
      const x1 = step.input('x1', [batch, 3, size, size]);
      const z0 = head.forward(h, backbone.forward(b, x0));
      const z1 = head.forward(h, backbone.forward(b, x1));
      return { loss: ntXentLoss(z0, z1, temperature) };
    },
  };
  const model = { ...buildTrainStep(spec), spec };
  return { model, params, buffers, torchName: (name) => name.replace(/^head\.layers\./, 'head.') };
}

/** Deterministic N(0,1) floats (mulberry32 + Box-Muller). */
function randn(n, seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function torchAvailable() {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0;
}

/** 'cuda' when TORCH_PYTHON's torch sees a CUDA device, else 'cpu' with a line saying why. */
function torchCudaOrCpu() {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim() === 'True') return 'cuda';
  console.log(`PyTorch: no CUDA (${TORCH_PYTHON}: torch.cuda.is_available() is ${r.stdout.trim() || 'unknown'}); timing PyTorch on the CPU instead, so the ratio is NOT GPU vs GPU`);
  return 'cpu';
}

function summariseProfile(file) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byOp = new Map();
  const byShape = new Map();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args.op_name;
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    // The float inputs' shapes tell the layers apart (e.g. which conv's weight gradient a Gemm is).
    const shapes = (e.args.input_type_shape ?? []).flatMap((t) => Object.entries(t).filter(([type]) => type !== 'int64').map(([, dims]) => `[${dims.join(',')}]`));
    const key = `${op} ${shapes.join(' ')}`;
    const entry = byShape.get(key) ?? { us: 0, calls: 0 };
    entry.us += e.dur;
    entry.calls += 1;
    byShape.set(key, entry);
    total += e.dur;
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  console.log(`ORT profile ${file}: kernel time by op type (all profiled runs):`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${op.padEnd(22)} ${(us / 1e6).toFixed(2).padStart(8)} s  ${pct(us)}`);
  console.log('by op and input shapes (top 15):');
  for (const [key, { us, calls }] of [...byShape].sort((a, b) => b[1].us - a[1].us).slice(0, 15)) {
    console.log(`  ${(us / 1e6).toFixed(2).padStart(8)} s  ${pct(us)}  ${String(calls).padStart(5)} calls  ${key}`);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.widths.length === 1) {
    const r = await benchWidth({ ...o, width: o.widths[0] });
    if (o.json) console.log(JSON.stringify(r));
    if (r.refused) process.exitCode = 1;
    return;
  }
  // One child per width: peak RSS is per process.
  const rows = [];
  for (const width of o.widths) {
    const args = process.argv.slice(2).filter((a, i, all) => a !== '--width' && all[i - 1] !== '--width' && a !== '--json');
    const r = spawnSync(process.execPath, [__filename, ...args, '--width', String(width), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    const lines = r.stdout.trim().split('\n');
    for (const l of lines.slice(0, -1)) console.log(l);
    if (r.status !== 0 && !lines.length) throw new Error(`width ${width}: child exited ${r.status}`);
    rows.push({ width, ...JSON.parse(lines[lines.length - 1]) });
  }
  console.log(`\nwidth  ssl-bench s  PyTorch s  step ratio  per-round ratio  peak-RSS ratio  (medians; ratio < 1: ssl-bench faster)${o.device === 'cpu' ? '' : ` [ssl-bench on ${o.device}]`}`);
  for (const r of rows) {
    const t = r.torch;
    const memRatio = t && t.peak_rss_gb !== undefined ? (r.ours.peak_rss_gb / t.peak_rss_gb).toFixed(2).padStart(14) : '             -';
    console.log(`${String(r.width).padStart(5)}  ${r.ours.median_s.toFixed(3).padStart(11)}  ${t ? t.median_s.toFixed(3).padStart(9) : '        -'}  `
      + `${t ? (r.ours.median_s / t.median_s).toFixed(2).padStart(10) : '         -'}  ${r.round_ratio !== undefined ? r.round_ratio.toFixed(2).padStart(15) : '              -'}  ${memRatio}`
      + (t && t.device === 'cuda' ? '  [PyTorch on CUDA]' : '')
      + (t && t.device !== 'cuda' && t.blas.kind !== 'openblas' && t.blas.kind !== 'mkl' ? `  [PyTorch BLAS: ${t.blas.kind}]` : ''));
  }
  if (rows.some((r) => r.refused)) process.exitCode = 1;
}

async function benchWidth(o) {
  const ort = require('onnxruntime-node');
  const { TrainStepRunner } = dist('engine');
  const { initParameters } = dist('nn');
  const { Rng } = dist('data/rng');
  const { convLayoutOf } = dist('engine');
  const t0 = performance.now();
  const { model, params, buffers } = buildSimclrStep(o);
  const buildS = (performance.now() - t0) / 1000;
  const init = initParameters([...params, ...buffers], new Rng(0));
  const runner = await TrainStepRunner.create(model, init, {
    device: o.device, threads: o.threads, executionMode: o.exec, outputs: o.outputs, spinning: o.spinning, convLayout: o.nchwc,
    profilePrefix: o.profile ? path.join(os.tmpdir(), 'ssl-bench-step-profile') : undefined,
  });
  const n = o.batch * 3 * 32 * 32;
  const data = { x0: new ort.Tensor('float32', randn(n, 1), [o.batch, 3, 32, 32]), x1: new ort.Tensor('float32', randn(n, 2), [o.batch, 3, 32, 32]) };
  const useTorch = o.torch && torchAvailable();
  const torchDevice = useTorch && o.device !== 'cpu' ? torchCudaOrCpu() : 'cpu';
  // Rounds alternate ssl-bench and PyTorch steps so that load from other processes on a shared
  // machine hits both sides alike; medians and minima are over all timed steps.
  const rounds = useTorch ? Math.min(o.rounds, o.steps) : 1;
  const roundTimes = [];
  const torchRuns = [];
  let loss = NaN;
  for (let round = 0; round < rounds; round++) {
    const steps = Math.floor(o.steps / rounds) + (round < o.steps % rounds ? 1 : 0);
    const warmup = round === 0 ? o.warmup : 0;
    roundTimes.push([]);
    for (let i = 0; i < steps + warmup; i++) {
      const t = performance.now();
      loss = (await runner.step(data, { lr: 0.06, weightDecay: 5e-4 })).loss;
      if (i >= warmup) roundTimes[round].push((performance.now() - t) / 1000);
    }
    if (useTorch) torchRuns.push(runTorch({ batch: o.batch, size: 32, steps, width: o.width, threads: o.threads, warmup: round === 0 ? o.warmup : 1, ...(torchDevice === 'cpu' ? {} : { device: torchDevice }) }));
  }
  const times = roundTimes.flat();
  if (o.profile) {
    runner.session.endProfiling();
    summariseProfile(latestProfile());
  }
  const layout = convLayoutOf(runner.session);
  const ours = { median_s: median(times), peak_rss_gb: process.resourceUsage().maxRSS / 1024 ** 2, loss };
  console.log(`ssl-bench: model ${(model.modelBytes.length / 1e6).toFixed(1)} MB built in ${buildS.toFixed(1)} s; `
    + `step median ${ours.median_s.toFixed(3)} s over ${times.length} steps (min ${Math.min(...times).toFixed(3)} s), `
    + `peak RSS ${ours.peak_rss_gb.toFixed(2)} GB, loss ${loss.toFixed(4)} `
    + `[threads ${o.threads}, ${o.exec}, outputs ${o.outputs}, batch ${o.batch}, width ${o.width}, convs ${layout}${o.device === 'cpu' ? '' : `, device ${runner.device}`}]`);
  await runner.release();
  if (!o.torch) return { ours, torch: null };
  if (!useTorch) {
    console.log(TORCH_HELP);
    return { ours, torch: null, refused: true };
  }
  if (torchDevice === 'cuda') return reportTorchCuda(o, ours, times, torchRuns, rounds);
  const blas = torchRuns[0].blas;
  const blasLine = `PyTorch BLAS: ${blas.kind} (${blas.libraries.join(', ') || 'no BLAS library mapped'}), SGEMM 512³ ${blas.sgemm_gflops.toFixed(1)} GFLOP/s`;
  console.log(blasLine);
  if (blas.kind === 'reference' || blas.kind === 'unknown') {
    const msg = `PyTorch runs on the ${blas.kind} BLAS: its Linear layers are ~25x slower than with OpenBLAS, so a ratio would flatter ssl-bench. `
      + 'Install libopenblas0-pthread (apt-get install libopenblas0-pthread)';
    if (!o.allowReferenceBlas) {
      console.log(`REFUSED: ${msg}, or pass --allow-reference-blas to compare anyway.`);
      return { ours, torch: null, refused: true };
    }
    console.log(`WARNING (--allow-reference-blas): ${msg}. The ratio below is NOT a fair comparison.`);
  }
  const torchTimes = torchRuns.flatMap((r) => r.times_s);
  const torch = { median_s: median(torchTimes), peak_rss_gb: Math.max(...torchRuns.map((r) => r.peak_rss_gb)), loss: torchRuns[torchRuns.length - 1].loss };
  console.log(`PyTorch ${torchRuns[0].torch}: step median ${torch.median_s.toFixed(3)} s over ${torchTimes.length} steps (min ${Math.min(...torchTimes).toFixed(3)} s), `
    + `peak RSS ${torch.peak_rss_gb.toFixed(2)} GB, loss ${torch.loss.toFixed(4)} [threads ${torchRuns[0].threads}, ${rounds} rounds interleaved]`);
  // Each round times both sides back to back, so a round's ratio sees one stretch of machine load;
  // their median is less moved by load that changes between rounds than the ratio of medians.
  const roundRatios = roundTimes.map((t, i) => median(t) / median(torchRuns[i].times_s));
  const paired = median(roundRatios);
  console.log(`ratio ssl-bench / PyTorch: ${(ours.median_s / torch.median_s).toFixed(2)} (median step), `
    + `${(Math.min(...times) / Math.min(...torchTimes)).toFixed(2)} (fastest step), `
    + `${paired.toFixed(2)} (median of ${rounds} per-round ratios, ${Math.min(...roundRatios).toFixed(2)}-${Math.max(...roundRatios).toFixed(2)}), `
    + `${(ours.peak_rss_gb / torch.peak_rss_gb).toFixed(2)} (peak RSS)`
    + (blas.kind === 'openblas' || blas.kind === 'mkl' ? '' : '  [UNFAIR: reference BLAS]'));
  return { ours, torch: { ...torch, blas, threads: torchRuns[0].threads }, round_ratio: paired };
}

/** The PyTorch-on-CUDA lines: no BLAS check (CPU BLAS only), CUDA peak memory instead of a memory ratio. */
function reportTorchCuda(o, ours, times, torchRuns, rounds) {
  const torchTimes = torchRuns.flatMap((r) => r.times_s);
  const first = torchRuns[0];
  const torch = { median_s: median(torchTimes), peak_cuda_gb: Math.max(...torchRuns.map((r) => r.peak_cuda_gb)), loss: torchRuns[torchRuns.length - 1].loss };
  console.log(`PyTorch ${first.torch} on ${first.gpu}: step median ${torch.median_s.toFixed(4)} s over ${torchTimes.length} steps (min ${Math.min(...torchTimes).toFixed(4)} s), `
    + `peak CUDA memory ${torch.peak_cuda_gb.toFixed(2)} GB (max_memory_allocated), loss ${torch.loss.toFixed(4)} [cudnn.benchmark ${first.cudnn_benchmark}, TF32 conv ${first.tf32_conv}, TF32 matmul ${first.tf32_matmul}, ${rounds} rounds interleaved]`);
  console.log(`ratio ssl-bench (${o.device}) / PyTorch (cuda): ${(ours.median_s / torch.median_s).toFixed(2)} (median step), `
    + `${(Math.min(...times) / Math.min(...torchTimes)).toFixed(2)} (fastest step); ssl-bench peak host RSS ${ours.peak_rss_gb.toFixed(2)} GB (its GPU memory is not measured)`);
  return { ours, torch: { ...torch, device: 'cuda', gpu: first.gpu } };
}

function runTorch(args) {
  const r = spawnSync(TORCH_PYTHON, [path.join(__dirname, 'torch_reference.py'), 'bench', JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`PyTorch reference failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function latestProfile() {
  const dir = os.tmpdir();
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('ssl-bench-step-profile') && f.endsWith('.json'))
    .map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0];
}

module.exports = { buildSimclrStep, randn };

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(e && e.exitCode ? e.exitCode : 1);
  });
}
