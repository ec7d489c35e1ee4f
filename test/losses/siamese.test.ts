import { grad, mul, reduceSum, type Tensor } from '../../src/graph';
import { negativeCosineSimilarity } from '../../src/losses/negative-cosine';
import { byolLoss, fastSiamLoss, simSiamLoss } from '../../src/losses/siamese';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';
import { matrix, mean, negativeCosine, type Matrix } from './reference';

const n = 4;
const d = 3;
const data = (seed: number) => randn(n * d, seed);
const m = (x: Float64Array): Matrix => matrix(x, n, d);
const feed = (x: Float64Array) => ({ shape: [n, d], data: x });

describe('negativeCosineSimilarity', () => {
  const a = data(21);
  const b = data(22);

  it('is −mean_i cos(a_i, b_i), symmetric and scale-free', async () => {
    const expected = negativeCosine(m(a), m(b));
    expect(await lossValue(([x, y]) => negativeCosineSimilarity(x, y), [feed(a), feed(b)])).toBeCloseTo(expected, 12);
    expect(await lossValue(([x, y]) => negativeCosineSimilarity(y, x), [feed(a), feed(b)])).toBeCloseTo(expected, 12);
    expect(await lossValue(([x, y]) => negativeCosineSimilarity(x, y), [feed(a.map((v) => 5 * v)), feed(b)])).toBeCloseTo(expected, 12);
  });

  it('clamps each norm at 1e-8: a zero row contributes cos = 0 instead of NaN', async () => {
    const withZero = Float64Array.from(a);
    withZero.fill(0, 0, d);
    const got = await lossValue(([x, y]) => negativeCosineSimilarity(x, y), [feed(withZero), feed(b)]);
    expect(got).toBeCloseTo(negativeCosine(m(withZero), m(b)), 12);
    expect(Number.isFinite(got)).toBe(true);
  });

  it('gradient matches finite differences', async () => {
    const res = await checkGradient((_g, [x, y]) => negativeCosineSimilarity(x, y), [{ shape: [n, d] }, { shape: [n, d] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('Siamese combinations', () => {
  const [p0, p1, z0, z1] = [31, 32, 33, 34].map(data);
  const inputs = [p0, p1, z0, z1].map(feed);

  it('SimSiam: ½[NC(p1, z0) + NC(p0, z1)]', async () => {
    const expected = 0.5 * (negativeCosine(m(p1), m(z0)) + negativeCosine(m(p0), m(z1)));
    expect(await lossValue(([a, b, c, e]) => simSiamLoss(a, b, c, e), inputs)).toBeCloseTo(expected, 12);
  });

  it("BYOL: 'mean' = ½[NC(p0, z1') + NC(p1, z0')], 'twiceSum' = 2·NC(z0', p1) + 2·NC(z1', p0) = 4 × 'mean'", async () => {
    const mean2 = 0.5 * (negativeCosine(m(p0), m(z1)) + negativeCosine(m(p1), m(z0)));
    const summed = 2 * negativeCosine(m(z0), m(p1)) + 2 * negativeCosine(m(z1), m(p0));
    const out = await evaluate(([a, b, c, e]) => ({ mean: byolLoss(a, b, c, e, 'mean'), twiceSum: byolLoss(a, b, c, e, 'twiceSum') }), inputs);
    expect(out.mean[0]).toBeCloseTo(mean2, 12);
    expect(out.twiceSum[0]).toBeCloseTo(summed, 12);
    expect(Number(out.twiceSum[0])).toBeCloseTo(4 * Number(out.mean[0]), 12);
  });

  it('FastSiam: (1/V) Σ_i NC(p_i, mean_{j≠i} z_j) over 4 views', async () => {
    const ps = [41, 42, 43, 44].map(data);
    const zs = [45, 46, 47, 48].map(data);
    const expected = mean(ps.map((p, i) => {
      const others = zs.filter((_, j) => j !== i).map(m);
      const target = others[0].map((row, r) => row.map((_, c) => mean(others.map((o) => o[r][c]))));
      return negativeCosine(m(p), target);
    }));
    expect(await lossValue((xs) => fastSiamLoss(xs.slice(0, 4), xs.slice(4)), [...ps, ...zs].map(feed))).toBeCloseTo(expected, 12);
  });

  it('targets get no gradient, predictions do (SimSiam, BYOL, FastSiam)', async () => {
    // Summed squared gradient entries: "no gradient" reads as an exact 0, "some" as > 0.
    const out = await evaluate(([a, b, c, e]) => {
      const gradientSizes = (loss: Tensor) => grad(loss, [a, b, c, e]).map((t) => reduceSum(mul(t, t)));
      const [gp0, gp1, gz0, gz1] = gradientSizes(simSiamLoss(a, b, c, e));
      const [bp0, , bz0, bz1] = gradientSizes(byolLoss(a, b, c, e, 'twiceSum'));
      const [fp0, , fz0] = gradientSizes(fastSiamLoss([a, b], [c, e]));
      return { gp0, gp1, gz0, gz1, bp0, bz0, bz1, fp0, fz0 };
    }, inputs);
    for (const k of ['gz0', 'gz1', 'bz0', 'bz1', 'fz0']) expect(out[k][0]).toBe(0);
    for (const k of ['gp0', 'gp1', 'bp0', 'fp0']) expect(Number(out[k][0])).toBeGreaterThan(0);
  });

  it('FastSiam gradient with respect to the predictions matches finite differences', async () => {
    const res = await checkGradient((_g, [a, b, c, e, f, h]) => fastSiamLoss([a, b, c], [e, f, h]),
      [0, 1, 2, 3, 4, 5].map((i) => ({ shape: [n, d], wrt: i < 3 })), { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('rejects mismatched view lists', () => {
    expect(() => fastSiamLoss([], [])).toThrow(/fastSiamLoss: needs one projection per prediction and at least 2 views/);
  });
});
