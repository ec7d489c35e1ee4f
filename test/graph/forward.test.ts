import {
  Graph, argmax, equal, greater, greaterOrEqual, less, lessOrEqual, logicalAnd, logicalNot, oneHot, scatterNDAdd, sign, topK, zerosLike, batchNormTrain, conv2d, crossEntropy, l2Normalize, layerNorm, logSumExp, maxPool2d, multiHeadSelfAttention, softmax,
} from '../../src/graph';
import { randn, runGraph, type Feed } from '../support/graph-harness';

// Forward values against plain-JS references (finite differences only prove the gradients agree
// with our own forward, not that the forward means what torch means).
const f64 = (n: number, seed: number) => randn(n, seed);
const feed = (data: Float64Array | Float32Array, shape: number[]): Feed => ({ data, shape });
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(tol * (1 + Math.abs(want[i])));
};

describe('forward values match JS references', () => {
  it('batchNormTrain: biased batch statistics, eps inside the sqrt, affine', async () => {
    const [n, c, hw] = [3, 2, 4];
    const x = f64(n * c * hw, 1);
    const gamma = Float64Array.from([1.5, -0.5]);
    const beta = Float64Array.from([0.1, 2]);
    const g = new Graph('t');
    const r = batchNormTrain(g.input('x', [n, c, 2, 2], 'float64'), g.input('g', [c], 'float64'), g.input('b', [c], 'float64'), 1e-3);
    g.output('y', r.y);
    g.output('mean', r.mean);
    g.output('var', r.variance);
    const out = await runGraph(g, { x: feed(x, [n, c, 2, 2]), g: feed(gamma, [c]), b: feed(beta, [c]) });
    const mean = [0, 1].map((ch) => { let s = 0; for (let i = 0; i < n; i++) for (let k = 0; k < hw; k++) s += x[(i * c + ch) * hw + k]; return s / (n * hw); });
    const variance = [0, 1].map((ch) => { let s = 0; for (let i = 0; i < n; i++) for (let k = 0; k < hw; k++) s += (x[(i * c + ch) * hw + k] - mean[ch]) ** 2; return s / (n * hw); });
    const y = Array.from(x, (v, idx) => { const ch = Math.floor(idx / hw) % c; return gamma[ch] * (v - mean[ch]) / Math.sqrt(variance[ch] + 1e-3) + beta[ch]; });
    close(out.mean.data as Float64Array, mean, 1e-12);
    close(out.var.data as Float64Array, variance, 1e-12);
    close(out.y.data as Float64Array, y, 1e-12);
  });

  it('crossEntropy (hard and soft), logSumExp, softmax, l2Normalize', async () => {
    const z = f64(6, 2);
    const g = new Graph('t');
    const logits = g.input('z', [2, 3], 'float64');
    const labels = g.input('y', [2], 'int64');
    const soft = g.input('t', [2, 3], 'float64');
    g.output('hard', crossEntropy(logits, labels));
    g.output('soft', crossEntropy(logits, soft));
    g.output('lse', logSumExp(logits, 1));
    g.output('sm', softmax(logits));
    g.output('l2', l2Normalize(logits, 1));
    const t = Float64Array.from([0.2, 0.3, 0.5, 1, 0, 0]);
    const out = await runGraph(g, { z: feed(z, [2, 3]), y: { data: BigInt64Array.from([2n, 0n]), shape: [2] }, t: feed(t, [2, 3]) });
    const lse = [0, 1].map((r) => Math.log(Math.exp(z[r * 3]) + Math.exp(z[r * 3 + 1]) + Math.exp(z[r * 3 + 2])));
    close(out.lse.data as Float64Array, lse, 1e-12);
    close(out.hard.data as Float64Array, [(lse[0] - z[2] + lse[1] - z[3]) / 2], 1e-12);
    let softRef = 0;
    for (let i = 0; i < 6; i++) softRef -= t[i] * (z[i] - lse[Math.floor(i / 3)]);
    close(out.soft.data as Float64Array, [softRef / 2], 1e-12);
    close(out.sm.data as Float64Array, Array.from(z, (v, i) => Math.exp(v - lse[Math.floor(i / 3)])), 1e-12);
    const norms = [0, 1].map((r) => Math.hypot(z[r * 3], z[r * 3 + 1], z[r * 3 + 2]));
    close(out.l2.data as Float64Array, Array.from(z, (v, i) => v / norms[Math.floor(i / 3)]), 1e-12);
  });

  it('layerNorm over the last axis', async () => {
    const x = Float32Array.from(f64(8, 3));
    const g = new Graph('t');
    g.output('y', layerNorm(g.input('x', [2, 4]), g.constant(new Float32Array([1, 2, 3, 4]), [4]), g.constant(new Float32Array([0, 0, 1, 1]), [4]), 1e-5));
    const out = await runGraph(g, { x: feed(x, [2, 4]) });
    const ref: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = Array.from(x.slice(r * 4, r * 4 + 4));
      const m = row.reduce((a, b) => a + b) / 4;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      row.forEach((val, i) => ref.push(((val - m) / Math.sqrt(v + 1e-5)) * [1, 2, 3, 4][i] + [0, 0, 1, 1][i]));
    }
    close(out.y.data as Float32Array, ref, 1e-5);
  });

  it('maxPool2d 3x3 s2 p1 pads with -inf (as torch)', async () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => -100 + i);
    const g = new Graph('t');
    g.output('y', maxPool2d(g.input('x', [1, 1, 4, 4]), 3, 2, 1));
    const out = await runGraph(g, { x: feed(x, [1, 1, 4, 4]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([-95, -93, -87, -85]);
  });

  it('multiHeadSelfAttention matches a per-head JS reference', async () => {
    const [bsz, t, d, heads] = [1, 3, 4, 2];
    const x = f64(bsz * t * d, 7);
    const wqkv = f64(3 * d * d, 8);
    const wo = f64(d * d, 9);
    const g = new Graph('t');
    g.output('y', multiHeadSelfAttention(g.input('x', [bsz, t, d], 'float64'), { qkvWeight: g.input('wqkv', [3 * d, d], 'float64'), projWeight: g.input('wo', [d, d], 'float64') }, heads));
    const out = await runGraph(g, { x: feed(x, [bsz, t, d]), wqkv: feed(wqkv, [3 * d, d]), wo: feed(wo, [d, d]) });
    const lin = (row: number[], w: Float64Array, outDim: number) => Array.from({ length: outDim }, (_, o) => row.reduce((s, v, i) => s + v * w[o * row.length + i], 0));
    const qkv = Array.from({ length: t }, (_, i) => lin(Array.from(x.slice(i * d, i * d + d)), wqkv, 3 * d));
    const dh = d / heads;
    const attnOut = Array.from({ length: t }, () => new Array<number>(d).fill(0));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < t; i++) {
        const scores = Array.from({ length: t }, (_, j) => {
          let s = 0;
          for (let k = 0; k < dh; k++) s += qkv[i][h * dh + k] * qkv[j][d + h * dh + k];
          return s / Math.sqrt(dh);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b);
        for (let j = 0; j < t; j++) for (let k = 0; k < dh; k++) attnOut[i][h * dh + k] += (e[j] / z) * qkv[j][2 * d + h * dh + k];
      }
    }
    // ORT fuses Mul(1/√d_h) + MatMul into FusedMatMul whose alpha attribute is a float32, so a
    // float64 graph agrees to ~1e-8 relative here, not to the last bit.
    close(out.y.data as Float64Array, attnOut.flatMap((row) => lin(row, wo, d)), 1e-6);
  });
});

describe('ops without gradients compute the right values', () => {
  it('comparisons, logic, argmax, oneHot, topK indices, sign, scatterNDAdd', async () => {
    const g = new Graph('t');
    const x = g.input('x', [2, 3]);
    const y = g.input('y', [3]);
    const labels = g.input('labels', [3], 'int32');
    g.output('eq', equal(x, y));
    g.output('lt', less(x, y));
    g.output('and', logicalAnd(greater(x, 0), lessOrEqual(x, 2)));
    g.output('not', logicalNot(greaterOrEqual(x, y)));
    g.output('argmax', argmax(x, 1));
    g.output('onehot', oneHot(labels, 4));
    g.output('topi', topK(x, 2, 1).indices);
    g.output('sign', sign(x));
    g.output('scatter', scatterNDAdd(zerosLike(y), g.constant(BigInt64Array.from([2n, 0n, 2n]), [3, 1], 'int64'), g.constant(Float32Array.from([1, 2, 3]), [3])));
    const out = await runGraph(g, {
      x: feed(Float32Array.from([1, 5, -2, 3, 0, 3]), [2, 3]),
      y: feed(Float32Array.from([1, 0, 3]), [3]),
      labels: { data: Int32Array.from([3, 0, 1]), shape: [3] },
    });
    const list = (k: string) => Array.from(out[k].data as ArrayLike<number | bigint>, Number);
    expect(list('eq')).toEqual([1, 0, 0, 0, 1, 1]);
    expect(list('lt')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(list('and')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(list('not')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(list('argmax')).toEqual([1, 0]);
    expect(list('onehot')).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0]);
    expect(list('topi')).toEqual([1, 0, 0, 2]);
    expect(list('sign')).toEqual([1, 1, -1, 1, 0, 1]);
    expect(list('scatter')).toEqual([2, 0, 4]);
  });
});
