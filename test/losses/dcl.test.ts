import { dclLoss, dclwLoss, negativeMisesFisherWeights } from '../../src/losses/dcl';
import { l2Normalize } from '../../src/graph';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';
import { dcl, dot, matrix, normalize, ntXent } from './reference';

const n = 5;
const d = 4;
const z0 = randn(n * d, 11);
const z1 = randn(n * d, 12);
const views = [{ shape: [n, d], data: z0 }, { shape: [n, d], data: z1 }];
const ref = (tau: number, sigma?: number) => dcl(matrix(z0, n, d), matrix(z1, n, d), tau, sigma);

describe('DCL', () => {
  it.each([0.1, 0.5])('matches the decoupled loss (positive left out of the denominator) at τ = %p', async (tau) => {
    expect(await lossValue(([a, b]) => dclLoss(a, b, tau), views)).toBeCloseTo(ref(tau), 10);
  });

  it('defaults to τ = 0.1 and differs from NT-Xent at the same τ', async () => {
    const got = await lossValue(([a, b]) => dclLoss(a, b), views);
    expect(got).toBeCloseTo(ref(0.1), 10);
    expect(Math.abs(got - ntXent(matrix(z0, n, d), matrix(z1, n, d), 0.1))).toBeGreaterThan(1e-3);
  });

  it('gradient matches finite differences', async () => {
    const res = await checkGradient((_g, [a, b]) => dclLoss(a, b, 0.3), [{ shape: [4, 3] }, { shape: [4, 3] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('DCLW', () => {
  it.each([[0.1, 0.5], [0.2, 1.0]])('matches the loss with w_i = 2 − N·softmax_i(a_i·b_i/σ) at τ = %p, σ = %p', async (tau, sigma) => {
    expect(await lossValue(([a, b]) => dclwLoss(a, b, tau, sigma), views)).toBeCloseTo(ref(tau, sigma), 10);
  });

  it('defaults to τ = 0.1, σ = 0.5', async () => {
    expect(await lossValue(([a, b]) => dclwLoss(a, b), views)).toBeCloseTo(ref(0.1, 0.5), 10);
  });

  it('weights: 2 − N·softmax over the batch, averaging to 1', async () => {
    const out = await evaluate(([a, b]) => ({ w: negativeMisesFisherWeights(l2Normalize(a), l2Normalize(b), 0.5) }), views);
    const sims = matrix(z0, n, d).map((r, i) => dot(normalize(r), normalize(matrix(z1, n, d)[i])) / 0.5);
    const total = sims.reduce((s, v) => s + Math.exp(v), 0);
    Array.from(out.w as Float64Array).forEach((w, i) => expect(w).toBeCloseTo(2 - (n * Math.exp(sims[i])) / total, 12));
    expect(Array.from(out.w as Float64Array).reduce((s, v) => s + v, 0) / n).toBeCloseTo(1, 12);
  });

  it('weights carry no gradient: with σ large they are ≈ 1 and DCLW equals DCL, gradients included', async () => {
    const res = await checkGradient((_g, [a, b]) => dclwLoss(a, b, 0.3, 1e9), [{ shape: [4, 3] }, { shape: [4, 3] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
    // At σ = 0.5 the weights vary with the inputs; a finite difference sees that, the detached analytic gradient must not.
    const detached = await checkGradient((_g, [a, b]) => dclwLoss(a, b, 0.3, 0.5), [{ shape: [4, 3] }, { shape: [4, 3] }], { eps: 1e-6 });
    expect(detached.maxRelErr).toBeGreaterThan(1e-3);
  });
});
