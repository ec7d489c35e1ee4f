import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ResNet18Cifar } from '../../src/nn/backbones/resnet-cifar';
import { initParameters } from '../../src/nn/init';
import { Rng } from '../../src/data/rng';
import { UserError } from '../../src/errors';
import {
  StateStore, TrainStepRunner, buildInferenceModel, createSession, embed, exportBackbone, loadCheckpoint,
  restoreState, saveCheckpoint, vulkanLoaderPresent, type CheckpointMeta, type HostData,
} from '../../src/engine';
import { randn } from '../support/graph-harness';
import { resnetMeanStep } from './support/resnet-mean-step';

const B = 4;
const S = 8;
const { backbone, specs, model } = resnetMeanStep('tiny-resnet', 2, B, S);
const images = Float32Array.from(randn(B * 3 * S * S, 4));
const opts = { threads: 1 } as const;
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-engine-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function trained(steps: number): Promise<TrainStepRunner> {
  const runner = await TrainStepRunner.create(model, initParameters(specs, new Rng(1)) as Map<string, HostData>, opts);
  for (let i = 0; i < steps; i++) await runner.step({ x: new ort.Tensor('float32', images, [B, 3, S, S]) }, { lr: 0.1, weightDecay: 5e-4 });
  return runner;
}

const meta: CheckpointMeta = {
  step: 2, epoch: 1, rng: new Rng(7).state(), sampler: { epoch: 1, position: 128 }, configHash: 'abc123', extra: { best: 0.5 },
};

describe('checkpoint', () => {
  it('round-trips every state entry bit for bit, with step, epoch, RNG and sampler state; resuming continues identically', async () => {
    const runner = await trained(2);
    const file = path.join(dir, 'checkpoint', 'last.ckpt');
    saveCheckpoint(file, runner.state, meta);
    const ckpt = loadCheckpoint(file, { configHash: 'abc123' });
    expect(ckpt.meta).toEqual(meta);
    const fresh = await TrainStepRunner.create(model, initParameters(specs, new Rng(99)) as Map<string, HostData>, opts);
    restoreState(fresh.state, ckpt, file);
    for (const name of model.stateNames) expect(Buffer.from((fresh.state.data(name) as Float32Array).buffer).equals(Buffer.from((runner.state.data(name) as Float32Array).buffer))).toBe(true);
    const feed = () => ({ x: new ort.Tensor('float32', images, [B, 3, S, S]) });
    const a = await runner.step(feed(), { lr: 0.1, weightDecay: 5e-4 });
    const b = await fresh.step(feed(), { lr: 0.1, weightDecay: 5e-4 });
    expect(b.loss).toBe(a.loss);
  });

  it('truncated, foreign, corrupt, other-config and mismatched files are one-line UserErrors', async () => {
    const runner = await trained(0);
    const file = path.join(dir, 'a.ckpt');
    saveCheckpoint(file, runner.state, meta);
    const bytes = fs.readFileSync(file);
    const check = (name: string, data: Uint8Array, pattern: RegExp, hash?: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, data);
      let err: unknown;
      try { loadCheckpoint(f, { configHash: hash }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).not.toContain('\n');
    };
    check('trunc.ckpt', bytes.subarray(0, bytes.length - 100), /truncated/);
    check('trunc-header.ckpt', bytes.subarray(0, 40), /truncated/);
    check('foreign.ckpt', Buffer.from('{"hello": 1}'), /not an ssl-bench checkpoint/);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 5] ^= 0xff;
    check('corrupt.ckpt', corrupt, /CRC mismatch/);
    check('config.ckpt', bytes, /belongs to config abc123, this run is zzz/, 'zzz');
    expect(() => loadCheckpoint(path.join(dir, 'missing.ckpt'))).toThrow(/cannot read checkpoint \(ENOENT\)/);

    // A checkpoint of a wider network: shapes differ, names match.
    const wide = new ResNet18Cifar({ baseWidth: 3 });
    const wideStore = new StateStore(
      [...wide.parameters('backbone').map((p) => ({ name: p.name, shape: p.shape, dtype: 'float32' as const, role: 'param' as const })),
        { name: 'extra.thing', shape: [1], dtype: 'float32' as const, role: 'buffer' as const }],
      new Map([...initParameters(wide.parameters('backbone'), new Rng(1)), ['extra.thing', Float32Array.of(1)]]),
    );
    const wideFile = path.join(dir, 'wide.ckpt');
    saveCheckpoint(wideFile, wideStore, meta);
    expect(() => restoreState(runner.state, loadCheckpoint(wideFile), wideFile))
      .toThrow(/wide\.ckpt: checkpoint does not match the model \(\d+ problems\): 'backbone\.conv1\.weight' is float32\[3,3,3,3\] in the checkpoint, float32\[2,3,3,3\] in the model; /);
  });
});

describe('inference model and export', () => {
  it('standalone backbone.onnx gives the same features as the inference model fed from the training state', async () => {
    const runner = await trained(2);
    const inference = buildInferenceModel(backbone, { prefix: 'backbone', input: { format: 'float32-nchw', channels: 3, height: S, width: S } });
    expect(inference.featureDim).toBe(16);
    const { session } = await createSession(inference.modelBytes, 'cpu', opts);
    // 4 images in chunks of 3: the second chunk has batch 1 (dynamic N).
    const viaState = await embed(session, inference, images, B, 3, [3, S, S], runner.state);
    const file = path.join(dir, 'backbone.onnx');
    const { featureDim } = exportBackbone(file, backbone, { get: (n) => runner.state.data(n) }, { prefix: 'backbone', channels: 3, imageSize: S });
    expect(featureDim).toBe(16);
    const standalone = await ort.InferenceSession.create(fs.readFileSync(file), { intraOpNumThreads: 1 });
    expect(standalone.inputNames).toEqual(['images']);
    expect(standalone.outputNames).toEqual(['features']);
    const r = await standalone.run({ images: new ort.Tensor('float32', images, [B, 3, S, S]) });
    expect(r.features.dims).toEqual([B, 16]);
    const exported = r.features.data as Float32Array;
    for (let i = 0; i < exported.length; i++) expect(Math.abs(exported[i] - viaState[i])).toBeLessThan(1e-5 * (1 + Math.abs(viaState[i])));
  });

  it('uint8 NHWC input is scaled, normalised and transposed in the graph', async () => {
    const runner = await trained(0);
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.243, 0.261];
    const u8 = Uint8Array.from({ length: B * S * S * 3 }, (_, i) => (i * 37) % 256);
    const nchw = new Float32Array(B * 3 * S * S);
    for (let n = 0; n < B; n++) for (let h = 0; h < S; h++) for (let w = 0; w < S; w++) for (let c = 0; c < 3; c++) {
      nchw[((n * 3 + c) * S + h) * S + w] = (u8[((n * S + h) * S + w) * 3 + c] / 255 - mean[c]) / std[c];
    }
    const a = buildInferenceModel(backbone, { prefix: 'backbone', input: { format: 'uint8-nhwc', channels: 3, height: S, width: S, mean, std } });
    const b = buildInferenceModel(backbone, { prefix: 'backbone', input: { format: 'float32-nchw', channels: 3, height: S, width: S } });
    const fa = await embed((await createSession(a.modelBytes, 'cpu', opts)).session, a, u8, B, B, [S, S, 3], runner.state);
    const fb = await embed((await createSession(b.modelBytes, 'cpu', opts)).session, b, nchw, B, B, [3, S, S], runner.state);
    for (let i = 0; i < fa.length; i++) expect(Math.abs(fa[i] - fb[i])).toBeLessThan(1e-4 * (1 + Math.abs(fb[i])));
  });
});

describe('sessions', () => {
  it('a missing CUDA EP is a UserError saying how to install it; auto falls back to the CPU and says so', async () => {
    const bytes = buildInferenceModel(backbone, { prefix: 'backbone', input: { format: 'float32-nchw', channels: 3, height: S, width: S } }).modelBytes;
    await expect(createSession(bytes, 'cuda', opts)).rejects.toThrow(/device cuda: .*npm run install:cuda/);
    const notes: string[] = [];
    const s = await createSession(bytes, 'auto', { ...opts, log: (m) => notes.push(m) });
    expect(s.device).toBe('cpu');
    expect(notes.join('\n')).toMatch(/device auto: cuda is not installed .*using the CPU/);
  });

  it('webgpu without a usable adapter is a UserError with the packages to install (skipped where a GPU is present)', async () => {
    if (vulkanLoaderPresent()) return;
    const bytes = buildInferenceModel(backbone, { prefix: 'backbone', input: { format: 'float32-nchw', channels: 3, height: S, width: S } }).modelBytes;
    await expect(createSession(bytes, 'webgpu', opts)).rejects.toThrow(/device webgpu: onnxruntime could not start the webgpu execution provider .*libvulkan1/);
  });
});
