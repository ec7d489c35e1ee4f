/**
 * DINO as the CIFAR-10 docs script runs it, step by step against references computed from the
 * networks' outputs (probe) and written-out loops: EMA teacher (deep-copied backbone, separately
 * initialised head), teacher on the global views only, centre used before and updated after the
 * loss, teacher-temperature warmup by epoch, frozen weight-norm magnitude, last layer frozen in
 * the first epochs. The first test starts the teacher backbone from independent values and takes
 * the teacher outputs from the teacher's own EMA-updated parameters, so a step whose teacher branch
 * used the student (backbone, head or both) fails the loss and centre checks; it also asserts that
 * the student-as-teacher loss differs clearly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import type { HostData } from '../../src/engine';
import { initParameters } from '../../src/nn';
import { hostAccess } from '../../src/runner/assembled-method';
import { concat } from '../../src/graph';
import { DinoProjectionHead } from '../../src/nn/dino-head';
import { Pretraining } from '../../src/runner/pretrain';
import { buildMethodStep, createMethod, maxAbsDiff, probe, rows, type MethodStep } from './support';

const OUT = 12;
const HEAD = ['method.params.projection_hidden_dim=16', 'method.params.bottleneck_dim=8', `method.params.output_dim=${OUT}`];
const MULTI_CROP = ['augmentation.preset=dino', 'augmentation.overrides.n_local_views=2'];
// τ_t warms up 0.2 → 0.04 over 3 epochs: epoch 0 → 0.2, epoch 1 → 0.12.
const WARMUP = ['method.params.warmup_teacher_temperature=0.2', 'method.params.teacher_temperature=0.04', 'method.params.warmup_teacher_temperature_epochs=3'];

type Rows = number[][];
const softmax = (r: number[]) => { const m = Math.max(...r); const e = r.map((v) => Math.exp(v - m)); const s = e.reduce((a, v) => a + v, 0); return e.map((v) => v / s); };

function dinoRef(teacher: Rows[], student: Rows[], center: number[], tt: number, ts = 0.1, m = 0.9) {
  let total = 0;
  let terms = 0;
  teacher.forEach((gt, t) => student.forEach((gs, s) => {
    if (s === t) return;
    terms++;
    gt.forEach((row, b) => {
      const p = softmax(row.map((v, k) => (v - center[k]) / tt));
      const lq = softmax(gs[b].map((v) => v / ts)).map(Math.log);
      total -= p.reduce((a, pk, k) => a + pk * lq[k], 0);
    });
  }));
  const n = teacher[0].length;
  const mean = center.map((_, k) => teacher.reduce((a, g) => a + g.reduce((c, r) => c + r[k], 0), 0) / (teacher.length * n));
  return { loss: total / (terms * n), center: center.map((c, k) => m * c + (1 - m) * mean[k]) };
}

/** Teacher values after the pre-forward EMA: m·θ_t + (1−m)·θ_s for every teacher parameter. */
function emaValues(s: MethodStep, current: (name: string) => Float32Array, m: number): Map<string, HostData> {
  const values = new Map<string, HostData>();
  for (const e of s.model.state) {
    if (e.role === 'optim') continue;
    const v = current(e.name);
    if (e.role !== 'ema') { values.set(e.name, v); continue; }
    const source = e.name.replace(/^teacher_backbone\./, 'backbone.').replace(/^teacher_head\./, 'head.');
    const src = current(source);
    values.set(e.name, v.map((x, i) => m * x + (1 - m) * src[i]));
  }
  return values;
}

async function outputs(s: MethodStep, values: Map<string, HostData>, views: Float32Array[], head: DinoProjectionHead) {
  const out = await probe(values, views, [s.batch, 3, s.size, s.size], (net, view) => {
    const fs_ = net(s.backbone.module, 'backbone');
    const hs = net(head, 'head');
    const ft = net(s.backbone.module, 'teacher_backbone');
    const ht = net(head, 'teacher_head');
    const r: Record<string, ReturnType<typeof view>> = {};
    for (let v = 0; v < 2; v++) r[`t${v}`] = head.forward(ht, s.backbone.module.forward(ft, view(v)));
    for (let v = 0; v < views.length; v++) r[`s${v}`] = head.forward(hs, s.backbone.module.forward(fs_, view(v)));
    // The student used as teacher: what a step without a real teacher would compute.
    for (let v = 0; v < 2; v++) r[`st${v}`] = head.forward(hs, s.backbone.module.forward(fs_, view(v)));
    return r;
  });
  const teacher = [0, 1].map((v) => rows(out[`t${v}`], OUT));
  const student = views.map((_, v) => rows(out[`s${v}`], OUT));
  const studentAsTeacher = [0, 1].map((v) => rows(out[`st${v}`], OUT));
  return { teacher, student, studentAsTeacher };
}

const headOf = (s: MethodStep) => new DinoProjectionHead({ input: s.backbone.featureDim, hidden: 16, bottleneck: 8, output: OUT, layers: 2, batchNorm: true, mlpInit: 'torch' });

describe('dino method (docs/methods.md §4.5, CIFAR-10 docs script)', () => {
  it('two steps: EMA teacher, loss with the old centre and the warmed-up τ_t, centre after the loss', async () => {
    const s = await buildMethodStep('dino', { set: [...HEAD, ...MULTI_CROP, ...WARMUP] });
    expect(s.method.views).toBe(4);
    expect(s.method.evalBackbone).toBe('backbone');
    expect(s.method.networks.map((n) => [n.prefix, n.role, n.emaOf ?? '', n.initFrom ?? ''])).toEqual([
      ['backbone', 'trained', '', ''], ['head', 'trained', '', ''],
      ['teacher_backbone', 'ema', 'backbone', 'backbone'], ['teacher_head', 'ema', 'head', ''],
    ]);
    // Deep-copied backbone, separately built head.
    expect(s.initial.get('teacher_backbone.conv1.weight')).toEqual(s.initial.get('backbone.conv1.weight'));
    expect(maxAbsDiff(s.initial.get('teacher_head.layers.0.weight')!, s.initial.get('head.layers.0.weight')!)).toBeGreaterThan(1e-3);
    const head = headOf(s);

    // A deep-copied teacher backbone would hide a teacher branch wired to the student backbone:
    // start the teacher backbone from independent values, so the reference must come from them.
    const teacherBackbone = s.method.networks.find((n) => n.prefix === 'teacher_backbone')!;
    const host = hostAccess(s.runner.state, new Rng(0));
    for (const [name, value] of initParameters(teacherBackbone.module.parameters('teacher_backbone'), new Rng(77).fork('init'))) host.write(name, value);
    const start = new Map(s.model.state.filter((e) => e.role !== 'optim').map((e) => [e.name, s.value(e.name) as Float32Array]));
    expect(maxAbsDiff(start.get('teacher_backbone.conv1.weight')!, start.get('backbone.conv1.weight')!)).toBeGreaterThan(1e-3);

    const at0 = { epoch: 0, totalEpochs: 3 };
    const before1 = emaValues(s, (n) => start.get(n)!, 0.99);
    const step1 = await s.step(1, at0);
    const o1 = await outputs(s, before1, step1.views, head);
    const center0 = new Array<number>(OUT).fill(0);
    const ref1 = dinoRef(o1.teacher, o1.student, center0, 0.2);
    expect(step1.loss).toBeCloseTo(ref1.loss, 4);
    expect(maxAbsDiff(s.value('dino.center'), ref1.center)).toBeLessThan(1e-5);
    for (const e of s.model.state.filter((x) => x.role === 'ema')) expect(maxAbsDiff(s.value(e.name), before1.get(e.name)!)).toBeLessThan(1e-6);
    // The same step with the student as its own teacher would give a clearly different loss.
    expect(Math.abs(dinoRef(o1.studentAsTeacher, o1.student, center0, 0.2).loss - ref1.loss)).toBeGreaterThan(1e-2);

    const after1 = new Map(s.model.state.filter((e) => e.role !== 'optim').map((e) => [e.name, s.value(e.name) as Float32Array]));
    const before2 = emaValues(s, (n) => after1.get(n)!, 0.99);
    const step2 = await s.step(2, { epoch: 1, totalEpochs: 3 });
    const o2 = await outputs(s, before2, step2.views, head);
    const ref2 = dinoRef(o2.teacher, o2.student, ref1.center, 0.12);
    expect(step2.loss).toBeCloseTo(ref2.loss, 4);
    expect(maxAbsDiff(s.value('dino.center'), ref2.center)).toBeLessThan(1e-5);
    // The loss saw the centre before this step's update: with the updated one it would differ.
    expect(Math.abs(dinoRef(o2.teacher, o2.student, ref2.center, 0.12).loss - ref2.loss)).toBeGreaterThan(1e-5);
  });

  it('view_batches grouped: globals through the networks as one batch, locals as another (ImageNet1k scripts)', async () => {
    const s = await buildMethodStep('dino', { set: [...HEAD, ...MULTI_CROP, 'method.params.view_batches=grouped'] });
    const head = headOf(s);
    const before = emaValues(s, (n) => s.initial.get(n) as Float32Array, 0.99);
    const { loss, views } = await s.step(1);
    const out = await probe(before, views, [s.batch, 3, s.size, s.size], (net, view) => {
      const fs_ = net(s.backbone.module, 'backbone');
      const hs = net(head, 'head');
      const ft = net(s.backbone.module, 'teacher_backbone');
      const ht = net(head, 'teacher_head');
      const both = (a: number, b: number) => concat([view(a), view(b)], 0);
      return {
        t: head.forward(ht, s.backbone.module.forward(ft, both(0, 1))),
        g: head.forward(hs, s.backbone.module.forward(fs_, both(0, 1))),
        l: head.forward(hs, s.backbone.module.forward(fs_, both(2, 3))),
      };
    });
    const halves = (x: Float32Array) => [rows(x, OUT).slice(0, s.batch), rows(x, OUT).slice(s.batch)];
    const teacher = halves(out.t);
    const student = [...halves(out.g), ...halves(out.l)];
    expect(loss).toBeCloseTo(dinoRef(teacher, student, new Array<number>(OUT).fill(0), 0.04).loss, 4);
    const separate = await outputs(s, before, views, head);
    expect(Math.abs(dinoRef(separate.teacher, separate.student, new Array<number>(OUT).fill(0), 0.04).loss - loss)).toBeGreaterThan(1e-4);
  });

  it('weight-norm magnitude g stays 1 (norm_last_layer), trains when it is off; the last layer is frozen while epoch < freeze_last_layer_epochs', async () => {
    const s = await buildMethodStep('dino', { set: [...HEAD, 'method.params.freeze_last_layer_epochs=1'] });
    expect(s.method.views).toBe(2);
    const g0 = s.value('head.last_layer.weight_g');
    const v0 = s.value('head.last_layer.weight_v');
    const w0 = s.value('head.layers.0.weight');
    await s.step(1, { epoch: 0 });
    expect(s.value('head.last_layer.weight_v')).toEqual(v0);
    expect(s.value('head.last_layer.weight_g')).toEqual(g0);
    expect(maxAbsDiff(s.value('head.layers.0.weight'), w0)).toBeGreaterThan(0);
    const mom = s.model.state.filter((e) => e.role === 'optim' && e.name.includes('head.last_layer.'));
    expect(mom.length).toBeGreaterThan(0);
    for (const e of mom) expect(Array.from(s.value(e.name) as Float32Array).every((x) => x === 0)).toBe(true);
    await s.step(2, { epoch: 1 });
    expect(maxAbsDiff(s.value('head.last_layer.weight_v'), v0)).toBeGreaterThan(0);
    expect(Array.from(s.value('head.last_layer.weight_g') as Float32Array)).toEqual(new Array(OUT).fill(1));

    const free = await buildMethodStep('dino', { set: [...HEAD, 'method.params.norm_last_layer=false'] });
    await free.step(1);
    expect(maxAbsDiff(free.value('head.last_layer.weight_g'), g0)).toBeGreaterThan(0);
  });

  it('schedules: τ_t = linspace warmup by epoch, EMA momentum by global step, weight-decay cosine when weight_decay_end is set', () => {
    const { method } = createMethod('dino', { set: [...HEAD, ...WARMUP, 'method.params.momentum_start=0.996', 'method.params.momentum_end=1', 'method.params.weight_decay_end=0.4'] });
    const at = (epoch: number, globalStep = 0) => ({ epoch, totalEpochs: 10, globalStep, totalSteps: 11 });
    const temp = method.scalars!['dino.teacher_temperature'];
    [0.2, 0.12, 0.04, 0.04, 0.04].forEach((v, i) => expect(temp(at([0, 1, 2, 3, 9][i]))).toBeCloseTo(v, 12));
    expect(method.emaMomentum!(at(0, 0))).toBeCloseTo(0.996, 12);
    expect(method.emaMomentum!(at(0, 10))).toBe(1);
    const groups = method.paramGroups!;
    expect(groups.map((g) => g.name)).toEqual(['dino_last_layer_g', 'dino']);
    const wd = groups[1].weightDecay as (a: ReturnType<typeof at>, configured: number) => number;
    expect(wd(at(0, 0), 0.04)).toBeCloseTo(0.04, 12);
    expect(wd(at(0, 5), 0.04)).toBeCloseTo(0.22, 12);
    expect(wd(at(0, 10), 0.04)).toBeCloseTo(0.4, 12);
    expect(groups[0].trains!(at(0))).toBe(false);
  });

  it('teacher backbone independent and teacher evaluation (ImageNet1k ViT row options)', () => {
    const { method } = createMethod('dino', { set: [...HEAD, 'method.params.teacher_backbone_init=independent', 'method.params.eval_backbone=teacher'] });
    expect(method.networks.find((n) => n.prefix === 'teacher_backbone')!.initFrom).toBeUndefined();
    expect(method.evalBackbone).toBe('teacher_backbone');
  });
});

describe('dino on real data (embedded Fashion-MNIST, 2 global 28-px + 2 local 12-px views)', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-dino-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('trains: the loss moves and stays finite over 6 steps, the centre moves, kNN evaluates', async () => {
    const config = loadConfig(path.join(__dirname, 'tiny-multi-crop.yaml'), { set: ['method.name=dino', 'augmentation.preset=dino'], env: {} });
    const t = await Pretraining.create(config, tmp, { dataSeed: config.seed });
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) losses.push((await t.runStep()).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-3);
    expect(Array.from(t.runner.state.data('dino.center') as Float32Array).some((v) => v !== 0)).toBe(true);
    const metrics = await t.evaluate();
    expect(metrics.knn_top1).toBeGreaterThan(0);
  });
});

describe('dino on a ViT (ImageNet1k ViT-S/16 row options; 28-px globals, 14-px locals)', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-dino-vit-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('trains with resampled position embeddings for the local size; the last layer stays frozen in epoch 0', async () => {
    const config = loadConfig(path.join(__dirname, 'tiny-multi-crop.yaml'), {
      set: ['method.name=dino', 'augmentation.preset=dino', 'augmentation.overrides.local_size=14',
        'backbone={name: vit-s16, width: 0.16666666666666666, patch_size: 7, depth: 1}',
        ...HEAD.map((h) => h.replace('=16', '=32')), 'method.params.projection_layers=3', 'method.params.batch_norm=false',
        'method.params.head_init=trunc_normal', 'method.params.norm_last_layer=false', 'method.params.freeze_last_layer_epochs=1',
        'method.params.teacher_backbone_init=independent', 'method.params.eval_backbone=teacher',
        'train.optimizer={name: adamw, lr: 5.0e-4, weight_decay: 0.04, betas: [0.9, 0.999]}', 'method.params.weight_decay_end=0.4'],
      env: {},
    });
    const t = await Pretraining.create(config, tmp, { dataSeed: config.seed });
    const v0 = (t.runner.state.data('head.last_layer.weight_v') as Float32Array).slice();
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) losses.push((await t.runStep()).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-4);
    expect(t.runner.state.data('head.last_layer.weight_v')).toEqual(v0);
    expect((await t.evaluate()).knn_top1).toBeGreaterThan(0);
  });
});
