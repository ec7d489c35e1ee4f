/**
 * resnet18-cifar against scripts/torch_reference.py's ResNet18Cifar (float64) with identical
 * weights: features, running statistics after a training pass, and gradients of sum(features·w)
 * for plain BatchNorm2d and for SplitBatchNorm. Skipped, with a note, where /usr/bin/python3 has
 * no torch (CI); `apt-get install python3-torch` enables it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/data/rng';
import { Graph, grad, mul, reduceSum } from '../../src/graph';
import { GraphForwardContext, createBackbone, initParameters } from '../../src/nn';
import { randn, runGraph, type Feed } from '../support/graph-harness';
import { maxAbs, maxAbsDiff } from './support';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn('SKIPPED: PyTorch cross-check of resnet18-cifar (no torch/numpy importable from /usr/bin/python3; apt-get install python3-torch)');
const itTorch = hasTorch ? it : it.skip;

const BASE = 8; // width 0.125
const X_SHAPE = [4, 3, 32, 32];

interface Result { features: Float32Array; tensors: Map<string, Float32Array> }

function setup(splitBn: number) {
  const { module } = createBackbone('resnet18-cifar', { width: BASE / 64, splitBn });
  const specs = [...module.parameters(), ...module.buffers()];
  const values = initParameters(specs, new Rng(2024 + splitBn));
  // Non-trivial running statistics, so eval mode is not close to an identity normalisation.
  for (const s of module.buffers()) {
    values.set(s.name, Float32Array.from(randn(s.shape[0], s.name.length + splitBn, 0.1), (v) => (s.name.endsWith('running_var') ? 1 + Math.abs(v) : v)));
  }
  const x = Float32Array.from(randn(X_SHAPE.reduce((a, d) => a * d), 77));
  const cotangent = Float32Array.from(randn(X_SHAPE[0] * 8 * BASE, 78));
  return { module, specs, values, x, cotangent };
}

/** Our side: features, next buffers and (training) gradients of sum(features·w) through ORT. */
async function ours(splitBn: number, training: boolean): Promise<Result> {
  const { module, values, x, cotangent } = setup(splitBn);
  const g = new Graph('resnet18-cifar');
  const input = g.input('x', X_SHAPE);
  const ctx = new GraphForwardContext(g, module, { training });
  const features = module.forward(ctx, input);
  g.output('features', features);
  const names: string[] = [];
  ctx.bufferUpdates.forEach((t, name) => {
    names.push(name);
    g.output(`next:${name}`, t);
  });
  if (training) {
    const loss = reduceSum(mul(features, g.constant(cotangent, features.shape)));
    const params = [...ctx.parameterTensors.entries()];
    const grads = grad(loss, [input, ...params.map(([, t]) => t)]);
    g.output('grad:x', grads[0]);
    params.forEach(([name], i) => {
      names.push(`grad.${name}`);
      g.output(`grad:${name}`, grads[i + 1]);
    });
    names.push('grad.x');
  }
  const feeds: Record<string, Feed> = { x: { data: x, shape: X_SHAPE } };
  for (const t of g.inputs) if (t.name !== 'x') feeds[t.name] = { data: values.get(t.name)!, shape: t.shape as number[] };
  const out = await runGraph(g, feeds);
  const tensors = new Map<string, Float32Array>();
  for (const n of names) tensors.set(n, out[n.startsWith('grad.') ? `grad:${n.slice(5)}` : `next:${n}`].data as Float32Array);
  return { features: out.features.data as Float32Array, tensors };
}

function torch(splitBn: number, training: boolean): Result & { names: string[] } {
  const { specs, values, x, cotangent } = setup(splitBn);
  const dir = mkdtempSync(join(tmpdir(), 'nn-torch-'));
  try {
    const write = (name: string, data: Float32Array, shape: readonly number[]) => {
      const file = `in.${name}.f32`;
      writeFileSync(join(dir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return { file, shape };
    };
    const manifest = {
      tensors: Object.fromEntries(specs.map((s) => [s.name, write(s.name, values.get(s.name)!, s.shape)])),
      inputs: { x: write('x', x, X_SHAPE) },
      training,
      cotangent: training ? write('cotangent', cotangent, [X_SHAPE[0], 8 * BASE]) : null,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const args = { manifest: join(dir, 'manifest.json'), folder: dir, width: BASE, split_bn: splitBn, threads: 1 };
    const res = spawnSync(PYTHON, ['scripts/torch_reference.py', 'forward', JSON.stringify(args)], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`torch_reference.py forward failed: ${res.stderr}`);
    const out = JSON.parse(res.stdout) as { names: string[]; outputs: Record<string, { file: string }> };
    const read = (name: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, out.outputs[name].file))).buffer);
    const tensors = new Map(Object.keys(out.outputs).filter((k) => k !== 'features').map((k) => [k, read(k)]));
    return { names: out.names, features: read('features'), tensors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const relErr = (a: Float32Array, b: Float32Array) => maxAbsDiff(a, b) / Math.max(maxAbs(b), 1e-12);

describe('resnet18-cifar (width 0.125) vs PyTorch float64 with the same weights', () => {
  itTorch.each([
    [1, false], [1, true], [4, false], [4, true],
  ])('splitBn %d, training %s: same names; features, running stats and gradients (max rel err per tensor < 1e-4)', async (splitBn, training) => {
    const [a, b] = [await ours(splitBn, training), torch(splitBn, training)];
    expect(b.names).toEqual(setup(splitBn).specs.map((s) => s.name));
    const featErr = relErr(a.features, b.features);
    let stats = 0;
    let grads = 0;
    let worst = '';
    for (const [name, t] of b.tensors) {
      const mine = a.tensors.get(name);
      if (!mine && !training && !name.startsWith('grad.')) continue; // eval mode leaves buffers unchanged
      expect(mine).toBeDefined();
      const err = relErr(mine!, t);
      if (name.startsWith('grad.')) {
        if (err > grads) worst = name;
        grads = Math.max(grads, err);
      } else stats = Math.max(stats, err);
    }
    console.log(`splitBn ${splitBn} training ${training}: features ${featErr.toExponential(2)}, running stats ${stats.toExponential(2)}, gradients ${grads.toExponential(2)} (worst ${worst || '-'})`);
    expect(featErr).toBeLessThan(1e-4);
    expect(stats).toBeLessThan(1e-4);
    expect(grads).toBeLessThan(1e-4);
    if (training) expect(b.tensors.size).toBe(a.tensors.size);
  });
});
