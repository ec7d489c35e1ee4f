import { Graph } from '../../src/graph';
import { BatchNorm1d, BatchNorm2d, GraphForwardContext, SplitBatchNorm } from '../../src/nn';
import { checkGradient, randn } from '../support/graph-harness';
import { maxAbsDiff, runModule } from './support';

interface Stats { mean: number[]; biasedVar: number[]; count: number }

/** Per-channel statistics over the samples `select` picks of x [N, C, S] (S = spatial size). */
function channelStats(x: Float32Array, n: number, c: number, s: number, select: (i: number) => boolean): Stats {
  const mean = new Array(c).fill(0);
  const sq = new Array(c).fill(0);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!select(i)) continue;
    count += s;
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) mean[ch] += x[(i * c + ch) * s + p];
  }
  for (let ch = 0; ch < c; ch++) mean[ch] /= count;
  for (let i = 0; i < n; i++) {
    if (!select(i)) continue;
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) sq[ch] += (x[(i * c + ch) * s + p] - mean[ch]) ** 2;
  }
  return { mean, biasedVar: sq.map((v) => v / count), count };
}

function normalise(x: Float32Array, n: number, c: number, s: number, i: number, ch: number, p: number, mean: number, variance: number, gamma: number, beta: number): number {
  return gamma * (x[(i * c + ch) * s + p] - mean) / Math.sqrt(variance + 1e-5) + beta;
}

const randomVector = (len: number, seed: number, offset = 0, scale = 1) => Float32Array.from(randn(len, seed), (v) => offset + scale * v);

describe('BatchNorm2d', () => {
  const [n, c, h, w] = [6, 3, 4, 5];
  const s = h * w;
  const x = randomVector(n * c * s, 3, 0.7, 2);
  const values = () => new Map([
    ['weight', randomVector(c, 11, 1, 0.3)], ['bias', randomVector(c, 12, 0, 0.3)],
    ['running_mean', randomVector(c, 13, 0, 0.5)], ['running_var', randomVector(c, 14, 1.5, 0.2)],
  ]);

  it('training: batch statistics, running stats with momentum 0.1 and unbiased variance, applied once per pass', async () => {
    const v = values();
    const run = await runModule(new BatchNorm2d(c), { shape: [n, c, h, w], data: x }, { training: true, values: v, passes: 2 });
    const st = channelStats(x, n, c, s, () => true);
    const expected = new Float32Array(x.length);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) {
      expected[(i * c + ch) * s + p] = normalise(x, n, c, s, i, ch, p, st.mean[ch], st.biasedVar[ch], v.get('weight')![ch], v.get('bias')![ch]);
    }
    expect(maxAbsDiff(run.output, expected)).toBeLessThan(1e-5);
    const unbiased = st.biasedVar.map((vv) => (vv * st.count) / (st.count - 1));
    // Two passes (two views through one layer) move the statistics twice, as two torch calls do.
    const rm = Array.from(v.get('running_mean')!, (r, ch) => 0.9 * (0.9 * r + 0.1 * st.mean[ch]) + 0.1 * st.mean[ch]);
    const rv = Array.from(v.get('running_var')!, (r, ch) => 0.9 * (0.9 * r + 0.1 * unbiased[ch]) + 0.1 * unbiased[ch]);
    expect(maxAbsDiff(run.buffers.get('running_mean')!, rm)).toBeLessThan(1e-6);
    expect(maxAbsDiff(run.buffers.get('running_var')!, rv)).toBeLessThan(1e-5);
  });

  it('eval: normalises with the running statistics and leaves them unchanged', async () => {
    const v = values();
    const run = await runModule(new BatchNorm2d(c), { shape: [n, c, h, w], data: x }, { training: false, values: v });
    const expected = new Float32Array(x.length);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) {
      expected[(i * c + ch) * s + p] = normalise(x, n, c, s, i, ch, p, v.get('running_mean')![ch], v.get('running_var')![ch], v.get('weight')![ch], v.get('bias')![ch]);
    }
    expect(maxAbsDiff(run.output, expected)).toBeLessThan(1e-5);
    expect(run.buffers.size).toBe(0);
  });

  it('rejects inputs of the wrong rank or channel count with the scope in the message', () => {
    const g = new Graph('m');
    const bn = new BatchNorm2d(4);
    const ctx = new GraphForwardContext(g, bn, { training: true, prefix: 'head' });
    expect(() => ctx.scope('bn', () => bn.forward(ctx, g.input('x', [2, 3, 4, 4])))).toThrow(/^head\.bn: BatchNorm2d\(4\): input \[2,3,4,4\] must be \[N, C, H, W\] with C = 4/);
  });
});

describe('BatchNorm1d', () => {
  it('without affine (BN*): declares only buffers and normalises to zero mean, unit biased variance', async () => {
    const [n, c] = [8, 5];
    const bn = new BatchNorm1d(c, { affine: false });
    expect(bn.parameters()).toEqual([]);
    expect(bn.buffers().map((b) => b.name)).toEqual(['running_mean', 'running_var']);
    const x = randomVector(n * c, 21, 3, 2);
    const run = await runModule(bn, { shape: [n, c], data: x }, { training: true });
    const st = channelStats(x, n, c, 1, () => true);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < n; i++) expect(run.output[i * c + ch]).toBeCloseTo((x[i * c + ch] - st.mean[ch]) / Math.sqrt(st.biasedVar[ch] + 1e-5), 5);
    }
    expect(run.buffers.get('running_var')![0]).toBeCloseTo(0.9 + 0.1 * st.biasedVar[0] * n / (n - 1), 5);
    const evalRun = await runModule(bn, { shape: [n, c], data: x }, { training: false });
    expect(maxAbsDiff(evalRun.output, Array.from(x, (v) => v / Math.sqrt(1 + 1e-5)))).toBeLessThan(1e-5);
  });
  it('training mode with one value per channel is rejected, as in torch', () => {
    const g = new Graph('m');
    const bn = new BatchNorm1d(4);
    expect(() => bn.forward(new GraphForwardContext(g, bn, { training: true }), g.input('x', [1, 4]))).toThrow(/input \[1,4\] has 1 value per channel; training mode needs more than 1/);
    const h = new Graph('eval');
    expect(bn.forward(new GraphForwardContext(h, bn, { training: false }), h.input('y', [1, 4])).shape).toEqual([1, 4]);
  });
});

describe('SplitBatchNorm', () => {
  const [n, c, h, w, k] = [8, 3, 2, 3, 4];
  const s = h * w;
  const x = randomVector(n * c * s, 31, -0.4, 1.5);

  it('training: sample n uses split n mod k; per-split running stats stored at [split·C + c]', async () => {
    const bn = new SplitBatchNorm(c, k);
    expect(bn.buffers().map((b) => [b.name, b.shape])).toEqual([['running_mean', [c * k]], ['running_var', [c * k]]]);
    expect(bn.parameters().map((p) => [p.name, p.shape])).toEqual([['weight', [c]], ['bias', [c]]]);
    const v = new Map([
      ['weight', randomVector(c, 32, 1, 0.3)], ['bias', randomVector(c, 33, 0, 0.3)],
      ['running_mean', randomVector(c * k, 34, 0, 0.5)], ['running_var', randomVector(c * k, 35, 1.5, 0.2)],
    ]);
    const run = await runModule(bn, { shape: [n, c, h, w], data: x }, { training: true, values: v });
    const stats = Array.from({ length: k }, (_, split) => channelStats(x, n, c, s, (i) => i % k === split));
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) {
      const st = stats[i % k];
      const e = normalise(x, n, c, s, i, ch, p, st.mean[ch], st.biasedVar[ch], v.get('weight')![ch], v.get('bias')![ch]);
      expect(run.output[(i * c + ch) * s + p]).toBeCloseTo(e, 4);
    }
    const rm = run.buffers.get('running_mean')!;
    const rv = run.buffers.get('running_var')!;
    for (let split = 0; split < k; split++) for (let ch = 0; ch < c; ch++) {
      const j = split * c + ch;
      const st = stats[split];
      expect(rm[j]).toBeCloseTo(0.9 * v.get('running_mean')![j] + 0.1 * st.mean[ch], 5);
      expect(rv[j]).toBeCloseTo(0.9 * v.get('running_var')![j] + 0.1 * st.biasedVar[ch] * st.count / (st.count - 1), 5);
    }
  });

  it('eval: normalises with the running statistics averaged over the splits', async () => {
    const v = new Map([
      ['weight', randomVector(c, 42, 1, 0.3)], ['bias', randomVector(c, 43, 0, 0.3)],
      ['running_mean', randomVector(c * k, 44, 0, 0.5)], ['running_var', randomVector(c * k, 45, 1.5, 0.2)],
    ]);
    const run = await runModule(new SplitBatchNorm(c, k), { shape: [n, c, h, w], data: x }, { training: false, values: v });
    const avg = (name: string, ch: number) => Array.from({ length: k }, (_, sp) => v.get(name)![sp * c + ch]).reduce((a, b) => a + b) / k;
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < s; p++) {
      const e = normalise(x, n, c, s, i, ch, p, avg('running_mean', ch), avg('running_var', ch), v.get('weight')![ch], v.get('bias')![ch]);
      expect(run.output[(i * c + ch) * s + p]).toBeCloseTo(e, 5);
    }
  });

  it('gradients (input, shared γ and β) match finite differences', async () => {
    const bn = new SplitBatchNorm(2, 2);
    const res = await checkGradient((g, [xi, gamma, beta]) => {
      const consts = new Map([['running_mean', g.constant(new Float64Array(4), [4])], ['running_var', g.constant(new Float64Array(4).fill(1), [4])]]);
      const ctx = new GraphForwardContext(g, bn, {
        training: true,
        source: (spec) => (spec.name === 'weight' ? gamma : spec.name === 'bias' ? beta : consts.get(spec.name)!),
      });
      return bn.forward(ctx, xi);
    }, [{ shape: [4, 2, 2, 2] }, { shape: [2] }, { shape: [2] }]);
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('rejects a batch that does not divide into the splits', () => {
    const g = new Graph('m');
    const bn = new SplitBatchNorm(3, 4);
    const ctx = new GraphForwardContext(g, bn, { training: true });
    expect(() => bn.forward(ctx, g.input('x', [6, 3, 2, 2]))).toThrow(/SplitBatchNorm\(3, splits 4\): batch of input \[6,3,2,2\] must be static and divisible by 4/);
  });
});
