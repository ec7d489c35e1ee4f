/**
 * SwaV and SwaVQueue step by step against references computed from the networks' outputs (probe)
 * and a written-out Sinkhorn + swapped-prediction loop: prototype rows normalised before every
 * step (what the forward, the gradient and the update see), prototypes frozen in the first epochs,
 * per-crop queues (contents before the enqueue, wrap-around), queue scores joining Sinkhorn from
 * the stated epoch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import type { HostData } from '../../src/engine';
import { l2Normalize } from '../../src/graph';
import { swavProjectionHead } from '../../src/nn/heads';
import { SwavPrototypes } from '../../src/nn/swav-prototypes';
import { Pretraining } from '../../src/runner/pretrain';
import { buildMethodStep, createMethod, maxAbsDiff, probe, rows, type MethodStep } from './support';

const D = 8;
const K = 6;
const HEAD = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${D}`, `method.params.prototypes=${K}`];
const MULTI_CROP = ['augmentation.preset=swav', 'augmentation.overrides.n_local_views=1'];

type Rows = number[][];
const softmax = (r: number[]) => { const m = Math.max(...r); const e = r.map((v) => Math.exp(v - m)); const s = e.reduce((a, v) => a + v, 0); return e.map((v) => v / s); };
const unit = (r: number[]) => { const n = Math.max(Math.hypot(...r), 1e-12); return r.map((v) => v / n); };

function sinkhorn(s: Rows, eps = 0.05, iters = 3): Rows {
  const b = s.length;
  let q = s.map((r) => r.map((v) => Math.exp(v / eps)));
  const tot = q.flat().reduce((a, v) => a + v, 0);
  q = q.map((r) => r.map((v) => v / tot));
  for (let it = 0; it < iters; it++) {
    const colSums = Array.from({ length: K }, (_, k) => q.reduce((a, r) => a + r[k], 0));
    q = q.map((r) => r.map((v, k) => v / colSums[k] / K));
    q = q.map((r) => { const rs = r.reduce((a, v) => a + v, 0); return r.map((v) => v / rs / b); });
  }
  return q.map((r) => r.map((v) => v * b));
}

function swavRef(scores: Rows[], nHigh: number, queues?: Rows[], tau = 0.1): number {
  let loss = 0;
  for (let i = 0; i < nHigh; i++) {
    const q = queues ? sinkhorn([...scores[i], ...queues[i]]).slice(0, scores[i].length) : sinkhorn(scores[i]);
    let sub = 0;
    scores.forEach((sv, v) => {
      if (v === i) return;
      sub -= sv.reduce((a, row, b) => a + q[b].reduce((c, qk, k) => c + qk * Math.log(softmax(row.map((x) => x / tau))[k]), 0), 0) / sv.length;
    });
    loss += sub / (scores.length - 1);
  }
  return loss / nHigh;
}

/** Scores s = P(normalize(z)) + bias with P's rows normalised, and the normalised projections z. */
async function forward(s: MethodStep, values: Map<string, HostData>, views: Float32Array[]) {
  const head = swavProjectionHead(s.backbone.featureDim, 16, D);
  const protos = new SwavPrototypes(D, K);
  const normalised = new Map(values);
  const w = rows(values.get('prototypes.heads.0.weight')!, D).map(unit).flat();
  normalised.set('prototypes.heads.0.weight', Float32Array.from(w));
  const out = await probe(normalised, views, [s.batch, 3, s.size, s.size], (net, view) => {
    const f = net(s.backbone.module, 'backbone');
    const g = net(head, 'projection_head');
    const p = net(protos, 'prototypes');
    const r: Record<string, ReturnType<typeof view>> = {};
    views.forEach((_, v) => {
      const z = l2Normalize(head.forward(g, s.backbone.module.forward(f, view(v))));
      r[`z${v}`] = z;
      r[`s${v}`] = protos.forward(p, z);
    });
    return r;
  });
  const protoRows = rows(w, D);
  const bias = Array.from(values.get('prototypes.heads.0.bias') as Float32Array);
  const scoreOf = (z: Rows) => z.map((zr) => protoRows.map((pr, k) => pr.reduce((a, pv, j) => a + pv * zr[j], bias[k])));
  return { scores: views.map((_, v) => rows(out[`s${v}`], K)), z: views.map((_, v) => rows(out[`z${v}`], D)), scoreOf, unitRows: w };
}

const current = (s: MethodStep) => new Map(s.model.state.filter((e) => e.role !== 'optim').map((e) => [e.name, s.value(e.name)]));

describe('swav method (docs/methods.md §4.15, CIFAR-10 docs script)', () => {
  it('loss = swapped prediction of Sinkhorn codes on normalised prototypes; the rows are re-normalised before every step', async () => {
    // A small LR keeps the stored rows next to the unit rows the step started from.
    const s = await buildMethodStep('swav', { set: [...HEAD, ...MULTI_CROP, 'train.optimizer.lr=0.002'] });
    expect(s.method.views).toBe(3);
    expect(s.method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained'], ['prototypes', 'trained']]);
    expect(s.model.state.find((e) => e.name === 'prototypes.heads.0.bias')?.role).toBe('param');

    const v0 = current(s);
    const step1 = await s.step(1);
    const o1 = await forward(s, v0, step1.views);
    expect(step1.loss).toBeCloseTo(swavRef(o1.scores, 2), 4);
    // The update started from the normalised rows (stored = unit rows − lr·step), not from the raw
    // init rows (norm ≈ 0.6 for kaiming-uniform 8-d rows).
    const w1 = s.value('prototypes.heads.0.weight') as Float32Array;
    const rawInit = v0.get('prototypes.heads.0.weight') as Float32Array;
    expect(maxAbsDiff(w1, o1.unitRows)).toBeLessThan(0.01);
    expect(maxAbsDiff(w1, o1.unitRows)).toBeGreaterThan(0);
    expect(maxAbsDiff(rawInit, o1.unitRows)).toBeGreaterThan(0.1);

    const v1 = current(s);
    const step2 = await s.step(2);
    const o2 = await forward(s, v1, step2.views);
    expect(step2.loss).toBeCloseTo(swavRef(o2.scores, 2), 4);
  });

  it('prototypes frozen while epoch < freeze_prototypes_epochs: rows stored normalised, bias and momentum untouched', async () => {
    const s = await buildMethodStep('swav', { set: [...HEAD, 'method.params.freeze_prototypes_epochs=1'] });
    const v0 = current(s);
    await s.step(1, { epoch: 0 });
    const unitRows = rows(v0.get('prototypes.heads.0.weight')!, D).map(unit).flat();
    expect(maxAbsDiff(s.value('prototypes.heads.0.weight'), unitRows)).toBeLessThan(1e-6);
    expect(s.value('prototypes.heads.0.bias')).toEqual(v0.get('prototypes.heads.0.bias'));
    for (const e of s.model.state.filter((x) => x.role === 'optim' && x.name.includes('prototypes.'))) {
      expect(Array.from(s.value(e.name) as Float32Array).every((x) => x === 0)).toBe(true);
    }
    expect(maxAbsDiff(s.value('projection_head.layers.0.weight'), v0.get('projection_head.layers.0.weight')!)).toBeGreaterThan(0);
    await s.step(2, { epoch: 1 });
    expect(maxAbsDiff(s.value('prototypes.heads.0.bias'), v0.get('prototypes.heads.0.bias')!)).toBeGreaterThan(0);
  });
});

describe('swavqueue method (docs/methods.md §4.16)', () => {
  const QUEUE = ['method.params.queue_length=12', 'method.params.queue_start_epoch=1', 'method.params.freeze_prototypes_epochs=0'];

  it('queues fill from epoch 0 (wrapping like MemoryBankModule); their scores join Sinkhorn from queue_start_epoch', async () => {
    const s = await buildMethodStep('swavqueue', { set: [...HEAD, ...MULTI_CROP, ...QUEUE] });
    const b = s.batch;
    const q0 = [0, 1].map((i) => rows(s.value(`swav.queue${i}.bank`), D));
    const v0 = current(s);
    const step1 = await s.step(1, { epoch: 0 });
    const o1 = await forward(s, v0, step1.views);
    expect(step1.loss).toBeCloseTo(swavRef(o1.scores, 2), 4); // epoch 0: no queue in Sinkhorn
    for (let i = 0; i < 2; i++) {
      const q1 = rows(s.value(`swav.queue${i}.bank`), D);
      expect(maxAbsDiff(q1.slice(0, b).flat(), o1.z[i].flat())).toBeLessThan(1e-6);
      expect(q1.slice(b)).toEqual(q0[i].slice(b).map((r) => r.map((x) => Math.fround(x))));
      expect(Number((s.value(`swav.queue${i}.ptr`) as BigInt64Array)[0])).toBe(b);
    }

    const before2 = [0, 1].map((i) => rows(s.value(`swav.queue${i}.bank`), D));
    const v1 = current(s);
    const step2 = await s.step(2, { epoch: 1 });
    const o2 = await forward(s, v1, step2.views);
    const queueScores = before2.map((q) => o2.scoreOf(q));
    const withQueue = swavRef(o2.scores, 2, queueScores);
    expect(Math.abs(withQueue - swavRef(o2.scores, 2))).toBeGreaterThan(1e-4);
    expect(step2.loss).toBeCloseTo(withQueue, 4);
    for (let i = 0; i < 2; i++) {
      // ptr 8 + batch 8 ≥ 12: rows 8..11 take the first 4 samples, the rest is dropped, ptr → 0.
      const q2 = rows(s.value(`swav.queue${i}.bank`), D);
      expect(maxAbsDiff(q2.slice(b).flat(), o2.z[i].slice(0, 12 - b).flat())).toBeLessThan(1e-6);
      expect(maxAbsDiff(q2.slice(0, b).flat(), before2[i].slice(0, b).flat())).toBe(0);
      expect(Number((s.value(`swav.queue${i}.ptr`) as BigInt64Array)[0])).toBe(0);
    }
  });
});

describe('swavqueue with the ImageNet1k R50 queue protocol (fill from an epoch, scores after a batch index)', () => {
  const R50 = ['method.params.queue_length=12', 'method.params.queue_start_epoch=1', 'method.params.queue_fill_start_epoch=1',
    'method.params.queue_after_batch=1', 'method.params.freeze_prototypes_epochs=0'];

  it('scalars: fill from epoch 1; scores from epoch 1 only when the batch index within the epoch is > 1', () => {
    const { method } = createMethod('swavqueue', { set: [...HEAD, ...MULTI_CROP, ...R50] });
    // 2 epochs x 5 steps: global step g is batch g mod 5 of epoch floor(g / 5).
    const at = (globalStep: number) => ({ epoch: Math.floor(globalStep / 5), totalEpochs: 2, globalStep, totalSteps: 10 });
    expect([0, 4, 5, 6, 7, 9].map((g) => method.scalars!['swav.fill_queue'](at(g)))).toEqual([0, 0, 1, 1, 1, 1]);
    expect([0, 4, 5, 6, 7, 9].map((g) => method.scalars!['swav.use_queue'](at(g)))).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it('before the fill epoch the queues keep their initial rows and pointer', async () => {
    const s = await buildMethodStep('swavqueue', { set: [...HEAD, ...MULTI_CROP, ...R50] });
    const q0 = s.value('swav.queue0.bank');
    await s.step(1, { epoch: 0, totalEpochs: 2, globalStep: 0, totalSteps: 10 });
    expect(s.value('swav.queue0.bank')).toEqual(q0);
    expect(Number((s.value('swav.queue0.ptr') as BigInt64Array)[0])).toBe(0);
    await s.step(2, { epoch: 1, totalEpochs: 2, globalStep: 5, totalSteps: 10 });
    expect(Number((s.value('swav.queue0.ptr') as BigInt64Array)[0])).toBe(s.batch);
    expect(maxAbsDiff(s.value('swav.queue0.bank'), q0)).toBeGreaterThan(0);
  });
});

describe.each(['swav', 'swavqueue'])('%s on real data (embedded Fashion-MNIST, 2 global 28-px + 2 local 12-px crops)', (name) => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ssl-bench-${name}-`)); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('trains: the loss moves and stays finite over 6 steps, kNN evaluates', async () => {
    const config = loadConfig(path.join(__dirname, 'tiny-multi-crop.yaml'), {
      set: [`method.name=${name}`, 'augmentation.preset=swav', ...HEAD.map((h) => h.replace(`=${K}`, '=32')),
        ...(name === 'swavqueue' ? ['method.params.queue_length=24', 'method.params.queue_start_epoch=1'] : [])],
      env: {},
    });
    const t = await Pretraining.create(config, tmp, { dataSeed: config.seed });
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) losses.push((await t.runStep()).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-3);
    expect((await t.evaluate()).knn_top1).toBeGreaterThan(0);
  });
});

describe('multi-crop view requirements', () => {
  it.each(['dino', 'swav', 'swavqueue'])('%s: one view in all is a user error naming the preset', (name) => {
    expect(() => createMethod(name, { set: [`augmentation.preset=${name === 'dino' ? 'dino' : 'swav'}`, 'augmentation.overrides.n_global_views=1', 'augmentation.overrides.n_local_views=0'] }))
      .toThrow(new RegExp(`method ${name} needs at least 1 global view\\(s\\) and 2 views in all; preset (dino|swav) gives 1 global \\+ 0 local`));
  });
});
