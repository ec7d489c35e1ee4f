import { pmsnLoss, powerLawDistribution, powerLawKlRegulariser } from '../../src/losses/pmsn';
import { checkGradient, randn } from '../support/graph-harness';
import { lossValue } from './evaluate';
import { msnReference } from './msn-reference';
import { matrix } from './reference';

const b = 3;
const views = 2;
const d = 4;
const k = 7;
const anchors = randn(views * b * d, 31);
const targets = randn(b * d, 32);
const prototypes = randn(k * d, 33);
const inputs = [{ shape: [views * b, d], data: anchors }, { shape: [b, d], data: targets }, { shape: [k, d], data: prototypes }];
const A = matrix(anchors, views * b, d);
const T = matrix(targets, b, d);
const W = matrix(prototypes, k, d);

describe('PMSN loss (lightly PMSNLoss)', () => {
  it('power-law prior: k^(−s) for k = 1..K normalised, decreasing in the index', () => {
    const p = powerLawDistribution(4, 0.25);
    const raw = [1, 2, 3, 4].map((i) => i ** -0.25);
    const s = raw.reduce((a, v) => a + v, 0);
    p.forEach((v, i) => expect(v).toBeCloseTo(raw[i] / s, 14));
    expect(p[0]).toBeGreaterThan(p[3]);
  });

  it('defaults (exponent 0.25, weight 1, MSN settings otherwise) match the float64 loop', async () => {
    expect(await lossValue(([a, t, w]) => pmsnLoss(a, t, w), inputs)).toBeCloseTo(msnReference(A, T, W, { regulariser: { powerLaw: 0.25 } }), 9);
  });

  it('another exponent and weight', async () => {
    const got = await lossValue(([a, t, w]) => pmsnLoss(a, t, w, { powerLawExponent: 1, regularizationWeight: 0.3, temperature: 0.3 }), inputs);
    expect(got).toBeCloseTo(msnReference(A, T, W, { regulariser: { powerLaw: 1 }, weight: 0.3, temperature: 0.3 }), 6);
  });

  it('KL regulariser is 0 when the mean anchor probabilities equal the prior, positive otherwise', async () => {
    const prior = powerLawDistribution(5, 0.25);
    expect(await lossValue(([x]) => powerLawKlRegulariser(0.25)(x), [{ shape: [5], data: prior }])).toBeCloseTo(0, 14);
    expect(await lossValue(([x]) => powerLawKlRegulariser(0.25)(x), [{ shape: [5], data: [0.2, 0.2, 0.2, 0.2, 0.2] }])).toBeGreaterThan(1e-3);
  });

  it('gradient w.r.t. the anchors matches finite differences', async () => {
    const res = await checkGradient((_g, [a, t, w]) => pmsnLoss(a, t, w, { temperature: 0.5 }), [
      { shape: [views * b, d], data: anchors }, { shape: [b, d], data: targets, wrt: false }, { shape: [k, d], data: prototypes, wrt: false },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});
