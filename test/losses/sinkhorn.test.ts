import { Graph, grad, reduceSum, mul } from '../../src/graph';
import { sinkhorn, sinkhornKnopp, sinkhornOnProbabilities } from '../../src/losses/sinkhorn';
import { checkGradient, randn, runGraph } from '../support/graph-harness';
import { evaluate } from './evaluate';

/** lightly's sinkhorn written as float64 loops over Q = exp(s/ε)ᵀ in the [K, B] layout. */
function sinkhornRef(s: Float64Array, b: number, k: number, iterations: number, epsilon: number): number[][] {
  const q = Array.from({ length: k }, (_, p) => Array.from({ length: b }, (_, i) => Math.exp(s[i * k + p] / epsilon)));
  let total = 0;
  for (const row of q) for (const v of row) total += v;
  for (const row of q) for (let i = 0; i < b; i++) row[i] /= total;
  for (let it = 0; it < iterations; it++) {
    for (const row of q) {
      const rs = row.reduce((a, v) => a + v, 0);
      for (let i = 0; i < b; i++) row[i] = row[i] / rs / k;
    }
    for (let i = 0; i < b; i++) {
      let cs = 0;
      for (let p = 0; p < k; p++) cs += q[p][i];
      for (let p = 0; p < k; p++) q[p][i] = q[p][i] / cs / b;
    }
  }
  // ×B and transposed back to [B, K].
  return Array.from({ length: b }, (_, i) => Array.from({ length: k }, (_, p) => q[p][i] * b));
}

describe('sinkhorn', () => {
  const b = 6;
  const k = 4;
  const scores = randn(b * k, 7, 0.3);

  it.each([[3, 0.05], [1, 0.05], [5, 0.2], [0, 0.1]])('matches the reference loop (%p iterations, ε = %p)', async (iterations, epsilon) => {
    const out = await evaluate(([s]) => ({ q: sinkhorn(s, iterations, epsilon) }), [{ shape: [b, k], data: scores }]);
    const expected = sinkhornRef(scores, b, k, iterations, epsilon).flat();
    Array.from(out.q as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });

  it('defaults to 3 iterations and ε = 0.05; every code sums to 1', async () => {
    const out = await evaluate(([s]) => ({ q: sinkhorn(s) }), [{ shape: [b, k], data: scores }]);
    const q = Array.from(out.q as Float64Array);
    const expected = sinkhornRef(scores, b, k, 3, 0.05).flat();
    q.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    for (let i = 0; i < b; i++) expect(q.slice(i * k, (i + 1) * k).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
  });

  it('iterated to convergence, every prototype gets mass B/K (equipartition)', async () => {
    const out = await evaluate(([s]) => ({ q: sinkhorn(s, 200, 0.5) }), [{ shape: [b, k], data: scores }]);
    const q = Array.from(out.q as Float64Array);
    for (let p = 0; p < k; p++) expect(q.filter((_, j) => j % k === p).reduce((a, v) => a + v, 0)).toBeCloseTo(b / k, 8);
  });

  it('large scores do not overflow in float32 (exp(s/ε) with s/ε > 88); the result equals the shifted reference', async () => {
    const big = Float64Array.from(scores, (v) => 6 + v);
    const out = await evaluate(([s]) => ({ q: sinkhorn(s) }), [{ shape: [b, k], data: big, dtype: 'float32' }]);
    const expected = sinkhornRef(Float64Array.from(big, (v) => v - 6), b, k, 3, 0.05).flat();
    Array.from(out.q as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('on probabilities (MSN form): the same iteration without exp', async () => {
    const p = Float64Array.from(randn(b * k, 9), (v) => Math.abs(v) + 0.1);
    const out = await evaluate(([x]) => ({ q: sinkhornOnProbabilities(x, 3) }), [{ shape: [b, k], data: p }]);
    // exp(log p / 1) = p, so the exp form of the reference applies with ε = 1.
    const expected = sinkhornRef(Float64Array.from(p, Math.log), b, k, 3, 1).flat();
    Array.from(out.q as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });

  it('the differentiable form matches finite differences', async () => {
    const res = await checkGradient((_g, [s]) => sinkhornKnopp(s, 3, 0.5), [{ shape: [4, 3], data: randn(12, 3, 0.5) }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('sinkhorn itself passes no gradient (torch.no_grad in the reference)', async () => {
    const g = new Graph('m');
    const s = g.input('s', [b, k], 'float64');
    const [ds] = grad(reduceSum(mul(sinkhorn(s), s)), [s]);
    g.output('ds', ds);
    const out = await runGraph(g, { s: { data: scores, shape: [b, k] } });
    const expected = sinkhornRef(scores, b, k, 3, 0.05).flat();
    // d/ds Σ q·s with q constant is q itself.
    Array.from(out.ds.data as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });

  it('rejects a symbolic batch and a bad ε', () => {
    const g = new Graph('m');
    expect(() => sinkhorn(g.input('s', ['N', 4]))).toThrow(/sinkhorn: needs a static \[B, K\] matrix/);
    expect(() => sinkhorn(g.input('t', [2, 4]), 3, 0)).toThrow(/epsilon must be > 0/);
  });
});
