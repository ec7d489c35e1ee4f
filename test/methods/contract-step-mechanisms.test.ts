/**
 * The method contract's per-step mechanisms in a real Pretraining run (tiny e2e config, 80
 * Fashion-MNIST images, 5 steps per epoch): a parameter group frozen in epoch 0 with a weight-decay
 * schedule, a pre-forward row normalisation of that group's weight (SwaV's prototypes), a scalar
 * schedule, and a beforeStep hook that every 3 steps resets the momentum networks to the online
 * ones and redraws a bank from the run's method stream (SMoG's pattern), with momentum 1 on those
 * steps. Checked step by step against host arithmetic, and a checkpoint → fresh process → resume
 * must continue bit for bit like the uninterrupted run.
 */
import { METHOD_PARAMS } from '../../src/config/method-params';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { div, gather, l2Normalize, stopGradient } from '../../src/graph';
import { ntXentLoss } from '../../src/losses';
import type { Method, MethodInstance, SchedulePoint } from '../../src/methods';
import { createBackbone, simclrProjectionHead } from '../../src/nn';
import { AssembledMethod } from '../../src/runner/assembled-method';
import { Pretraining } from '../../src/runner/pretrain';

const CONFIG = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');
const BANK = [4, 8];
const RESET_EVERY = 3;
const LAST = 'projection_head.layers.3.weight';
const isReset = (at: SchedulePoint) => at.globalStep > 0 && at.globalStep % RESET_EVERY === 0;

const toy: Method = {
  id: 'toy-mechanisms',
  section: 'test',
  label: 'Toy',
  description: 'a test method',
  params: METHOD_PARAMS.simclr,
  defaultPreset: 'simclr',
  create({ backbone, batchSize }) {
    const head = simclrProjectionHead(backbone.featureDim, 16, 8);
    const pairs: [string, string][] = [['backbone', 'momentum_backbone'], ['projection_head', 'momentum_projection_head']];
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: head, role: 'trained' },
        { prefix: 'momentum_backbone', module: backbone.module, role: 'ema', emaOf: 'backbone', initFrom: 'backbone' },
        { prefix: 'momentum_projection_head', module: head, role: 'ema', emaOf: 'projection_head', initFrom: 'projection_head' },
      ],
      state: [
        { name: 'toy.bank', shape: BANK, dtype: 'float32', initial: (rng) => Float32Array.from({ length: BANK[0] * BANK[1] }, () => rng.normal()) },
        { name: 'toy.resets', shape: [1], dtype: 'float32', initial: () => new Float32Array(1) },
      ],
      evalBackbone: 'backbone',
      paramGroups: [{ name: 'last', params: (n) => n === LAST, trains: (at) => at.epoch >= 1, weightDecay: (at, configured) => configured * (1 + at.globalStep) }],
      transforms: [{ name: 'normalize-last', stage: 'pre-forward', targets: (n) => n === LAST, apply: (w) => l2Normalize(w, -1) }],
      scalars: { 'toy.temperature': (at) => 0.5 + 0.01 * at.globalStep },
      emaMomentum: (at) => (isReset(at) ? 1 : 0.9),
      beforeStep(at, host) {
        if (!isReset(at)) return;
        for (const name of host.names) {
          for (const [online, momentum] of pairs) {
            if (name.startsWith(`${momentum}.`)) host.write(name, host.read(`${online}${name.slice(momentum.length)}`));
          }
        }
        host.write('toy.bank', Float32Array.from({ length: BANK[0] * BANK[1] }, () => host.rng.normal()));
        const resets = host.read('toy.resets');
        host.write('toy.resets', Float32Array.of(Number(resets[0]) + 1));
      },
      sampleInputs(rng, batch) {
        const order = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
        return { 'toy.perm': { dtype: 'int64', data: BigInt64Array.from(order, BigInt), dims: [batch] } };
      },
      buildLoss(step, [x0, x1]) {
        const perm = step.input('toy.perm', [batchSize], 'int64');
        const q = head.forward(step.forward(head, { prefix: 'projection_head' }), backbone.module.forward(step.forward(backbone.module, { prefix: 'backbone' }), x0));
        const kNet = step.forward(backbone.module, { prefix: 'momentum_backbone' });
        const kHead = step.forward(head, { prefix: 'momentum_projection_head' });
        const k = stopGradient(head.forward(kHead, backbone.module.forward(kNet, gather(x1, perm, 0))));
        const scaled = div(q, step.scalar('toy.temperature'));
        return { loss: ntXentLoss(scaled, gather(k, perm, 0)) };
      },
    };
  },
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-mechanisms-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function create(): Promise<Pretraining> {
  const config = loadConfig(CONFIG, { set: ['train.epochs=2', 'train.optimizer.weight_decay=0.01'] });
  return Pretraining.create(config, tmp, { dataSeed: config.seed, method: toy, threads: 1 });
}

const value = (t: Pretraining, name: string) => (t.runner.state.data(name) as Float32Array).slice();
const names = (t: Pretraining, prefix: string) => t.model.state.filter((e) => e.name.startsWith(`${prefix}.`) && e.role !== 'optim').map((e) => e.name);

function normalizeRows(v: Float32Array, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / cols; r++) {
    let n = 0;
    for (let c = 0; c < cols; c++) n += v[r * cols + c] ** 2;
    for (let c = 0; c < cols; c++) out[r * cols + c] = v[r * cols + c] / Math.sqrt(n);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('method contract: groups, transforms, scalars and host hooks in a run', () => {
  test('stepScalars: group LR/WD/update and method scalars at a SchedulePoint', () => {
    const config = loadConfig(CONFIG, {});
    const backbone = createBackbone('resnet18-cifar', { width: 0.0625, inChannels: 1, imageSize: 28 });
    const instance = toy.create({ config, params: {}, backbone, batchSize: 16 });
    const scaled: MethodInstance = { ...instance, paramGroups: [...instance.paramGroups!, { name: 'slow', params: (n) => n.startsWith('backbone.conv1'), lrScale: (at) => 0.1 * (at.epoch + 1) }] };
    const assembled = new AssembledMethod(scaled, new Rng(1));
    expect(assembled.groups).toEqual([
      { name: 'last', params: [LAST], lr: false, weightDecay: true, update: true, clippedWhileFrozen: false },
      { name: 'slow', params: ['backbone.conv1.weight'], lr: true, weightDecay: false, update: false, clippedWhileFrozen: false },
    ]);
    expect(assembled.scalars).toEqual(['toy.temperature']);
    const at = (epoch: number, globalStep: number): SchedulePoint => ({ epoch, totalEpochs: 2, globalStep, totalSteps: 10 });
    expect(assembled.stepScalars(at(0, 3), { lr: 0.2, weightDecay: 0.01 })).toEqual({
      lr: 0.2, weightDecay: 0.01, emaMomentum: 1,
      values: { 'group.last.weight_decay': 0.04, 'group.last.update': 0, 'group.slow.lr': 0.2 * 0.1, 'toy.temperature': 0.53 },
    });
    expect(assembled.stepScalars(at(1, 7), { lr: 0.2, weightDecay: 0.01 })).toEqual({
      lr: 0.2, weightDecay: 0.01, emaMomentum: 0.9,
      values: { 'group.last.weight_decay': 0.01 * 8, 'group.last.update': 1, 'group.slow.lr': 0.2 * 0.2, 'toy.temperature': 0.5 + 0.07 },
    });
    // Declaration errors are caught when the method is assembled.
    expect(() => new AssembledMethod({ ...instance, paramGroups: [{ name: 'none', params: () => false }] }, new Rng(1))).toThrow(/'none' holds no trained parameter/);
    expect(() => new AssembledMethod({ ...instance, transforms: [{ ...instance.transforms![0], targets: () => false }] }, new Rng(1))).toThrow(/'normalize-last' matches no parameter/);
    expect(() => new AssembledMethod({ ...instance, scalars: { lr: () => 1 } }, new Rng(1))).toThrow(/'lr' is a name the training step reserves/);
    expect(() => new AssembledMethod({ ...instance, emaMomentum: undefined }, new Rng(1))).toThrow(/no emaMomentum schedule/);
  });

  test('frozen in epoch 0 yet re-normalised every step; momentum networks reset to the online ones every 3 steps', async () => {
    const t = await create();
    const momentumNames = [...names(t, 'momentum_backbone'), ...names(t, 'momentum_projection_head')];
    const onlineOf = (n: string) => n.replace(/^momentum_/, '');
    for (let s = 0; s < 7; s++) {
      const before = new Map(t.model.stateNames.map((n) => [n, value(t, n)]));
      await t.runStep();
      const last = value(t, LAST);
      const normalized = normalizeRows(before.get(LAST)!, 16);
      if (s < 5) {
        // Epoch 0: the group is frozen — the stored value is the pre-forward normalisation only.
        expect(maxAbsDiff(last, normalized)).toBeLessThan(1e-6);
        expect(Array.from(value(t, `${LAST}#momentum_buffer`)).every((v) => v === 0)).toBe(true);
      } else {
        expect(maxAbsDiff(last, normalized)).toBeGreaterThan(1e-4);
      }
      if (s === RESET_EVERY || s === 2 * RESET_EVERY) {
        // m = 1 on a reset step: the teacher is bitwise the online network as it was before the step.
        for (const n of momentumNames.filter((x) => t.model.state.find((e) => e.name === x)!.role === 'ema')) expect(value(t, n)).toEqual(before.get(onlineOf(n)));
        expect(value(t, 'toy.bank')).not.toEqual(before.get('toy.bank'));
      } else {
        expect(value(t, 'toy.bank')).toEqual(before.get('toy.bank'));
        const w = 'momentum_projection_head.layers.0.weight';
        const expected = before.get(w)!.map((v, i) => 0.9 * v + 0.1 * before.get(onlineOf(w))![i]);
        expect(maxAbsDiff(value(t, w), expected)).toBeLessThan(1e-6);
      }
    }
    expect(value(t, 'toy.resets')[0]).toBe(2);
  });

  test('checkpoint → fresh training → load: steps across a reset and the unfreezing are bitwise those of the uninterrupted run', async () => {
    const a = await create();
    const lossesA: number[] = [];
    for (let s = 0; s < 7; s++) lossesA.push((await a.runStep()).loss);

    const b = await create();
    await b.runStep();
    await b.runStep();
    const file = path.join(tmp, 'mechanisms.ckpt');
    await b.saveCheckpoint(file, null);
    const c = await create();
    await c.loadCheckpoint(file);
    const lossesC: number[] = [];
    for (let s = 2; s < 7; s++) lossesC.push((await c.runStep()).loss);
    expect(lossesC).toEqual(lossesA.slice(2));
    for (const e of a.model.state) expect(c.runner.state.data(e.name)).toEqual(a.runner.state.data(e.name));
  });
});
