import { Graph } from '../../src/graph';
import { barlowTwinsLoss } from '../../src/losses/barlow-twins';
import { ticoLoss } from '../../src/losses/tico';
import { vicregLoss, vicregTerms } from '../../src/losses/vicreg';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';
import { barlowTwins, matrix, tico, vicregTerms as refTerms, type Matrix } from './reference';

const n = 6;
const d = 4;
const feed = (x: ArrayLike<number>, shape = [n, d]) => ({ shape, data: x });

describe('Barlow Twins', () => {
  const za = randn(n * d, 51);
  const zb = randn(n * d, 52);

  it.each([0.005, 0.5])('matches Σ(1 − C_ii)² + λ·Σ_{i≠j} C_ij² with biased-variance standardisation, λ = %p', async (lambda) => {
    const got = await lossValue(([a, b]) => barlowTwinsLoss(a, b, lambda), [feed(za), feed(zb)]);
    expect(got).toBeCloseTo(barlowTwins(matrix(za, n, d), matrix(zb, n, d), lambda), 9);
  });

  it('defaults to λ = 0.005 and eps 1e-5 (visible on a nearly constant dimension)', async () => {
    const nearlyConstant = Float64Array.from(za, (v, i) => (i % d === 0 ? 1 + 1e-3 * v : v));
    const got = await lossValue(([a, b]) => barlowTwinsLoss(a, b), [feed(nearlyConstant), feed(zb)]);
    expect(got).toBeCloseTo(barlowTwins(matrix(nearlyConstant, n, d), matrix(zb, n, d), 0.005, 1e-5), 9);
    expect(Math.abs(got - barlowTwins(matrix(nearlyConstant, n, d), matrix(zb, n, d), 0.005, 0))).toBeGreaterThan(1e-3);
  });

  it('identical views with orthogonal ±1 columns: C is diagonal and the loss has a closed form', async () => {
    // Columns ±1 patterns that are mutually orthogonal over the batch: C is diagonal.
    const h = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]];
    const z = Float64Array.from(h.flat());
    const got = await lossValue(([a, b]) => barlowTwinsLoss(a, b), [feed(z, [4, 4]), feed(z, [4, 4])]);
    // Column 0 is constant (var 0): it standardises to 0, C_00 = 0. The others have var 1: C_ii = 1/(1 + 1e-5).
    expect(got).toBeCloseTo(1 + 3 * (1 - 1 / (1 + 1e-5)) ** 2, 12);
  });

  it('gradient matches finite differences', async () => {
    const res = await checkGradient((_g, [a, b]) => barlowTwinsLoss(a, b, 0.1), [{ shape: [5, 3] }, { shape: [5, 3] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('VICReg', () => {
  // Small-scale embeddings keep every std below 1, so the variance hinge is active and smooth.
  const za = randn(n * d, 61, 0.4);
  const zb = randn(n * d, 62, 0.4);
  const ref = (a: Float64Array, b: Float64Array) => refTerms(matrix(a, n, d), matrix(b, n, d));

  it('terms: MSE invariance, ½ mean hinge on unbiased std (+1e-4), Σ off-diagonal Cov²/D with N−1', async () => {
    const out = await evaluate(([a, b]) => vicregTerms(a, b), [feed(za), feed(zb)]);
    const expected = ref(za, zb);
    expect(out.invariance[0]).toBeCloseTo(expected.invariance, 12);
    expect(out.variance[0]).toBeCloseTo(expected.variance, 12);
    expect(out.covariance[0]).toBeCloseTo(expected.covariance, 12);
    expect(expected.variance).toBeGreaterThan(0);
  });

  it('loss = 25·inv + 25·var + 1·cov by default; weights and eps are passed through', async () => {
    const t = ref(za, zb);
    expect(await lossValue(([a, b]) => vicregLoss(a, b), [feed(za), feed(zb)])).toBeCloseTo(25 * t.invariance + 25 * t.variance + t.covariance, 10);
    const t2 = refTerms(matrix(za, n, d), matrix(zb, n, d), 0.5);
    expect(await lossValue(([a, b]) => vicregLoss(a, b, { lambda: 1, mu: 2, nu: 3, eps: 0.5 }), [feed(za), feed(zb)]))
      .toBeCloseTo(t2.invariance + 2 * t2.variance + 3 * t2.covariance, 10);
  });

  it('the variance hinge is zero once every std exceeds 1', async () => {
    const wide = za.map((v) => 10 * v);
    const out = await evaluate(([a, b]) => vicregTerms(a, b), [feed(wide), feed(wide)]);
    expect(out.variance[0]).toBe(0);
    expect(out.invariance[0]).toBe(0);
  });

  it('gradient matches finite differences', async () => {
    const res = await checkGradient((_g, [a, b]) => vicregLoss(a, b), [
      { shape: [5, 3], data: randn(15, 71, 0.4) }, { shape: [5, 3], data: randn(15, 72, 0.4) },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('TiCo', () => {
  const steps = [0, 1, 2].map((s) => ({ za: randn(n * d, 81 + s), zb: randn(n * d, 91 + s) }));

  it('loss and running covariance C over three steps from C = 0 (β = 0.9, ρ = 8 by default)', async () => {
    let cRef: Matrix = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    let cGraph: ArrayLike<number> = new Float64Array(d * d);
    for (const { za, zb } of steps) {
      const out = await evaluate(([a, b, c]) => ticoLoss(a, b, c), [feed(za), feed(zb), feed(cGraph, [d, d])]);
      const expected = tico(matrix(za, n, d), matrix(zb, n, d), cRef, 0.9, 8);
      expect(out.loss[0]).toBeCloseTo(expected.loss, 10);
      Array.from(out.cNext as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected.c.flat()[i], 12));
      cRef = expected.c;
      cGraph = out.cNext as Float64Array;
    }
  });

  it('β and ρ are passed through', async () => {
    const c0 = randn(d * d, 99, 0.1);
    const out = await evaluate(([a, b, c]) => ticoLoss(a, b, c, 0.5, 2), [feed(steps[0].za), feed(steps[0].zb), feed(c0, [d, d])]);
    const expected = tico(matrix(steps[0].za, n, d), matrix(steps[0].zb, n, d), matrix(c0, d, d), 0.5, 2);
    expect(out.loss[0]).toBeCloseTo(expected.loss, 10);
  });

  it('gradient with respect to z_b matches finite differences (C does not depend on z_b)', async () => {
    const res = await checkGradient((_g, [a, b, c]) => ticoLoss(a, b, c).loss,
      [{ shape: [4, 3], wrt: false }, { shape: [4, 3] }, { shape: [3, 3], data: randn(9, 5, 0.1), wrt: false }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('rejects a C of the wrong size', () => {
    const g = new Graph('m');
    const z = g.input('z', [4, 3]);
    expect(() => ticoLoss(z, z, g.input('c', [4, 4]))).toThrow(/ticoLoss: cPrev float32\[4,4\] must be \[3, 3\] float32/);
  });
});
