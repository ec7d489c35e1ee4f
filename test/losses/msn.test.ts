import { meanEntropyRegulariser, msnLoss, msnTargetProbabilities, sharpen } from '../../src/losses/msn';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';
import { msnReference, msnTargets } from './msn-reference';
import { matrix } from './reference';

const b = 4;
const views = 3;
const d = 5;
const k = 6;
const anchors = randn(views * b * d, 21);
const targets = randn(b * d, 22);
const prototypes = randn(k * d, 23);
const inputs = [{ shape: [views * b, d], data: anchors }, { shape: [b, d], data: targets }, { shape: [k, d], data: prototypes }];
const A = matrix(anchors, views * b, d);
const T = matrix(targets, b, d);
const W = matrix(prototypes, k, d);

describe('MSN loss (lightly MSNLoss)', () => {
  it('defaults (τ 0.1, sharpen 0.25, 3 Sinkhorn iterations, mean-entropy weight 1) match the float64 loop', async () => {
    expect(await lossValue(([a, t, w]) => msnLoss(a, t, w), inputs)).toBeCloseTo(msnReference(A, T, W), 9);
  });

  it.each([
    [{ temperature: 0.5, sharpenTemperature: 0.5, sinkhornIterations: 0, regularizationWeight: 0 }, { temperature: 0.5, sharpen: 0.5, iterations: 0, weight: 0 }],
    [{ temperature: 0.2, sharpenTemperature: 0.3, sinkhornIterations: 5, regularizationWeight: 2.5 }, { temperature: 0.2, sharpen: 0.3, iterations: 5, weight: 2.5 }],
  ])('other settings %p', async (opts, ref) => {
    expect(await lossValue(([a, t, w]) => msnLoss(a, t, w, opts), inputs)).toBeCloseTo(msnReference(A, T, W, ref), 9);
  });

  it('target assignments: sharpened, then Sinkhorn; every sample sums to 1', async () => {
    const out = await evaluate(([t, w]) => ({ p: msnTargetProbabilities(t, w) }), [inputs[1], inputs[2]]);
    const expected = msnTargets(T, W, { temperature: 0.1, sharpen: 0.25, iterations: 3, weight: 1, regulariser: 'entropy' });
    const got = matrix(out.p as Float64Array, b, k);
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 12)));
    got.forEach((row) => expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12));
  });

  it('Sinkhorn run long enough balances the prototypes: each one gets B/K of the mass', async () => {
    const out = await evaluate(([t, w]) => ({ p: msnTargetProbabilities(t, w, { temperature: 1, sharpenTemperature: 1, sinkhornIterations: 200 }) }), [inputs[1], inputs[2]]);
    const got = matrix(out.p as Float64Array, b, k);
    for (let j = 0; j < k; j++) expect(got.reduce((s, row) => s + row[j], 0)).toBeCloseTo(b / k, 6);
  });

  it('sharpen: p^(1/T) renormalised per row', async () => {
    const p = [0.1, 0.2, 0.7, 0.5, 0.25, 0.25];
    const out = await evaluate(([x]) => ({ s: sharpen(x, 0.5) }), [{ shape: [2, 3], data: p }]);
    const rowRef = (r: number[]) => r.map((v) => v * v / r.reduce((s, u) => s + u * u, 0));
    expect(Array.from(out.s as Float64Array)).toEqual([...rowRef(p.slice(0, 3)), ...rowRef(p.slice(3))].map((v) => expect.closeTo(v, 14)));
  });

  it('mean-entropy regulariser: 0 for uniform usage, log K for a single prototype', async () => {
    const reg = async (p: number[]) => lossValue(([x]) => meanEntropyRegulariser(x), [{ shape: [p.length], data: p }]);
    expect(await reg([0.25, 0.25, 0.25, 0.25])).toBeCloseTo(0, 14);
    expect(await reg([1, 0, 0, 0])).toBeCloseTo(Math.log(4), 14);
    expect(await reg([0.5, 0.3, 0.2])).toBeCloseTo(0.5 * Math.log(0.5) + 0.3 * Math.log(0.3) + 0.2 * Math.log(0.2) + Math.log(3), 14);
  });

  it('gradient w.r.t. the anchors matches finite differences', async () => {
    const res = await checkGradient((_g, [a, t, w]) => msnLoss(a, t, w, { temperature: 0.5 }), [
      { shape: [views * b, d], data: anchors }, { shape: [b, d], data: targets, wrt: false }, { shape: [k, d], data: prototypes, wrt: false },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('targets get no gradient (lightly computes them under no_grad), though the loss depends on them', async () => {
    const res = await checkGradient((_g, [a, t, w]) => msnLoss(a, t, w, { temperature: 0.5 }), [
      { shape: [views * b, d], data: anchors, wrt: false }, { shape: [b, d], data: targets }, { shape: [k, d], data: prototypes, wrt: false },
    ], { eps: 1e-6 });
    expect(res.pairs.every((p) => p.analytic === 0)).toBe(true);
    expect(res.pairs.some((p) => Math.abs(p.fd) > 1e-4)).toBe(true);
  });

  it('rejects anchors that are not a whole number of target batches', async () => {
    await expect(evaluate(([a, t, w]) => ({ l: msnLoss(a, t, w) }), [{ shape: [5, d], data: randn(5 * d, 1) }, inputs[1], inputs[2]])).rejects.toThrow(/msnLoss/);
  });
});
