import { Graph } from '../../src/graph';
import { ntXentLoss, ntXentLossWithBank } from '../../src/losses/ntxent';
import { checkGradient, randn } from '../support/graph-harness';
import { lossValue as evalLoss } from './evaluate';
import { matrix, ntXent, ntXentWithBank } from './reference';

describe('ntXentLoss (no bank)', () => {
  const n = 5;
  const d = 4;
  const z0 = randn(n * d, 1);
  const z1 = randn(n * d, 2);

  it.each([0.5, 0.1, 1])('matches the 2N-row cross-entropy at temperature %p', async (tau) => {
    const got = await evalLoss(([a, b]) => ntXentLoss(a, b, tau), [{ shape: [n, d], data: z0 }, { shape: [n, d], data: z1 }]);
    expect(got).toBeCloseTo(ntXent(matrix(z0, n, d), matrix(z1, n, d), tau), 10);
  });

  it('defaults to τ = 0.5, is symmetric in the views and ignores the embedding scale', async () => {
    const ref = ntXent(matrix(z0, n, d), matrix(z1, n, d), 0.5);
    expect(await evalLoss(([a, b]) => ntXentLoss(a, b), [{ shape: [n, d], data: z0 }, { shape: [n, d], data: z1 }])).toBeCloseTo(ref, 10);
    expect(await evalLoss(([a, b]) => ntXentLoss(b, a), [{ shape: [n, d], data: z0 }, { shape: [n, d], data: z1 }])).toBeCloseTo(ref, 10);
    const scaled = z0.map((v) => 7 * v);
    expect(await evalLoss(([a, b]) => ntXentLoss(a, b), [{ shape: [n, d], data: scaled }, { shape: [n, d], data: z1 }])).toBeCloseTo(ref, 10);
  });

  it('identical views of orthogonal samples give the closed form log(e^{1/τ} + 2N−2) − 1/τ', async () => {
    // Views equal and samples orthogonal: every row has logit 1/τ at the positive and 0 elsewhere.
    const eye = Float64Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const tau = 0.5;
    const expected = Math.log(Math.exp(1 / tau) + 4) - 1 / tau; // 2N−1 = 5 logits, 4 of them 0
    expect(await evalLoss(([a, b]) => ntXentLoss(a, b, tau), [{ shape: [3, 3], data: eye }, { shape: [3, 3], data: eye }])).toBeCloseTo(expected, 12);
  });

  it('gradient matches finite differences (both views)', async () => {
    const res = await checkGradient((_g, [a, b]) => ntXentLoss(a, b, 0.2), [{ shape: [4, 3] }, { shape: [4, 3] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('rejects a symbolic batch dim with a message naming the loss', () => {
    const g = new Graph('m');
    const a = g.input('a', ['N', 4]);
    expect(() => ntXentLoss(a, a)).toThrow(/ntXentLoss: the batch dim must be static/);
  });
});

describe('ntXentLossWithBank (MoCo)', () => {
  const n = 4;
  const d = 3;
  const k = 6;
  const q = randn(n * d, 3);
  const key = randn(n * d, 4);
  // The bank stores normalised keys; the loss uses them as stored.
  const bankRows = matrix(randn(k * d, 5), k, d).map((r) => { const s = Math.hypot(...r); return r.map((v) => v / s); });
  const bank = Float64Array.from(bankRows.flat());

  it.each([0.1, 0.07, 0.2])('matches [q·k, q·n_1..n_K]/τ with label 0 at τ = %p', async (tau) => {
    const got = await evalLoss(([a, b, m]) => ntXentLossWithBank(a, b, m, tau),
      [{ shape: [n, d], data: q }, { shape: [n, d], data: key }, { shape: [k, d], data: bank }]);
    expect(got).toBeCloseTo(ntXentWithBank(matrix(q, n, d), matrix(key, n, d), bankRows, tau), 10);
  });

  it('uses bank entries as stored (no re-normalisation)', async () => {
    const scaledBank = bank.map((v) => 3 * v);
    const got = await evalLoss(([a, b, m]) => ntXentLossWithBank(a, b, m, 0.1),
      [{ shape: [n, d], data: q }, { shape: [n, d], data: key }, { shape: [k, d], data: scaledBank }]);
    expect(got).toBeCloseTo(ntXentWithBank(matrix(q, n, d), matrix(key, n, d), matrix(scaledBank, k, d), 0.1), 10);
  });

  it('gradient matches finite differences (query and key)', async () => {
    const res = await checkGradient((_g, [a, b, m]) => ntXentLossWithBank(a, b, m, 0.1),
      [{ shape: [n, d] }, { shape: [n, d] }, { shape: [k, d], data: bank, wrt: false }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});
