import { grad, type Tensor } from '../../src/graph';
import {
  barlowTwinsLoss, byolLoss, dclLoss, dclwLoss, fastSiamLoss, memoryBankUpdate, ntXentLoss, ntXentLossWithBank, simSiamLoss, ticoLoss, vicregLoss,
} from '../../src/losses';
import { randn } from '../support/graph-harness';
import { evaluate } from './evaluate';
import { barlowTwins, dcl, matrix, negativeCosine, ntXent, ntXentWithBank, tico, vicregTerms } from './reference';

// Training graphs run in float32: every loss must build there (scalars take the tensor's dtype)
// and agree with the float64 reference to float32 precision; gradients must build too.
describe('losses in float32', () => {
  const [n, d] = [8, 5];
  const [a, b, c, e] = [601, 602, 603, 604].map((s) => randn(n * d, s, 0.5));
  const m = (x: Float64Array) => matrix(x, n, d);
  const f32 = (x: ArrayLike<number>, shape = [n, d]) => ({ shape, data: x, dtype: 'float32' as const });
  const zeros = new Float64Array(d * d);

  it('values match the float64 references and gradients build', async () => {
    const vic = vicregTerms(m(a), m(b));
    const cases: [string, (xs: Tensor[]) => Tensor, number][] = [
      ['ntXent', ([x, y]) => ntXentLoss(x, y), ntXent(m(a), m(b), 0.5)],
      ['ntXentWithBank', ([x, y, , , bank]) => ntXentLossWithBank(x, y, bank, 0.1), ntXentWithBank(m(a), m(b), m(c), 0.1)],
      ['dcl', ([x, y]) => dclLoss(x, y), dcl(m(a), m(b), 0.1)],
      ['dclw', ([x, y]) => dclwLoss(x, y), dcl(m(a), m(b), 0.1, 0.5)],
      ['simSiam', ([x, y, z, w]) => simSiamLoss(x, y, z, w), 0.5 * (negativeCosine(m(b), m(c)) + negativeCosine(m(a), m(e)))],
      ['byol', ([x, y, z, w]) => byolLoss(x, y, z, w, 'twiceSum'), 2 * (negativeCosine(m(a), m(e)) + negativeCosine(m(b), m(c)))],
      ['fastSiam', ([x, y, z, w]) => fastSiamLoss([x, y], [z, w]), 0.5 * (negativeCosine(m(a), m(e)) + negativeCosine(m(b), m(c)))],
      ['barlowTwins', ([x, y]) => barlowTwinsLoss(x, y), barlowTwins(m(a), m(b), 0.005)],
      ['vicreg', ([x, y]) => vicregLoss(x, y), 25 * vic.invariance + 25 * vic.variance + vic.covariance],
      ['tico', ([x, y, , , , cPrev]) => ticoLoss(x, y, cPrev).loss, tico(m(a), m(b), matrix(zeros, d, d), 0.9, 8).loss],
    ];
    const out = await evaluate(
      (xs) => Object.fromEntries(cases.flatMap(([name, build]) => {
        const loss = build(xs);
        return [[name, loss], [`${name}.grad`, grad(loss, [xs[0]])[0]]];
      })),
      [f32(a), f32(b), f32(c), f32(e), f32(c), f32(zeros, [d, d])],
    );
    for (const [name, , expected] of cases) {
      expect(out[name]).toBeInstanceOf(Float32Array);
      expect(Math.abs(Number(out[name][0]) - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
      expect(Array.from(out[`${name}.grad`] as Float32Array).every(Number.isFinite)).toBe(true);
    }
  });

  it('the memory bank keeps float32 rows exactly', async () => {
    const bank = Float32Array.from(randn(6 * d, 605));
    const batch = Float32Array.from(randn(4 * d, 606));
    const out = await evaluate((xs, g) => {
      const s = memoryBankUpdate(xs[0], g.constant(BigInt64Array.from([4n]), [1], 'int64'), xs[1]);
      return { bankNext: s.bankNext, ptrNext: s.ptrNext };
    }, [f32(bank, [6, d]), f32(batch, [4, d])]);
    const expected = Float32Array.from(bank);
    expected.set(batch.subarray(0, 2 * d), 4 * d);
    expect(out.bankNext).toEqual(expected);
    expect(out.ptrNext).toEqual(BigInt64Array.from([0n]));
  });
});
