/**
 * Parameter groups (per-step LR, weight decay, 0/1 update mask), state transforms and extra
 * scalar inputs of the training step, each against a step-by-step host reference of torch's
 * semantics: a parameter whose group is masked behaves as one with requires_grad=False (grad None):
 * no update, no weight decay, optimizer state untouched, no share in clip_grad_norm_; its first
 * unmasked step is torch's first step (momentum buffer = d, Adam t = 1).
 */
import * as ort from 'onnxruntime-node';
import { Graph, crossEntropy, div, grad, l2Normalize, clip, toOnnx, type Tensor } from '../../src/graph';
import { Linear } from '../../src/nn/linear';
import { ReLU } from '../../src/nn/activation';
import { GraphForwardContext, type ParamSpec } from '../../src/nn/module';
import { Sequential } from '../../src/nn/sequential';
import { initParameters } from '../../src/nn/init';
import { Rng } from '../../src/data/rng';
import { adamw, lars, sgd, type OptimizerRule } from '../../src/optim';
import { TrainStepRunner, buildTrainStep, groupScalarName, type HostData, type StateTransform, type TrainStepSpec } from '../../src/engine';
import { randn } from '../support/graph-harness';

const B = 6;
const net = new Sequential([new Linear(4, 8), new ReLU(), new Linear(8, 3)]);
const params: ParamSpec[] = net.parameters('net');
const HEAD = ['net.2.weight', 'net.2.bias'];
const x = Float32Array.from(randn(B * 4, 11));
const y = BigInt64Array.from([0, 1, 2, 0, 1, 2].map(BigInt));
const data = () => ({ x: new ort.Tensor('float32', x, [B, 4]), y: new ort.Tensor('int64', y, [B]) });
const opts = { threads: 1 } as const;

function spec(optimizer: OptimizerRule, extra: Partial<TrainStepSpec> = {}): TrainStepSpec {
  return {
    name: 'groups-step',
    trainable: params,
    buffers: [],
    optimizer,
    excludeNormBiasFromWd: true,
    exposeGradients: true,
    groups: [{ name: 'head', params: HEAD, lr: true, weightDecay: true, update: true }],
    build(step) {
      const logits = net.forward(step.forward(net, { prefix: 'net' }), step.input('x', [B, 4]));
      return { loss: crossEntropy(logits, step.input('y', [B], 'int64')) };
    },
    ...extra,
  };
}

function initial(): Map<string, HostData> {
  return initParameters(params, new Rng(4)) as Map<string, HostData>;
}

/** Loss and gradients of the MLP (logits / temperature) at `values`, from a separate plain graph. */
async function reference(values: ReadonlyMap<string, ArrayLike<number>>, temperature = 1): Promise<Map<string, Float32Array>> {
  const g = new Graph('reference');
  const ctx = new GraphForwardContext(g, net, { training: true, prefix: 'net' });
  const logits = net.forward(ctx, g.input('x', [B, 4]));
  const loss = crossEntropy(temperature === 1 ? logits : div(logits, temperature), g.input('y', [B], 'int64'));
  const names = [...ctx.parameterTensors.keys()];
  const grads = grad(loss, names.map((n) => ctx.parameterTensors.get(n)!));
  g.output('loss', loss);
  names.forEach((n, i) => g.output(`grad:${n}`, grads[i]));
  const s = await ort.InferenceSession.create(toOnnx(g), { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = data();
  for (const t of g.inputs) if (!feeds[t.name]) feeds[t.name] = new ort.Tensor('float32', Float32Array.from(values.get(t.name)!), t.shape as number[]);
  const r = await s.run(feeds);
  return new Map(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / scale;
}

const decays = (name: string) => params.find((p) => p.name === name)!.kind === 'weight';
const snapshot = (runner: TrainStepRunner) => new Map(runner.model.stateNames.map((n) => [n, Float32Array.from(runner.state.data(n) as Float32Array)]));

/** torch.optim.SGD(momentum μ, dampening 0) for one parameter, in float64; the buffer is created on the first step. */
class HostSgd {
  private readonly buf = new Map<string, Float64Array>();
  constructor(private readonly mu: number) {}
  step(name: string, p: ArrayLike<number>, g: ArrayLike<number>, lr: number, wd: number): Float64Array {
    const d = Float64Array.from(g, (gi, i) => gi + wd * p[i]);
    const prev = this.buf.get(name);
    const buf = prev ? prev.map((b, i) => this.mu * b + d[i]) : d;
    this.buf.set(name, buf);
    return Float64Array.from(p, (v, i) => v - lr * buf[i]);
  }
  state(name: string): Float64Array | undefined {
    return this.buf.get(name);
  }
}

/** torch.optim.AdamW for one parameter, in float64; state (and t) created on the first step. */
class HostAdamW {
  private readonly st = new Map<string, { m: Float64Array; v: Float64Array; t: number }>();
  constructor(private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-8) {}
  step(name: string, p: ArrayLike<number>, g: ArrayLike<number>, lr: number, wd: number): Float64Array {
    const s = this.st.get(name) ?? { m: new Float64Array(g.length), v: new Float64Array(g.length), t: 0 };
    s.t += 1;
    s.m = s.m.map((m, i) => this.b1 * m + (1 - this.b1) * g[i]);
    s.v = s.v.map((v, i) => this.b2 * v + (1 - this.b2) * g[i] * g[i]);
    this.st.set(name, s);
    const bc1 = 1 - this.b1 ** s.t;
    const bc2 = 1 - this.b2 ** s.t;
    return Float64Array.from(p, (v, i) => v * (1 - lr * wd) - (lr / bc1) * s.m[i] / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + this.eps));
  }
  steps(name: string): number {
    return this.st.get(name)?.t ?? 0;
  }
}

interface Scalars { lr: number; wd: number; headLr: number; headWd: number; update: 0 | 1 }
const SCHEDULE: Scalars[] = [
  { lr: 0.1, wd: 0.01, headLr: 0.05, headWd: 0.04, update: 0 },
  { lr: 0.1, wd: 0.01, headLr: 0.05, headWd: 0.1, update: 0 },
  { lr: 0.08, wd: 0.01, headLr: 0.04, headWd: 0.2, update: 1 },
  { lr: 0.08, wd: 0.01, headLr: 0.04, headWd: 0.4, update: 1 },
];
const feedScalars = (s: Scalars) => ({
  lr: s.lr, weightDecay: s.wd,
  values: { [groupScalarName('head', 'lr')]: s.headLr, [groupScalarName('head', 'weight_decay')]: s.headWd, [groupScalarName('head', 'update')]: s.update },
});

describe('training step: parameter groups with per-step scalars', () => {
  it('SGD momentum: a masked group is untouched (value, buffer); its LR/WD inputs apply when unmasked; others train as usual', async () => {
    const model = buildTrainStep(spec(sgd({ momentum: 0.9 })));
    expect(model.scalarNames).toEqual(['lr', 'weight_decay', 'group.head.lr', 'group.head.weight_decay', 'group.head.update']);
    const runner = await TrainStepRunner.create(model, initial(), opts);
    const host = new HostSgd(0.9);
    for (const s of SCHEDULE) {
      const before = snapshot(runner);
      const ref = await reference(before);
      const r = await runner.step(data(), feedScalars(s));
      expect(r.loss).toBeCloseTo(ref.get('loss')![0], 5);
      for (const p of params) {
        const inHead = HEAD.includes(p.name);
        const buffer = runner.state.data(`${p.name}#momentum_buffer`) as Float32Array;
        if (inHead && s.update === 0) {
          expect(runner.state.data(p.name)).toEqual(before.get(p.name));
          expect(buffer).toEqual(before.get(`${p.name}#momentum_buffer`));
          expect(Array.from(buffer).every((v) => v === 0)).toBe(true);
          continue;
        }
        const [lr, wd] = inHead ? [s.headLr, s.headWd] : [s.lr, s.wd];
        const expected = host.step(p.name, before.get(p.name)!, ref.get(`grad:${p.name}`)!, lr, decays(p.name) ? wd : 0);
        expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
        expect(maxRelDiff(buffer, host.state(p.name)!)).toBeLessThan(1e-5);
      }
    }
    await runner.release();
  });

  it('AdamW: the step counter and moments stay at zero while masked; the first unmasked step is Adam\'s t = 1', async () => {
    const model = buildTrainStep(spec(adamw()));
    const runner = await TrainStepRunner.create(model, initial(), opts);
    const host = new HostAdamW();
    for (const s of SCHEDULE) {
      const before = snapshot(runner);
      const ref = await reference(before);
      await runner.step(data(), feedScalars(s));
      for (const p of params) {
        const inHead = HEAD.includes(p.name);
        if (inHead && s.update === 0) {
          for (const n of [p.name, `${p.name}#exp_avg`, `${p.name}#exp_avg_sq`, `${p.name}#step`]) expect(runner.state.data(n)).toEqual(before.get(n));
          continue;
        }
        const [lr, wd] = inHead ? [s.headLr, s.headWd] : [s.lr, s.wd];
        const expected = host.step(p.name, before.get(p.name)!, ref.get(`grad:${p.name}`)!, lr, decays(p.name) ? wd : 0);
        expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
        expect((runner.state.data(`${p.name}#step`) as Float32Array)[0]).toBe(host.steps(p.name));
      }
    }
    expect((runner.state.data('net.2.weight#step') as Float32Array)[0]).toBe(2);
    expect((runner.state.data('net.0.weight#step') as Float32Array)[0]).toBe(4);
    await runner.release();
  });

  it('LARS: a group fed weight decay 0 is lightly\'s wd-0 group (plain momentum, no trust ratio); decayed params get the LARS step', async () => {
    const model = buildTrainStep(spec(lars({ momentum: 0.9, trustCoefficient: 0.001 }), { excludeNormBiasFromWd: false }));
    const runner = await TrainStepRunner.create(model, initial(), opts);
    const host = new HostSgd(0.9);
    const [lr, wd, eta] = [0.5, 0.01, 0.001];
    const before = snapshot(runner);
    const ref = await reference(before);
    await runner.step(data(), feedScalars({ lr, wd, headLr: lr, headWd: 0, update: 1 }));
    for (const p of params) {
      const p0 = before.get(p.name)!;
      const g = ref.get(`grad:${p.name}`)!;
      let d: Float64Array;
      if (HEAD.includes(p.name)) {
        d = Float64Array.from(g);
      } else {
        const pNorm = Math.hypot(...p0);
        const gNorm = Math.hypot(...g);
        const trust = (eta * pNorm) / (gNorm + wd * pNorm + 1e-8);
        d = Float64Array.from(g, (gi, i) => (gi + wd * p0[i]) * trust);
      }
      const expected = host.step(p.name, p0, d, lr, 0);
      expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
    }
    await runner.release();
  });

  it('gradient clipping: a masked group has no share in the global norm (torch skips grad None)', async () => {
    const maxNorm = 0.05;
    const model = buildTrainStep(spec(sgd({ momentum: 0 }), { gradClipNorm: maxNorm }));
    const runner = await TrainStepRunner.create(model, initial(), opts);
    for (const update of [0, 1] as const) {
      const before = snapshot(runner);
      const ref = await reference(before);
      const s = { lr: 0.1, wd: 0, headLr: 0.1, headWd: 0, update };
      const r = await runner.step(data(), feedScalars(s));
      const counted = params.filter((p) => update === 1 || !HEAD.includes(p.name));
      const norm = Math.sqrt(counted.reduce((acc, p) => acc + ref.get(`grad:${p.name}`)!.reduce((a, g) => a + g * g, 0), 0));
      expect(r.metrics.grad_norm).toBeCloseTo(norm, 5);
      expect(norm).toBeGreaterThan(maxNorm);
      const coef = maxNorm / (norm + 1e-6);
      for (const p of counted) {
        const expected = Float64Array.from(before.get(p.name)!, (v, i) => v - 0.1 * coef * ref.get(`grad:${p.name}`)![i]);
        expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
      }
    }
    await runner.release();
  });

  it('gradient clipping: a masked group with clippedWhileFrozen counts in the norm but is not updated (DINO: clip, then cancel)', async () => {
    const maxNorm = 0.05;
    const model = buildTrainStep(spec(sgd({ momentum: 0 }), {
      gradClipNorm: maxNorm, groups: [{ name: 'head', params: HEAD, lr: true, weightDecay: true, update: true, clippedWhileFrozen: true }],
    }));
    const runner = await TrainStepRunner.create(model, initial(), opts);
    const before = snapshot(runner);
    const ref = await reference(before);
    const r = await runner.step(data(), feedScalars({ lr: 0.1, wd: 0, headLr: 0.1, headWd: 0, update: 0 }));
    const sq = (p: { name: string }) => ref.get(`grad:${p.name}`)!.reduce((a, g) => a + g * g, 0);
    const norm = Math.sqrt(params.reduce((acc, p) => acc + sq(p), 0));
    expect(r.metrics.grad_norm).toBeCloseTo(norm, 5);
    expect(norm).toBeGreaterThan(Math.sqrt(params.filter((p) => !HEAD.includes(p.name)).reduce((acc, p) => acc + sq(p), 0)) * 1.0001);
    const coef = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const expected = HEAD.includes(p.name)
        ? Float64Array.from(before.get(p.name)!)
        : Float64Array.from(before.get(p.name)!, (v, i) => v - 0.1 * coef * ref.get(`grad:${p.name}`)![i]);
      expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
    }
    await runner.release();
  });

  it('build errors: a group member that is not trainable, a parameter in two groups, a missing scalar feed', async () => {
    expect(() => buildTrainStep(spec(sgd({ momentum: 0.9 }), { groups: [{ name: 'g', params: ['net.9.weight'], update: true }] })))
      .toThrow(/group 'g': 'net\.9\.weight' is not a trainable parameter/);
    expect(() => buildTrainStep(spec(sgd({ momentum: 0.9 }), { groups: [{ name: 'a', params: HEAD, lr: true }, { name: 'b', params: ['net.2.bias'], lr: true }] })))
      .toThrow(/'net\.2\.bias' is in groups 'a' and 'b'/);
    const runner = await TrainStepRunner.create(buildTrainStep(spec(sgd({ momentum: 0.9 }))), initial(), opts);
    await expect(runner.step(data(), { lr: 0.1, weightDecay: 0 })).rejects.toThrow(/no value for scalar input 'group\.head\.lr'/);
  });
});

describe('training step: state transforms and scalar inputs', () => {
  const normalizeRows = (v: ArrayLike<number>, cols: number) => {
    const out = new Float64Array(v.length);
    for (let r = 0; r < v.length / cols; r++) {
      let n = 0;
      for (let c = 0; c < cols; c++) n += v[r * cols + c] ** 2;
      for (let c = 0; c < cols; c++) out[r * cols + c] = v[r * cols + c] / Math.sqrt(n);
    }
    return out;
  };
  const transforms: StateTransform[] = [
    { name: 'normalize', stage: 'pre-forward', targets: ['net.2.weight'], apply: (w) => l2Normalize(w, -1) },
    { name: 'clamp', stage: 'post-update', targets: ['net.0.bias'], apply: (b) => clip(b, -0.05, 0.05) },
  ];

  it('pre-forward: the forward, the gradient and the update use the normalised rows, stored back even when frozen; post-update rewrites the next value', async () => {
    const model = buildTrainStep(spec(sgd({ momentum: 0.9 }), {
      groups: [{ name: 'head', params: ['net.2.weight'], update: true }],
      transforms,
      scalars: ['temperature'],
      build(step) {
        const logits = net.forward(step.forward(net, { prefix: 'net' }), step.input('x', [B, 4]));
        return { loss: crossEntropy(div(logits, step.scalar('temperature')), step.input('y', [B], 'int64')) };
      },
    }));
    expect(model.scalarNames).toEqual(['lr', 'weight_decay', 'group.head.update', 'temperature']);
    const init = initial();
    // Rows far from unit norm, so the normalisation is visible.
    init.set('net.2.weight', (init.get('net.2.weight') as Float32Array).map((v, i) => v * (1 + (i % 3))));
    const runner = await TrainStepRunner.create(model, init, opts);
    const host = new HostSgd(0.9);
    const [lr, wd, temperature] = [0.1, 0.01, 0.5];
    for (const update of [0, 1]) {
      const before = snapshot(runner);
      const seen = new Map<string, ArrayLike<number>>(before);
      const normalized = normalizeRows(before.get('net.2.weight')!, 8);
      seen.set('net.2.weight', normalized);
      const ref = await reference(seen, temperature);
      const r = await runner.step(data(), { lr, weightDecay: wd, values: { 'group.head.update': update, temperature } });
      expect(r.loss).toBeCloseTo(ref.get('loss')![0], 5);
      expect(maxRelDiff(r.gradients!.get('net.2.weight')!, ref.get('grad:net.2.weight')!)).toBeLessThan(1e-5);
      const w = runner.state.data('net.2.weight') as Float32Array;
      if (update === 0) {
        expect(maxRelDiff(w, normalized)).toBeLessThan(1e-6);
        expect(Array.from(runner.state.data('net.2.weight#momentum_buffer') as Float32Array).every((v) => v === 0)).toBe(true);
      } else {
        expect(maxRelDiff(w, host.step('net.2.weight', normalized, ref.get('grad:net.2.weight')!, lr, wd))).toBeLessThan(1e-5);
      }
      const bias = host.step('net.0.bias', before.get('net.0.bias')!, ref.get('grad:net.0.bias')!, lr, 0).map((v) => Math.min(0.05, Math.max(-0.05, v)));
      expect(maxRelDiff(runner.state.data('net.0.bias') as Float32Array, bias)).toBeLessThan(1e-5);
      const magnitudes = Array.from(runner.state.data('net.0.bias') as Float32Array, Math.abs);
      expect(Math.max(...magnitudes)).toBe(Math.fround(0.05));
      expect(magnitudes.filter((v) => v === Math.fround(0.05)).length).toBeGreaterThan(1);
    }
    await runner.release();
  });

  it('transform errors name the transform and the entry', () => {
    const bad = (t: StateTransform) => () => buildTrainStep(spec(sgd({ momentum: 0.9 }), { transforms: [t] }));
    expect(bad({ name: 't', stage: 'pre-forward', targets: ['net.0.weight#momentum_buffer'], apply: (v: Tensor) => v }))
      .toThrow(/transform 't': target 'net\.0\.weight#momentum_buffer' has role optim/);
    expect(bad({ name: 't', stage: 'pre-forward', targets: ['nothing'], apply: (v: Tensor) => v })).toThrow(/target 'nothing' is not a state entry/);
    expect(bad({ name: 't', stage: 'post-update', targets: ['net.0.weight'], apply: (v: Tensor, ctx) => ctx.scalar('nope') }))
      .toThrow(/scalar 'nope' is not an input/);
  });
});
