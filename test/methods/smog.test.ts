/**
 * The SMoG method step by step against a reference built from the probed network outputs
 * (test/losses/smog-reference.ts): group targets from the momentum view, group update, the bank,
 * the view swap on odd batches, and the reset (k-means of the bank, momentum networks = online
 * copies) every reset_interval steps; then real steps on embedded Fashion-MNIST.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { clusterBank } from '../../src/methods/smog';
import type { HostData } from '../../src/engine/state-store';
import { smogPredictionHead, smogProjectionHead } from '../../src/nn/heads';
import { Pretraining } from '../../src/runner/pretrain';
import { referenceGroups, referenceLoss } from '../losses/smog-reference';
import { buildMethodStep, createMethod, maxAbsDiff, probe, rows, type MethodStep } from './support';

const K = 4;
const D = 8;
const BANK = 16;
const SET = [
  `method.params.groups=${K}`, `method.params.memory_bank_size=${BANK}`, 'method.params.reset_interval=2', 'method.params.kmeans_n_init=2',
  'method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${D}`, 'method.params.prediction_hidden_dim=16',
];
const MOMENTUM = ['backbone_momentum.', 'projection_head_momentum.'];

const snapshot = (s: MethodStep) => new Map<string, HostData>(s.model.state.map((e) => [e.name, s.value(e.name)]));

/** e0, p0 (online, first view) and e1 (momentum, second view) as the step computed them. */
async function outputs(s: MethodStep, values: Map<string, HostData>, views: Float32Array[], swapped: boolean) {
  const proj = smogProjectionHead(s.backbone.featureDim, 16, D);
  const pred = smogPredictionHead(D, 16, D);
  const out = await probe(values, views, [s.batch, 3, s.size, s.size], (net, view) => {
    const bb = s.backbone.module;
    const e0 = proj.forward(net(proj, 'projection_head'), bb.forward(net(bb, 'backbone'), view(swapped ? 1 : 0)));
    const e1 = proj.forward(net(proj, 'projection_head_momentum'), bb.forward(net(bb, 'backbone_momentum'), view(swapped ? 0 : 1)));
    return { e0, p0: pred.forward(net(pred, 'prediction_head'), e0), e1 };
  });
  return { e0: rows(out.e0, D), p0: rows(out.p0, D), e1: rows(out.e1, D) };
}

/** Online values from before the step, momentum values after its EMA (the optimizer leaves them alone). */
function forwardValues(before: Map<string, HostData>, after: Map<string, HostData>): Map<string, HostData> {
  return new Map([...before].map(([name, v]) => [name, MOMENTUM.some((p) => name.startsWith(p)) ? after.get(name)! : v]));
}

describe('smog method (docs/methods.md §4.17)', () => {
  it('networks, state and schedule: momentum copies, raw-row bank, normalised U(0,1) groups, reset every interval', () => {
    const { method } = createMethod('smog', { set: SET });
    expect(method.networks.map((n) => [n.prefix, n.role, n.emaOf ?? '', n.initFrom ?? ''])).toEqual([
      ['backbone', 'trained', '', ''], ['projection_head', 'trained', '', ''], ['prediction_head', 'trained', '', ''],
      ['backbone_momentum', 'ema', 'backbone', 'backbone'], ['projection_head_momentum', 'ema', 'projection_head', 'projection_head'],
    ]);
    const groups = method.state!.find((e) => e.name === 'smog.groups')!.initial(new Rng(1)) as Float32Array;
    for (const r of rows(groups, D)) {
      expect(r.every((v) => v >= 0)).toBe(true);
      expect(Math.hypot(...r)).toBeCloseTo(1, 6);
    }
    const at = (globalStep: number) => ({ epoch: 0, totalEpochs: 2, globalStep, totalSteps: 10 });
    expect([0, 1, 2, 3, 4].map((s) => method.emaMomentum!(at(s)))).toEqual([0.99, 0.99, 1, 0.99, 1]);
    // The swap follows the batch index within the epoch (5 steps per epoch here): step 5 is batch 0.
    expect([0, 1, 4, 5, 6].map((s) => method.scalars!['smog.swap']({ ...at(s), epoch: Math.floor(s / 5) }))).toEqual([0, 1, 0, 0, 1]);
  });

  it('steps 0-2 follow the reference: loss, groups, bank, swap on the odd batch, and the reset at step 2', async () => {
    const s = await buildMethodStep('smog', { set: SET });
    let groups = rows(s.initial.get('smog.groups')!, D);
    const bankRows: number[][] = [];
    for (const step of [0, 1]) {
      const before = snapshot(s);
      const { loss, views } = await s.step(10 + step);
      const o = await outputs(s, forwardValues(before, snapshot(s)), views, step === 1);
      expect(loss).toBeCloseTo(referenceLoss(o.e0, o.p0, o.e1, groups, 0.99, 0.1), 4);
      groups = referenceGroups(o.e0, groups, 0.99);
      expect(maxAbsDiff(s.value('smog.groups'), groups.flat())).toBeLessThan(1e-4);
      bankRows.push(...o.e0);
      expect(maxAbsDiff(s.value('smog.bank').subarray(0, bankRows.length * D), bankRows.flat())).toBeLessThan(1e-4);
      for (const name of s.model.state.filter((e) => e.role === 'ema').map((e) => e.name)) {
        const online = before.get(name.replace('_momentum', ''))! as Float32Array;
        const expected = Array.from(before.get(name)! as Float32Array, (m, i) => 0.99 * m + 0.01 * online[i]);
        expect(maxAbsDiff(s.value(name), expected)).toBeLessThan(1e-6);
      }
    }
    expect(Number(s.value('smog.ptr')[0])).toBe(0);
    // Step 2 resets: groups = normalised k-means of the bank (seeded from the 'method' stream), momentum = online.
    const before = snapshot(s);
    const teacher = s.model.state.filter((e) => e.role === 'ema').map((e) => e.name);
    const onlineOf = (name: string) => name.replace('_momentum.', '.');
    expect(teacher.some((n) => maxAbsDiff(before.get(n)!, before.get(onlineOf(n))!) > 1e-6)).toBe(true);
    const { loss, views } = await s.step(12);
    const after = snapshot(s);
    for (const n of teacher) expect(Array.from(after.get(n)! as Float32Array)).toEqual(Array.from(before.get(onlineOf(n))! as Float32Array));
    const seed = new Rng(0).fork('method').int(2 ** 32);
    const clustered = rows(await clusterBank(before.get('smog.bank') as Float32Array, BANK, D, K, seed, 2), D);
    const o = await outputs(s, forwardValues(before, after), views, false);
    expect(loss).toBeCloseTo(referenceLoss(o.e0, o.p0, o.e1, clustered, 0.99, 0.1), 4);
    expect(maxAbsDiff(s.value('smog.groups'), referenceGroups(o.e0, clustered, 0.99).flat())).toBeLessThan(1e-4);
  });

  it('e1 comes from the momentum networks: with their last projection layer flipped the targets, and the loss, follow the flip', async () => {
    const s = await buildMethodStep('smog', { set: SET });
    const last = s.model.state.filter((e) => e.role === 'ema' && e.name.startsWith('projection_head_momentum.') && e.shape.length === 2).map((e) => e.name).pop()!;
    const flipped = Float32Array.from(s.value(last) as Float32Array, (v) => -v);
    s.runner.state.set(last, new ort.Tensor('float32', flipped, s.model.state.find((e) => e.name === last)!.shape));
    const before = snapshot(s);
    const { loss, views } = await s.step(20);
    const groups = rows(s.initial.get('smog.groups')!, D);
    const withMomentum = await outputs(s, forwardValues(before, snapshot(s)), views, false);
    const withOnline = await outputs(s, new Map([...before].map(([n, v]) => [n, MOMENTUM.some((p) => n.startsWith(p)) ? before.get(n.replace('_momentum', ''))! : v])), views, false);
    const expected = referenceLoss(withMomentum.e0, withMomentum.p0, withMomentum.e1, groups, 0.99, 0.1);
    const ifOnline = referenceLoss(withOnline.e0, withOnline.p0, withOnline.e1, groups, 0.99, 0.1);
    expect(Math.abs(expected - ifOnline)).toBeGreaterThan(1e-2);
    expect(loss).toBeCloseTo(expected, 4);
  });
});

describe('smog on real data (embedded Fashion-MNIST)', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-smog-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('trains 7 steps with resets at steps 3 and 6: finite loss that moves, groups re-clustered, kNN evaluates', async () => {
    const config = loadConfig(path.join(__dirname, 'tiny-smog.yaml'), { env: {} });
    const t = await Pretraining.create(config, tmp, { dataSeed: config.seed });
    const losses: number[] = [];
    const groups: Float32Array[] = [];
    for (let i = 0; i < 7; i++) {
      losses.push((await t.runStep()).loss);
      groups.push((t.runner.state.data('smog.groups') as Float32Array).slice());
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-3);
    // Between resets the groups move by at most (1 − β) of a step; a reset replaces them by unit-norm centroids.
    for (const g of [groups[3], groups[6]]) for (const r of rows(g, 16)) expect(Math.hypot(...r)).toBeLessThan(1.5);
    expect(maxAbsDiff(groups[3], groups[2])).toBeGreaterThan(maxAbsDiff(groups[2], groups[1]));
    const metrics = await t.evaluate();
    expect(metrics.knn_top1).toBeGreaterThan(0);
  });
});
