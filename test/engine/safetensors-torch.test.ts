/**
 * backbone.safetensors loads into PyTorch: exportBackbone writes backbone.onnx and
 * backbone.safetensors; scripts/torch_backbone.py (Debian's torch, its own safetensors reader)
 * builds torchvision's resnet18 / resnet50 (resnet18-cifar: conv1 3×3, maxpool and stem relu
 * Identity), or the same modules written from torch.nn with torchvision's / timm's names
 * (`--impl reference`), loads the file with load_state_dict(strict=True) and embeds the same images
 * as backbone.onnx run here by onnxruntime-node. Skipped, with a note, where /usr/bin/python3 has no
 * torch (`apt-get install python3-torch`; torchvision cases need python3-torchvision).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { exportBackbone, type HostData } from '../../src/engine';
import { createBackbone, type BackboneOptions, type Module } from '../../src/nn';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, '../../scripts/torch_backbone.py');
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
const hasTorchvision = hasTorch && spawnSync(PYTHON, ['-c', 'import torchvision'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn('SKIPPED: backbone.safetensors into PyTorch (no torch/numpy importable from /usr/bin/python3; apt-get install python3-torch)');
else if (!hasTorchvision) console.warn('SKIPPED in part: backbone.safetensors into torchvision itself (no torchvision; apt-get install python3-torchvision); the torch.nn reference modules are still checked');
const itTorch = hasTorch ? it : it.skip;

interface Case {
  id: string;
  opts: BackboneOptions;
  size: number;
  /** Width-1 RGB ResNets load into torchvision itself (where installed); the rest into the torch.nn reference modules. */
  torchvision: boolean;
}

const CASES: Record<string, Case> = {
  'resnet18-cifar': { id: 'resnet18-cifar', opts: { width: 1 }, size: 16, torchvision: true },
  resnet18: { id: 'resnet18', opts: { width: 1 }, size: 32, torchvision: true },
  resnet50: { id: 'resnet50', opts: { width: 1 }, size: 32, torchvision: true },
  'resnet18-cifar width 0.125, split BN': { id: 'resnet18-cifar', opts: { width: 0.125, splitBn: 8 }, size: 16, torchvision: false },
  'resnet50 width 1/16': { id: 'resnet50', opts: { width: 1 / 16 }, size: 32, torchvision: false },
  'vit-s16 (sin-cos pos_embed)': { id: 'vit-s16', opts: { width: 1 / 3, depth: 2, imageSize: 32 }, size: 32, torchvision: false },
  'vit-b32 (learned pos_embed)': { id: 'vit-b32', opts: { width: 1 / 12, depth: 1, imageSize: 64, posEmbed: 'learned' }, size: 64, torchvision: false },
};
const BATCH = 2;

interface Job { weights: string; impl: string; input: string; shape: number[]; out: string }
interface Report { impl: string; arch: string; feature_dim: number; tensors: number; features_shape: number[] }

/** Unit-variance uniform noise (an LCG; Math.imul hoisted: global lookups in a hot loop are slow under jest). */
function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const imul = Math.imul;
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 3.4641016;
  }
  return out;
}

/**
 * Random values for every parameter and buffer: weights with variance 2/fan_in, norm scales near 1,
 * biases and running means small, running variances ≥ 1, so that a tensor loaded into the wrong
 * place (or a BN buffer left at its default) changes the features.
 */
function randomWeights(module: Module, seed: number): Map<string, HostData> {
  const values = new Map<string, HostData>();
  let k = 0;
  for (const spec of [...module.parameters('backbone'), ...module.buffers('backbone')]) {
    const n = spec.shape.reduce((a, d) => a * d, 1);
    const v = noise(n, seed * 100003 + k++);
    const last = spec.name.slice(spec.name.lastIndexOf('.') + 1);
    const [scale, shift, abs] = last === 'running_var' ? [0.3, 1, true]
      : spec.shape.length === 1 && last === 'weight' ? [0.1, 1, false]
        : spec.shape.length === 1 ? [0.1, 0, false]
          : [Math.sqrt((2 * spec.shape[0]) / n), 0, false];
    for (let i = 0; i < n; i++) v[i] = shift + scale * (abs && v[i] < 0 ? -v[i] : v[i]);
    values.set(spec.name, v);
  }
  return values;
}

let dir: string;
const onnxFeatures = new Map<string, Float32Array>();
const jobs: (Job & { name: string })[] = [];
let reports: Report[] = [];

beforeAll(async () => {
  if (!hasTorch) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-safetensors-'));
  let seed = 0;
  for (const [name, c] of Object.entries(CASES)) {
    seed++;
    const { module, featureDim } = createBackbone(c.id, c.opts);
    const values = randomWeights(module, seed);
    const runDir = path.join(dir, name.replace(/\W+/g, '-'));
    const onnxFile = path.join(runDir, 'backbone.onnx');
    exportBackbone(onnxFile, module, values, { prefix: 'backbone', channels: 3, imageSize: c.size });
    const shape = [BATCH, 3, c.size, c.size];
    const x = noise(shape.reduce((a, d) => a * d), 4242 + seed);
    const session = await ort.InferenceSession.create(fs.readFileSync(onnxFile), { intraOpNumThreads: 1 });
    const r = await session.run({ images: new ort.Tensor('float32', x, shape) });
    expect(r.features.dims).toEqual([BATCH, featureDim]);
    onnxFeatures.set(name, r.features.data as Float32Array);
    const input = path.join(runDir, 'images.f32');
    fs.writeFileSync(input, x);
    const weights = path.join(runDir, 'backbone.safetensors');
    jobs.push({ name, weights, impl: c.torchvision && hasTorchvision ? 'torchvision' : 'reference', input, shape, out: path.join(runDir, 'torch.f32') });
  }
  const jobsFile = path.join(dir, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const run = spawnSync(PYTHON, [SCRIPT, '--jobs', jobsFile], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`torch_backbone.py failed:\n${run.stderr}`);
  reports = JSON.parse(run.stdout) as Report[];
}, 240000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('backbone.safetensors in PyTorch (load_state_dict strict=True, same features as backbone.onnx)', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const into = c.torchvision && hasTorchvision
      ? `torchvision.models.${c.id === 'resnet50' ? 'resnet50' : 'resnet18'}()${c.id === 'resnet18-cifar' ? ' with the CIFAR stem' : ''}`
      : `torch.nn modules with ${c.id.startsWith('vit') ? "timm's" : "torchvision's"} names`;
    itTorch(`${name}: ${into}`, () => {
      const i = jobs.findIndex((j) => j.name === name);
      const report = reports[i];
      expect(report.impl).toMatch(jobs[i].impl === 'torchvision' ? /^torchvision / : /^reference$/);
      expect(report.arch).toBe(c.id.startsWith('vit') ? 'vit' : c.id);
      if (c.id.startsWith('resnet')) expect(report.tensors).toBe(c.id === 'resnet50' ? 318 : 120);
      const ours = onnxFeatures.get(name)!;
      expect(report.features_shape).toEqual([BATCH, ours.length / BATCH]);
      const theirs = new Float32Array(Uint8Array.from(fs.readFileSync(jobs[i].out)).buffer);
      expect(theirs.length).toBe(ours.length);
      const scale = Math.max(1, ...Array.from(ours, Math.abs));
      let worst = 0;
      for (let k = 0; k < ours.length; k++) worst = Math.max(worst, Math.abs(ours[k] - theirs[k]));
      expect(worst / scale).toBeLessThan(1e-4);
      // The two images differ, so must their features (a model that ignores its input fails here).
      const half = ours.length / BATCH;
      expect(Math.max(...Array.from(ours.subarray(0, half), (v, k) => Math.abs(v - ours[half + k])))).toBeGreaterThan(1e-3 * scale);
    });
  }
});
