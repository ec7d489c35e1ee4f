/**
 * The loss forms the published benchmark rows were run with (docs/methods.md §4.21): DCL/DCLW with two
 * separate log-sum-exps, TiCo without the stop-gradient on B, Barlow Twins with both views
 * standardised jointly. Each is checked against a float64 loop written here from its formula, and
 * its graph gradient against central finite differences of that loop.
 */
import { grad } from '../../src/graph';
import { barlowTwinsLoss } from '../../src/losses/barlow-twins';
import { dclLoss, dclwLoss } from '../../src/losses/dcl';
import { ticoLoss } from '../../src/losses/tico';
import { randn } from '../support/graph-harness';
import { evaluate } from './evaluate';
import { avg, barlowJoint, dclSeparate, dotp, rows, ticoValue } from './published-variants-reference';

/** Central differences of a float64 reference along `direction` for input `which`. */
function fdAlong(f: (xs: number[][]) => number, xs: number[][], which: number, direction: ArrayLike<number>, eps = 1e-6): number {
  const shifted = (sign: number) => xs.map((x, i) => (i === which ? x.map((v, j) => v + sign * eps * direction[j]) : x));
  return (f(shifted(1)) - f(shifted(-1))) / (2 * eps);
}

const n = 6;
const d = 4;
const x0 = Array.from(randn(n * d, 41));
const x1 = Array.from(randn(n * d, 42));
const feed = (data: number[], shape = [n, d]) => ({ shape, data });

/** The graph's loss and its gradients w.r.t. the first two inputs; every other input is held. */
async function lossAndGradients(build: (xs: import('../../src/graph').Tensor[]) => import('../../src/graph').Tensor, inputs: { shape: number[]; data: number[] }[]) {
  const out = await evaluate((xs) => {
    const loss = build(xs);
    const [g0, g1] = grad(loss, [xs[0], xs[1]]);
    return { loss, g0, g1 };
  }, inputs);
  return { loss: Number(out.loss[0]), grads: [Array.from(out.g0 as Float64Array), Array.from(out.g1 as Float64Array)] };
}

/** Compares the graph gradient with finite differences of the reference along three random directions per input. */
function expectGradientsMatch(grads: number[][], reference: (xs: number[][]) => number, xs: number[][], tol = 1e-6) {
  for (const which of [0, 1]) {
    for (let k = 0; k < 3; k++) {
      const v = randn(xs[which].length, 900 + 10 * which + k);
      const analytic = dotp(grads[which], Array.from(v));
      const fd = fdAlong(reference, xs, which, v);
      const scale = Math.max(Math.abs(fd), Math.sqrt(dotp(grads[which], grads[which])), 1e-8);
      expect(Math.abs(analytic - fd) / scale).toBeLessThan(tol);
    }
  }
}

describe('DCL / DCLW with separate log-sum-exps (published rows)', () => {
  const ref = (tau: number, sigma?: number) => (xs: number[][]) => dclSeparate(rows(xs[0], n, d), rows(xs[1], n, d), tau, sigma);

  it.each([0.1, 0.5])('DCL value and gradient match the reference loop at τ = %p', async (tau) => {
    const { loss, grads } = await lossAndGradients(([a, b]) => dclLoss(a, b, tau, 'separate'), [feed(x0), feed(x1)]);
    expect(loss).toBeCloseTo(ref(tau)([x0, x1]), 10);
    expectGradientsMatch(grads, ref(tau), [x0, x1]);
  });

  it('DCLW value matches the reference loop; its gradient matches the loop with the weights held fixed', async () => {
    const { loss, grads } = await lossAndGradients(([a, b]) => dclwLoss(a, b, 0.2, 0.5, 'separate'), [feed(x0), feed(x1)]);
    expect(loss).toBeCloseTo(ref(0.2, 0.5)([x0, x1]), 10);
    // The weights are detached: at a huge σ they are ≈ 1 and the loss is DCL's, gradient included.
    const flat = await lossAndGradients(([a, b]) => dclwLoss(a, b, 0.2, 1e9, 'separate'), [feed(x0), feed(x1)]);
    expectGradientsMatch(flat.grads, ref(0.2), [x0, x1]);
    // At σ = 0.5 a finite difference of the full formula sees the weights move; the graph must not.
    const v = randn(n * d, 77);
    expect(Math.abs(dotp(grads[0], Array.from(v)) - fdAlong(ref(0.2, 0.5), [x0, x1], 0, v))).toBeGreaterThan(1e-4);
  });

  it('differs from the joint form in value and gradient', async () => {
    const joint = await lossAndGradients(([a, b]) => dclLoss(a, b, 0.1), [feed(x0), feed(x1)]);
    const separate = await lossAndGradients(([a, b]) => dclLoss(a, b, 0.1, 'separate'), [feed(x0), feed(x1)]);
    expect(Math.abs(joint.loss - separate.loss)).toBeGreaterThan(0.1);
    const cos = dotp(joint.grads[0], separate.grads[0]) / Math.sqrt(dotp(joint.grads[0], joint.grads[0]) * dotp(separate.grads[0], separate.grads[0]));
    expect(cos).toBeLessThan(0.9999);
  });
});

describe('TiCo without the stop-gradient on B (published rows)', () => {
  const cPrev = Array.from(randn(d * d, 43, 0.1));
  const ref = (beta: number, rho: number) => (xs: number[][]) => ticoValue(rows(xs[0], n, d), rows(xs[1], n, d), rows(cPrev, d, d), beta, rho);
  const inputs = [feed(x0), feed(x1), feed(cPrev, [d, d])];

  it('the value equals the detached form and the reference loop; the gradient is the full derivative of the loop', async () => {
    const { loss, grads } = await lossAndGradients(([a, b, c]) => ticoLoss(a, b, c, 0.9, 20, false).loss, inputs);
    expect(loss).toBeCloseTo(ref(0.9, 20)([x0, x1]), 10);
    expectGradientsMatch(grads, ref(0.9, 20), [x0, x1]);
  });

  it('the detached form misses the part of the gradient through B, the undetached one keeps it', async () => {
    const detached = await lossAndGradients(([a, b, c]) => ticoLoss(a, b, c, 0.9, 20, true).loss, inputs);
    const v = randn(n * d, 78);
    const fd = fdAlong(ref(0.9, 20), [x0, x1], 0, v);
    expect(Math.abs(dotp(detached.grads[0], Array.from(v)) - fd)).toBeGreaterThan(1e-3);
  });

  it('the next C is the same in both forms', async () => {
    const out = await evaluate(([a, b, c]) => {
      const kept = ticoLoss(a, b, c, 0.9, 20, false);
      const detached = ticoLoss(a, b, c, 0.9, 20, true);
      return { kept: kept.cNext, detached: detached.cNext };
    }, inputs);
    expect(Array.from(out.kept as Float64Array)).toEqual(Array.from(out.detached as Float64Array));
  });
});

describe('Barlow Twins with joint normalisation of both views (published ImageNet1k row)', () => {
  const ref = (lambda: number) => (xs: number[][]) => barlowJoint(rows(xs[0], n, d), rows(xs[1], n, d), lambda);
  // Views with different means and scales, so joint and per-view standardisation differ.
  const y1 = x1.map((v, i) => 2.5 * v + (i % d) * 0.7);

  it.each([0.005, 0.1])('value and gradient match the reference loop at λ = %p', async (lambda) => {
    const { loss, grads } = await lossAndGradients(([a, b]) => barlowTwinsLoss(a, b, lambda, 1e-5, 'joint'), [feed(x0), feed(y1)]);
    expect(loss).toBeCloseTo(ref(lambda)([x0, y1]), 9);
    expectGradientsMatch(grads, ref(lambda), [x0, y1], 1e-5);
  });

  it('differs from the per-view form on views of different scale', async () => {
    const perView = await lossAndGradients(([a, b]) => barlowTwinsLoss(a, b, 0.005), [feed(x0), feed(y1)]);
    expect(Math.abs(perView.loss - ref(0.005)([x0, y1]))).toBeGreaterThan(0.1);
  });
});
