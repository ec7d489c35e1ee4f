import { Graph, grad } from '../../src/graph';
import { dinoLoss, teacherTemperature } from '../../src/losses/dino';
import { swavLoss } from '../../src/losses/swav';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';

type Rows = number[][];
const rows = (x: ArrayLike<number>, n: number, d: number): Rows => Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => x[i * d + j]));
const softmaxRow = (r: number[]): number[] => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
};
const logSoftmaxRow = (r: number[]): number[] => softmaxRow(r).map(Math.log);

/** DINOLoss.forward written out: every (teacher t, student s) pair with s ≠ t, per sample. */
function dinoRef(teacher: Rows[], student: Rows[], center: number[], tt: number, ts: number, m: number) {
  let total = 0;
  let terms = 0;
  teacher.forEach((gt, t) => student.forEach((gs, s) => {
    if (s === t) return;
    terms++;
    gt.forEach((row, b) => {
      const p = softmaxRow(row.map((v, k) => (v - center[k]) / tt));
      const lq = logSoftmaxRow(gs[b].map((v) => v / ts));
      total -= p.reduce((a, pk, k) => a + pk * lq[k], 0);
    });
  }));
  const n = teacher[0].length;
  const batchCenter = center.map((_, k) => teacher.reduce((a, g) => a + g.reduce((c, row) => c + row[k], 0), 0) / (teacher.length * n));
  return { loss: total / (terms * n), center: center.map((c, k) => m * c + (1 - m) * batchCenter[k]) };
}

/** Sinkhorn in the reference's [K, B] layout (independent of the graph's). */
function sinkhornRef(s: Rows, eps: number, iters: number): Rows {
  const b = s.length;
  const k = s[0].length;
  let q = Array.from({ length: k }, (_, p) => s.map((r) => Math.exp(r[p] / eps)));
  const tot = q.flat().reduce((a, v) => a + v, 0);
  q = q.map((r) => r.map((v) => v / tot));
  for (let it = 0; it < iters; it++) {
    q = q.map((r) => { const rs = r.reduce((a, v) => a + v, 0); return r.map((v) => v / rs / k); });
    const cs = Array.from({ length: b }, (_, i) => q.reduce((a, r) => a + r[i], 0));
    q = q.map((r) => r.map((v, i) => v / cs[i] / b));
  }
  return Array.from({ length: b }, (_, i) => q.map((r) => r[i] * b));
}

function swavRef(high: Rows[], low: Rows[], tau: number, queues?: Rows[]): number {
  const crops = [...high, ...low];
  let loss = 0;
  high.forEach((h, i) => {
    const q = queues ? sinkhornRef([...h, ...queues[i]], 0.05, 3).slice(0, h.length) : sinkhornRef(h, 0.05, 3);
    let sub = 0;
    crops.forEach((v, j) => {
      if (j === i) return;
      let ce = 0;
      v.forEach((row, b) => { const ls = logSoftmaxRow(row.map((x) => x / tau)); ce -= q[b].reduce((a, qk, k) => a + qk * ls[k], 0); });
      sub += ce / v.length;
    });
    loss += sub / (crops.length - 1);
  });
  return loss / high.length;
}

describe('DINO loss', () => {
  const b = 5;
  const d = 6;
  const views = (n: number, seed: number) => Array.from({ length: n }, (_, i) => randn(b * d, seed + i));
  const teacher = views(2, 10);
  const student = views(4, 20); // 2 global + 2 local
  const center = randn(d, 30, 0.2);
  const feeds = [...teacher, ...student].map((x) => ({ shape: [b, d], data: x }));

  it.each([[0.04, 0.1, 0.9], [0.07, 0.2, 0.5]])('loss and centre update match the pairwise loop (τ_t %p, τ_s %p, m %p)', async (tt, ts, m) => {
    const out = await evaluate((xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 6), xs[6], { teacherTemp: tt, studentTemp: ts, centerMomentum: m }),
      [...feeds, { shape: [1, d], data: center }]);
    const ref = dinoRef(teacher.map((t) => rows(t, b, d)), student.map((s) => rows(s, b, d)), Array.from(center), tt, ts, m);
    expect(out.loss[0]).toBeCloseTo(ref.loss, 10);
    Array.from(out.centerNext as Float64Array).forEach((v, k) => expect(v).toBeCloseTo(ref.center[k], 12));
  });

  it('the loss uses the centre before the update, and the centre changes the loss', async () => {
    const zero = new Float64Array(d);
    const withCenter = await lossValue((xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 6), xs[6], { teacherTemp: 0.04 }).loss, [...feeds, { shape: [1, d], data: center }]);
    const without = await lossValue((xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 6), xs[6], { teacherTemp: 0.04 }).loss, [...feeds, { shape: [1, d], data: zero }]);
    expect(Math.abs(withCenter - without)).toBeGreaterThan(1e-3);
    expect(without).toBeCloseTo(dinoRef(teacher.map((t) => rows(t, b, d)), student.map((s) => rows(s, b, d)), Array.from(zero), 0.04, 0.1, 0.9).loss, 10);
  });

  it('two students only (CIFAR-10: no local views) gives n_terms = 2', async () => {
    const out = await lossValue((xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 4), xs[4], { teacherTemp: 0.04 }).loss, [...feeds.slice(0, 4), { shape: [1, d], data: center }]);
    expect(out).toBeCloseTo(dinoRef(teacher.map((t) => rows(t, b, d)), student.slice(0, 2).map((s) => rows(s, b, d)), Array.from(center), 0.04, 0.1, 0.9).loss, 10);
  });

  it('a per-step teacher temperature input is used', async () => {
    const out = await lossValue((xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 6), xs[6], { teacherTemp: xs[7] }).loss,
      [...feeds, { shape: [1, d], data: center }, { shape: [], data: [0.3] }]);
    expect(out).toBeCloseTo(dinoRef(teacher.map((t) => rows(t, b, d)), student.map((s) => rows(s, b, d)), Array.from(center), 0.3, 0.1, 0.9).loss, 10);
  });

  it('gradient w.r.t. the student matches finite differences; the teacher gets none', async () => {
    const res = await checkGradient((_g, xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 5), xs[5], { teacherTemp: 0.5, studentTemp: 0.7 }).loss, [
      { shape: [3, 4], wrt: false }, { shape: [3, 4], wrt: false }, { shape: [3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }, { shape: [1, 4], wrt: false },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
    const teacherGrad = await checkGradient((_g, xs) => dinoLoss(xs.slice(0, 2), xs.slice(2, 4), xs[4], { teacherTemp: 0.5 }).loss, [
      { shape: [3, 4] }, { shape: [3, 4], wrt: false }, { shape: [3, 4], wrt: false }, { shape: [3, 4], wrt: false }, { shape: [1, 4], wrt: false },
    ], { eps: 1e-6 });
    // Analytic gradient 0 (stopGradient) although the value depends on the teacher: the FD side is not 0.
    expect(teacherGrad.pairs.every((p) => p.analytic === 0)).toBe(true);
    expect(teacherGrad.pairs.some((p) => Math.abs(p.fd) > 1e-3)).toBe(true);
  });

  it('teacher temperature warmup = torch.linspace(warmup, final, epochs)[epoch], then final', () => {
    expect(teacherTemperature(0, 0.04, 0.07, 30)).toBeCloseTo(0.04, 12);
    expect(teacherTemperature(29, 0.04, 0.07, 30)).toBeCloseTo(0.07, 12);
    expect(teacherTemperature(10, 0.04, 0.07, 30)).toBeCloseTo(0.04 + (10 * 0.03) / 29, 12);
    expect(teacherTemperature(30, 0.04, 0.07, 30)).toBe(0.07);
    expect(teacherTemperature(100, 0.04, 0.04, 30)).toBe(0.04);
    expect(teacherTemperature(0, 0.02, 0.05, 1)).toBe(0.02);
    expect(teacherTemperature(0, 0.02, 0.05, 0)).toBe(0.05);
  });

  it('rejects mismatched shapes and a wrong centre', () => {
    const g = new Graph('m');
    const x = g.input('x', [3, 4]);
    expect(() => dinoLoss([x], [x, g.input('y', [3, 5])], g.input('c', [1, 4]), { teacherTemp: 0.04 })).toThrow(/dinoLoss: every output must be a static \[B, D\]/);
    expect(() => dinoLoss([x], [x, x], g.input('c2', [4]), { teacherTemp: 0.04 })).toThrow(/center float32\[4\] must be \[1, 4\]/);
  });
});

describe('SwaV loss', () => {
  const b = 6;
  const k = 5;
  const scores = (n: number, seed: number) => Array.from({ length: n }, (_, i) => randn(b * k, seed + i, 0.4));
  const high = scores(2, 40);
  const low = scores(3, 50);
  const as = (xs: Float64Array[]) => xs.map((x) => rows(x, b, k));

  it.each([0.1, 0.5])('matches the multi-crop loop (τ %p)', async (tau) => {
    const got = await lossValue((xs) => swavLoss(xs.slice(0, 2), xs.slice(2), { temperature: tau }), [...high, ...low].map((x) => ({ shape: [b, k], data: x })));
    expect(got).toBeCloseTo(swavRef(as(high), as(low), tau), 10);
  });

  it('two crops, no low-resolution ones (CIFAR-10)', async () => {
    const got = await lossValue((xs) => swavLoss(xs, []), high.map((x) => ({ shape: [b, k], data: x })));
    expect(got).toBeCloseTo(swavRef(as(high), [], 0.1), 10);
  });

  it('queue scores join Sinkhorn when useQueue is 1 and are ignored when 0', async () => {
    const queues = [randn(4 * k, 60, 0.4), randn(4 * k, 61, 0.4)];
    const feeds = [...high, ...low].map((x) => ({ shape: [b, k], data: x }));
    const build = (flag: number) => lossValue((xs) => swavLoss(xs.slice(0, 2), xs.slice(2, 5), { queueScores: xs.slice(5, 7), useQueue: xs[7] }),
      [...feeds, ...queues.map((q) => ({ shape: [4, k], data: q })), { shape: [], data: [flag] }]);
    const withQueue = swavRef(as(high), as(low), 0.1, queues.map((q) => rows(q, 4, k)));
    const without = swavRef(as(high), as(low), 0.1);
    expect(Math.abs(withQueue - without)).toBeGreaterThan(1e-4);
    expect(await build(1)).toBeCloseTo(withQueue, 10);
    expect(await build(0)).toBeCloseTo(without, 10);
  });

  it('gradient w.r.t. the low-resolution crops matches finite differences (they do not enter the codes)', async () => {
    const res = await checkGradient((_g, xs) => swavLoss(xs.slice(0, 2), xs.slice(2), { temperature: 0.5 }), [
      { shape: [4, 3], data: randn(12, 1, 0.3), wrt: false }, { shape: [4, 3], data: randn(12, 2, 0.3), wrt: false },
      { shape: [4, 3], data: randn(12, 3, 0.3) }, { shape: [4, 3], data: randn(12, 4, 0.3) },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('gradient w.r.t. a high-resolution crop treats its own codes as constants: (softmax(s_0/τ) − q_1)/(τ·B·n_high·(n_crops − 1))', async () => {
    const tau = 0.5;
    const out = await evaluate((xs) => {
      const loss = swavLoss(xs.slice(0, 2), xs.slice(2), { temperature: tau });
      return { d0: grad(loss, [xs[0]])[0], loss };
    }, [...high, ...low].map((x) => ({ shape: [b, k], data: x })));
    const q1 = sinkhornRef(rows(high[1], b, k), 0.05, 3);
    const expected = rows(high[0], b, k).flatMap((r, i) => softmaxRow(r.map((v) => v / tau)).map((p, j) => (p - q1[i][j]) / (tau * b * 2 * 4)));
    Array.from(out.d0 as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });

  it('rejects a queue count that does not match the high-resolution crops', () => {
    const g = new Graph('m');
    const s = g.input('s', [3, 4]);
    expect(() => swavLoss([s, s], [], { queueScores: [g.input('q', [5, 4])] })).toThrow(/1 queues for 2 high-resolution crops/);
  });
});
