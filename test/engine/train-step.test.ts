import * as ort from 'onnxruntime-node';
import { Graph, crossEntropy, grad, reduceMean, toOnnx } from '../../src/graph';
import { BatchNorm1d } from '../../src/nn/batchnorm';
import { ReLU } from '../../src/nn/activation';
import { Linear } from '../../src/nn/linear';
import { GraphForwardContext, type ParamSpec } from '../../src/nn/module';
import { Sequential } from '../../src/nn/sequential';
import { initParameters } from '../../src/nn/init';
import { Rng } from '../../src/data/rng';
import { sgd } from '../../src/optim';
import { TrainStepRunner, buildTrainStep, nextName, type HostData, type TrainStepSpec } from '../../src/engine';
import { randn } from '../support/graph-harness';

const B = 6;
const mlp = () => new Sequential([new Linear(4, 8, { bias: false }), new BatchNorm1d(8), new ReLU(), new Linear(8, 3)]);
const net = mlp();
const x = Float32Array.from(randn(B * 4, 5));
const y = BigInt64Array.from([0, 1, 2, 0, 1, 2].map(BigInt));
const data = () => ({ x: new ort.Tensor('float32', x, [B, 4]), y: new ort.Tensor('int64', y, [B]) });
const opts = { threads: 1 } as const;

function spec(extra: Partial<TrainStepSpec> = {}): TrainStepSpec {
  return {
    name: 'mlp-step',
    trainable: net.parameters('net'),
    buffers: net.buffers('net'),
    optimizer: sgd({ momentum: 0.9 }),
    excludeNormBiasFromWd: true,
    build(step) {
      const ctx = step.forward(net, { prefix: 'net' });
      const logits = net.forward(ctx, step.input('x', [B, 4]));
      return { loss: crossEntropy(logits, step.input('y', [B], 'int64')), metrics: { logit_mean: reduceMean(logits) } };
    },
    ...extra,
  };
}

function initial(prefix = 'net', seed = 3): Map<string, HostData> {
  return initParameters([...net.parameters(prefix), ...net.buffers(prefix)], new Rng(seed)) as Map<string, HostData>;
}

/** Loss, parameter gradients and BN buffer updates of the MLP at `values`, from a separate plain graph. */
async function reference(values: Map<string, HostData>) {
  const g = new Graph('reference');
  const ctx = new GraphForwardContext(g, net, { training: true, prefix: 'net' });
  const loss = crossEntropy(net.forward(ctx, g.input('x', [B, 4])), g.input('y', [B], 'int64'));
  const names = [...ctx.parameterTensors.keys()];
  const grads = grad(loss, names.map((n) => ctx.parameterTensors.get(n)!));
  g.output('loss', loss);
  names.forEach((n, i) => g.output(`grad:${n}`, grads[i]));
  for (const [n, t] of ctx.bufferUpdates) g.output(`buf:${n}`, t);
  const s = await ort.InferenceSession.create(toOnnx(g), { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = data();
  for (const t of g.inputs) if (!feeds[t.name]) feeds[t.name] = new ort.Tensor('float32', values.get(t.name) as Float32Array, t.shape as number[]);
  const r = await s.run(feeds);
  const out = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(r)) out.set(k, v.data as Float32Array);
  return out;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / scale;
}

describe('training step model', () => {
  it('two SGD steps equal plain-graph gradients + the torch update, with norm/bias excluded from decay', async () => {
    const model = buildTrainStep(spec({ exposeGradients: true }));
    expect(model.scalarNames).toEqual(['lr', 'weight_decay']);
    expect(model.stateNames).toContain('net.0.weight#momentum_buffer');
    const runner = await TrainStepRunner.create(model, initial(), opts);
    const lr = 0.1, wd = 0.01, mu = 0.9;
    const params = net.parameters('net');
    let values = initial();
    const bufs = new Map<string, Float64Array>();
    for (let step = 0; step < 2; step++) {
      const ref = await reference(values);
      const r = await runner.step(data(), { lr, weightDecay: wd });
      expect(r.loss).toBeCloseTo(ref.get('loss')![0], 5);
      for (const p of params) expect(maxRelDiff(r.gradients!.get(p.name)!, ref.get(`grad:${p.name}`)!)).toBeLessThan(1e-6);
      const next = new Map<string, HostData>(values);
      for (const p of params) {
        const decay = p.kind === 'weight' ? wd : 0;
        const p0 = values.get(p.name) as Float32Array;
        const gr = ref.get(`grad:${p.name}`)!;
        const d = Float64Array.from(gr, (gi, i) => gi + decay * p0[i]);
        const buf = bufs.get(p.name)?.map((b, i) => mu * b + d[i]) ?? d;
        bufs.set(p.name, buf);
        const expected = Float64Array.from(p0, (v, i) => v - lr * buf[i]);
        expect(maxRelDiff(runner.state.data(p.name) as Float32Array, expected)).toBeLessThan(1e-5);
        expect(maxRelDiff(runner.state.data(`${p.name}#momentum_buffer`) as Float32Array, buf)).toBeLessThan(1e-5);
        next.set(p.name, Float32Array.from(expected));
      }
      for (const b of net.buffers('net')) {
        expect(maxRelDiff(runner.state.data(b.name) as Float32Array, ref.get(`buf:${b.name}`)!)).toBeLessThan(1e-6);
        next.set(b.name, Float32Array.from(runner.state.data(b.name) as Float32Array));
      }
      values = next;
    }
    await runner.release();
  });

  it('the loss falls on a fixed batch; fresh and ping-pong outputs give identical states', async () => {
    const model = buildTrainStep(spec());
    const fresh = await TrainStepRunner.create(model, initial(), { ...opts, outputs: 'fresh' });
    const pingpong = await TrainStepRunner.create(model, initial(), { ...opts, outputs: 'pingpong' });
    const losses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const a = await fresh.step(data(), { lr: 0.1, weightDecay: 5e-4 });
      const b = await pingpong.step(data(), { lr: 0.1, weightDecay: 5e-4 });
      expect(b.loss).toBe(a.loss);
      expect(b.metrics.logit_mean).toBe(a.metrics.logit_mean);
      losses.push(a.loss);
    }
    expect(losses[24]).toBeLessThan(losses[0] * 0.5);
    for (const name of model.stateNames) expect(Array.from(pingpong.state.data(name) as Float32Array)).toEqual(Array.from(fresh.state.data(name) as Float32Array));
  });

  it('EMA teacher: target ← m·target + (1−m)·student before the forward pass; unreached params keep value and state', async () => {
    const teacher: ParamSpec[] = net.parameters('teacher');
    const unused: ParamSpec = { name: 'unused.weight', shape: [2], init: { type: 'constant', value: 1 }, decay: true, kind: 'weight' };
    const model = buildTrainStep(spec({
      trainable: [...net.parameters('net'), unused],
      buffers: [...net.buffers('net'), ...net.buffers('teacher')],
      emaPairs: teacher.map((t) => ({ target: t, source: t.name.replace(/^teacher/, 'net') })),
      gradClipNorm: 1e-3,
      build(step) {
        const student = step.forward(net, { prefix: 'net' });
        const tctx = step.forward(net, { prefix: 'teacher' });
        const xin = step.input('x', [B, 4]);
        const labels = step.input('y', [B], 'int64');
        const loss = crossEntropy(net.forward(student, xin), labels);
        return { loss, metrics: { teacher_loss: crossEntropy(net.forward(tctx, xin), labels) } };
      },
    }));
    expect(model.scalarNames).toEqual(['lr', 'weight_decay', 'ema_momentum']);
    expect(model.metricNames).toEqual(['teacher_loss', 'grad_norm']);
    expect(model.updatedNames).not.toContain('unused.weight');
    const init = initial();
    for (const [k, v] of initial('teacher', 9)) init.set(k, v);
    init.set('unused.weight', Float32Array.of(1, 1));
    const runner = await TrainStepRunner.create(model, init, opts);
    const m = 0.99;
    const r = await runner.step(data(), { lr: 0.1, weightDecay: 0, emaMomentum: m });
    expect(r.metrics.grad_norm).toBeGreaterThan(1e-3);
    for (const t of teacher) {
      const t0 = init.get(t.name) as Float32Array;
      const s0 = init.get(t.name.replace(/^teacher/, 'net')) as Float32Array;
      expect(maxRelDiff(runner.state.data(t.name) as Float32Array, Float64Array.from(t0, (v, i) => m * v + (1 - m) * s0[i]))).toBeLessThan(1e-6);
    }
    // Clipped to norm 1e-3 with lr 0.1: every parameter moved by at most lr·1e-3 (first step, buf = g).
    for (const p of net.parameters('net')) {
      const p0 = init.get(p.name) as Float32Array;
      const p1 = runner.state.data(p.name) as Float32Array;
      p1.forEach((v, i) => expect(Math.abs(v - p0[i])).toBeLessThanOrEqual(1e-4 * 1.0001));
    }
    expect(Array.from(runner.state.data('unused.weight') as Float32Array)).toEqual([1, 1]);
    expect(Array.from(runner.state.data('unused.weight#momentum_buffer') as Float32Array)).toEqual([0, 0]);
    expect(model.outputNames).toContain(nextName('teacher.1.running_mean'));
  });

  it('build-time errors name the missing state entry; missing feeds and initial values are clear', async () => {
    expect(() => buildTrainStep(spec({ trainable: net.parameters('net').filter((p) => p.name !== 'net.3.bias') })))
      .toThrow(/parameter 'net\.3\.bias' is not a state entry/);
    expect(() => buildTrainStep(spec({ emaPairs: [{ target: net.parameters('teacher')[0], source: 'net.nothing' }] })))
      .toThrow(/EMA source 'net\.nothing'/);
    const model = buildTrainStep(spec());
    await expect(TrainStepRunner.create(model, new Map(), opts)).rejects.toThrow(/state 'net\.0\.weight' \(param\): no initial value/);
    const runner = await TrainStepRunner.create(model, initial(), opts);
    await expect(runner.step({ x: data().x } as Record<string, ort.Tensor>, { lr: 0.1, weightDecay: 0 })).rejects.toThrow(/'y': no data fed/);
  });
});
