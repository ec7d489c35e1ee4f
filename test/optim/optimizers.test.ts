import * as ort from 'onnxruntime-node';
import { Graph, toOnnx, type Tensor } from '../../src/graph';
import { adam, adamw, clipGradNorm, emaUpdate, lars, sgd, type OptimizerRule, type ParamInfo } from '../../src/optim';
import { randn } from '../support/graph-harness';

const SHAPE = [3, 4];
const N = 12;

interface Run { params: Float64Array[]; }

/**
 * Runs `rule` for `steps` steps in ORT on one [3,4] parameter, feeding the gradient of each step
 * as an input, and returns the parameter after every step.
 */
async function runRule(rule: OptimizerRule, p0: Float64Array, grads: Float64Array[], lrs: number[], wd: number | null, kind: ParamInfo['kind'] = 'weight'): Promise<Run> {
  const spec: ParamInfo = { name: 'w', shape: SHAPE, kind, decay: true };
  const g = new Graph('optim');
  const param = g.input('w', SHAPE);
  const grad = g.input('grad', SHAPE);
  const lr = g.input('lr', []);
  const wdT = g.input('weight_decay', []);
  const states = rule.stateFor(spec);
  const stateIn: Tensor[] = states.map((s) => g.input(s.name, s.shape));
  const out = rule.update({ spec, param, grad, state: stateIn, lr, weightDecay: wd === null ? null : wdT });
  g.output('w:next', out.param);
  out.state.forEach((t, i) => g.output(`${states[i].name}:next`, t));
  const session = await ort.InferenceSession.create(toOnnx(g), { intraOpNumThreads: 1 });
  let p: Float32Array = Float32Array.from(p0);
  let st: Float32Array[] = states.map((s) => new Float32Array(s.shape.reduce((a, b) => a * b, 1)));
  const params: Float64Array[] = [];
  for (let k = 0; k < grads.length; k++) {
    const feeds: Record<string, ort.Tensor> = {
      w: new ort.Tensor('float32', p, SHAPE),
      grad: new ort.Tensor('float32', Float32Array.from(grads[k]), SHAPE),
      lr: new ort.Tensor('float32', Float32Array.of(lrs[k]), []),
      weight_decay: new ort.Tensor('float32', Float32Array.of(wd ?? 0), []),
    };
    states.forEach((s, i) => { feeds[s.name] = new ort.Tensor('float32', st[i], [...s.shape]); });
    const r = await session.run(feeds);
    p = r['w:next'].data as Float32Array;
    st = states.map((s) => r[`${s.name}:next`].data as Float32Array);
    params.push(Float64Array.from(p));
  }
  return { params };
}

function expectClose(actual: Float64Array, expected: Float64Array, tol = 2e-5): void {
  // Relative to the element, floored at a tenth of the largest magnitude: float32 rounding of a
  // parameter that happens to pass near zero is not an optimizer error.
  const floor = 0.1 * expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(floor, Math.abs(expected[i])));
  expect(worst).toBeLessThan(tol);
}

const p0 = randn(N, 11, 0.5);
const grads = [randn(N, 21), randn(N, 22, 2), randn(N, 23, 0.3)];
const lrs = [0.1, 0.05, 0.2];
const norm = (x: Float64Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));

// Independent re-implementations of the torch formulas, in float64 loops.
function refSgd(mu: number, nesterov: boolean, wd: number): Float64Array[] {
  const p = Float64Array.from(p0);
  let buf: Float64Array | null = null;
  const out: Float64Array[] = [];
  grads.forEach((g, k) => {
    const d = g.map((gi, i) => gi + wd * p[i]);
    if (buf === null) buf = Float64Array.from(d);
    else for (let i = 0; i < N; i++) buf[i] = mu * buf[i] + d[i];
    for (let i = 0; i < N; i++) p[i] -= lrs[k] * (nesterov ? d[i] + mu * buf[i] : buf[i]);
    out.push(Float64Array.from(p));
  });
  return out;
}

function refLars(mu: number, wd: number, eta = 0.001, eps = 1e-8): Float64Array[] {
  const p = Float64Array.from(p0);
  let buf: Float64Array | null = null;
  const out: Float64Array[] = [];
  grads.forEach((g, k) => {
    let d = Float64Array.from(g);
    const pn = norm(p);
    const gn = norm(g);
    if (wd !== 0 && pn !== 0 && gn !== 0) {
      const local = (eta * pn) / (gn + pn * wd + eps);
      d = d.map((di, i) => (di + wd * p[i]) * local);
    }
    if (buf === null) buf = Float64Array.from(d);
    else for (let i = 0; i < N; i++) buf[i] = mu * buf[i] + d[i];
    for (let i = 0; i < N; i++) p[i] -= lrs[k] * buf[i];
    out.push(Float64Array.from(p));
  });
  return out;
}

function refAdam(decoupled: boolean, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): Float64Array[] {
  const p = Float64Array.from(p0);
  const m = new Float64Array(N);
  const v = new Float64Array(N);
  const out: Float64Array[] = [];
  grads.forEach((g0, k) => {
    const t = k + 1;
    if (decoupled) for (let i = 0; i < N; i++) p[i] *= 1 - lrs[k] * wd;
    const g = decoupled ? g0 : g0.map((gi, i) => gi + wd * p[i]);
    for (let i = 0; i < N; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const stepSize = lrs[k] / (1 - b1 ** t);
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= stepSize * (m[i] / denom);
    }
    out.push(Float64Array.from(p));
  });
  return out;
}

describe('optimizer update rules match torch formulas over 3 steps', () => {
  it.each([
    ['SGD momentum', sgd({ momentum: 0.9 }), 5e-4, () => refSgd(0.9, false, 5e-4)],
    ['SGD Nesterov', sgd({ momentum: 0.9, nesterov: true }), 1e-2, () => refSgd(0.9, true, 1e-2)],
    ['SGD without momentum', sgd({ momentum: 0 }), 1e-2, () => refSgd(0, false, 1e-2)],
    ['LARS', lars({ momentum: 0.9 }), 1e-2, () => refLars(0.9, 1e-2)],
    ['Adam (coupled L2)', adam(), 0.1, () => refAdam(false, 0.1)],
    ['AdamW (decoupled)', adamw({ betas: [0.9, 0.95] }), 0.1, () => refAdam(true, 0.1, 0.9, 0.95)],
  ] as const)('%s', async (_label, rule, wd, ref) => {
    const { params } = await runRule(rule, p0, grads, lrs, wd);
    const expected = ref();
    params.forEach((p, k) => expectClose(p, expected[k]));
  });

  it('a parameter excluded from decay steps without decay (SGD, AdamW)', async () => {
    const s = await runRule(sgd({ momentum: 0.9 }), p0, grads, lrs, null, 'bias');
    refSgd(0.9, false, 0).forEach((e, k) => expectClose(s.params[k], e));
    const a = await runRule(adamw(), p0, grads, lrs, null, 'norm');
    refAdam(true, 0).forEach((e, k) => expectClose(a.params[k], e));
  });

  it('LARS in a wd-0 group is plain momentum SGD: no trust ratio', async () => {
    const excluded = await runRule(lars({ momentum: 0.9 }), p0, grads, lrs, null, 'norm');
    refSgd(0.9, false, 0).forEach((e, k) => expectClose(excluded.params[k], e));
    // wd fed as 0 at run time takes the same path as lightly's `if weight_decay != 0` test.
    const zero = await runRule(lars({ momentum: 0.9 }), p0, grads, lrs, 0);
    refSgd(0.9, false, 0).forEach((e, k) => expectClose(zero.params[k], e));
    // The trust ratio really scales: LARS with decay moves the weights far less than SGD would.
    const adapted = await runRule(lars({ momentum: 0.9 }), p0, grads, lrs, 1e-2);
    const moved = norm(adapted.params[2].map((v, i) => v - p0[i]));
    const sgdMoved = norm(refSgd(0.9, false, 1e-2)[2].map((v, i) => v - p0[i]));
    expect(moved).toBeLessThan(sgdMoved * 0.01);
  });

  it('LARS with a zero parameter skips adaptation (‖p‖ = 0)', async () => {
    const zeros = new Float64Array(N);
    const { params } = await runRule(lars({ momentum: 0.9 }), zeros, grads.slice(0, 1), lrs, 1e-2);
    expectClose(params[0], grads[0].map((g) => -lrs[0] * g));
  });
});

describe('gradient clipping and EMA in graph', () => {
  async function run(g: Graph, feeds: Record<string, Float32Array>, shapes: Record<string, number[]>) {
    const s = await ort.InferenceSession.create(toOnnx(g), { intraOpNumThreads: 1 });
    const f: Record<string, ort.Tensor> = {};
    for (const k of Object.keys(feeds)) f[k] = new ort.Tensor('float32', feeds[k], shapes[k]);
    return s.run(f);
  }

  it('clips by global norm like clip_grad_norm_ (and leaves small gradients alone)', async () => {
    const a = Float32Array.from(randn(6, 1, 3));
    const b = Float32Array.from(randn(4, 2, 3));
    const total = Math.sqrt([...a, ...b].reduce((s, v) => s + v * v, 0));
    for (const maxNorm of [1, total * 2]) {
      const g = new Graph('clip');
      const ta = g.input('a', [6]);
      const tb = g.input('b', [2, 2]);
      const c = clipGradNorm([ta, tb], maxNorm);
      g.output('ca', c.grads[0]);
      g.output('cb', c.grads[1]);
      g.output('norm', c.totalNorm);
      const r = await run(g, { a, b }, { a: [6], b: [2, 2] });
      const coef = Math.min(1, maxNorm / (total + 1e-6));
      expect(Number(r.norm.data[0])).toBeCloseTo(total, 4);
      expectClose(Float64Array.from(r.ca.data as Float32Array), Float64Array.from(a, (v) => v * coef));
      expectClose(Float64Array.from(r.cb.data as Float32Array), Float64Array.from(b, (v) => v * coef));
    }
  });

  it('EMA: m·target + (1−m)·source', async () => {
    const target = Float32Array.from(randn(5, 3));
    const source = Float32Array.from(randn(5, 4));
    const g = new Graph('ema');
    g.output('next', emaUpdate(g.input('t', [5]), g.input('s', [5]), g.input('m', [])));
    const r = await run(g, { t: target, s: source, m: Float32Array.of(0.99) }, { t: [5], s: [5], m: [] });
    expectClose(Float64Array.from(r.next.data as Float32Array), Float64Array.from(target, (v, i) => 0.99 * v + 0.01 * source[i]));
  });
});
