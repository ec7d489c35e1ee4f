import { Rng } from '../../src/data/rng';
import { Conv2d, Linear, initParameters, initTensor, sinCos2dPositionEmbedding, type InitSpec, type ParamSpec } from '../../src/nn';

function moments(a: Float32Array): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of a) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / a.length;
  let sq = 0;
  for (const v of a) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / a.length), min, max };
}

const N = 50_000;
/** |std/expected − 1| below ~5 standard errors of a sample std (≈ 1/√(2N) for a normal). */
const STD_TOL = 0.02;
const draw = (init: InitSpec, seed = 5) => initTensor(init, N, new Rng(seed));

describe('initTensor distributions (n = 50k; tolerances ~5 standard errors)', () => {
  it('kaimingUniform(a=√5) is U(±1/√fan_in), torch’s Conv2d/Linear default', () => {
    const fanIn = 27;
    const bound = 1 / Math.sqrt(fanIn);
    const m = moments(draw({ type: 'kaimingUniform', fanIn, a: Math.sqrt(5) }));
    expect(m.max).toBeLessThanOrEqual(bound);
    expect(m.min).toBeGreaterThanOrEqual(-bound);
    expect(m.max).toBeGreaterThan(0.999 * bound);
    expect(Math.abs(m.mean)).toBeLessThan(5 * bound / Math.sqrt(3 * N));
    expect(Math.abs(m.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(STD_TOL);
  });

  it('kaimingNormal(fan_out, relu) has std √(2/fan_out)', () => {
    const fanOut = 64 * 9;
    const m = moments(draw({ type: 'kaimingNormal', fanOut }));
    const std = Math.sqrt(2 / fanOut);
    expect(Math.abs(m.mean)).toBeLessThan(5 * std / Math.sqrt(N));
    expect(Math.abs(m.std / std - 1)).toBeLessThan(STD_TOL);
  });

  it('xavierUniform is U(±√(6/(fan_in+fan_out)))', () => {
    const bound = Math.sqrt(6 / (300 + 100));
    const m = moments(draw({ type: 'xavierUniform', fanIn: 300, fanOut: 100 }));
    expect(Math.max(m.max, -m.min)).toBeLessThanOrEqual(bound);
    expect(Math.abs(m.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(STD_TOL);
  });

  it('normal has the given std', () => {
    const m = moments(draw({ type: 'normal', std: 0.02 }));
    expect(Math.abs(m.mean)).toBeLessThan(5 * 0.02 / Math.sqrt(N));
    expect(Math.abs(m.std / 0.02 - 1)).toBeLessThan(STD_TOL);
  });

  it('truncNormal stays in its bounds and has the truncated mean and std', () => {
    // N(0,1) truncated to [-0.5, 1]: mean = (φ(a) − φ(b)) / Z, var = 1 + (aφ(a) − bφ(b))/Z − mean².
    const phi = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
    const [a, b] = [-0.5, 1];
    const z = 0.8413447460685429 - 0.3085375387259869; // Φ(1) − Φ(−0.5)
    const mean = (phi(a) - phi(b)) / z;
    const std = Math.sqrt(1 + (a * phi(a) - b * phi(b)) / z - mean * mean);
    const m = moments(draw({ type: 'truncNormal', std: 1, lower: a, upper: b }));
    expect(m.min).toBeGreaterThanOrEqual(a);
    expect(m.max).toBeLessThanOrEqual(b);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * std / Math.sqrt(N));
    expect(Math.abs(m.std / std - 1)).toBeLessThan(STD_TOL);
    const timm = moments(draw({ type: 'truncNormal', std: 0.02, lower: -2, upper: 2 }));
    expect(Math.abs(timm.std / 0.02 - 1)).toBeLessThan(STD_TOL);
  });

  it('constant fills', () => {
    expect(Array.from(initTensor({ type: 'constant', value: 1 }, 3, new Rng(0)))).toEqual([1, 1, 1]);
  });
});

describe('initParameters', () => {
  const specs: ParamSpec[] = new Linear(20, 30).parameters('fc');

  it('is deterministic per seed and name, independent of the other specs, and leaves the rng unadvanced', () => {
    const rng = new Rng(42);
    const before = rng.state();
    const a = initParameters(specs, rng);
    expect(rng.state()).toEqual(before);
    const b = initParameters([...new Conv2d(3, 4, 3).parameters('other'), ...specs], new Rng(42));
    expect(b.get('fc.weight')).toEqual(a.get('fc.weight'));
    expect(b.get('fc.bias')).toEqual(a.get('fc.bias'));
    const c = initParameters(specs, new Rng(43));
    expect(c.get('fc.weight')).not.toEqual(a.get('fc.weight'));
    const renamed = initParameters(new Linear(20, 30).parameters('head'), new Rng(42));
    expect(renamed.get('head.weight')).not.toEqual(a.get('fc.weight'));
  });

  it('Linear bias and weight are bounded by 1/√fan_in; shapes give sizes', () => {
    const v = initParameters(specs, new Rng(1));
    expect(v.get('fc.weight')!.length).toBe(600);
    expect(v.get('fc.bias')!.length).toBe(30);
    for (const name of ['fc.weight', 'fc.bias']) expect(Math.max(...Array.from(v.get(name)!, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(20));
  });

  it('rejects duplicate names', () => {
    expect(() => initParameters([...specs, ...specs], new Rng(1))).toThrow(/'fc.weight' appears twice/);
  });
});

describe('sinCos2dPositionEmbedding (MAE / Lightly layout)', () => {
  it('zero class row, then per token [sin(jω), cos(jω), sin(iω), cos(iω)] with ω_k = 10000^(−k/(D/4))', () => {
    const [gh, gw, d] = [2, 3, 8];
    const t = sinCos2dPositionEmbedding(gh, gw, d, 1);
    expect(t.length).toBe((1 + gh * gw) * d);
    expect(Array.from(t.slice(0, d))).toEqual(new Array(d).fill(0));
    const omega = [1, 1 / 100];
    const token = (i: number, j: number) => Array.from(t.slice((1 + i * gw + j) * d, (2 + i * gw + j) * d));
    const expected = (i: number, j: number) => [...omega.map((w) => Math.sin(j * w)), ...omega.map((w) => Math.cos(j * w)), ...omega.map((w) => Math.sin(i * w)), ...omega.map((w) => Math.cos(i * w))];
    for (const [i, j] of [[0, 0], [0, 2], [1, 1], [1, 2]]) {
      token(i, j).forEach((v, k) => expect(v).toBeCloseTo(expected(i, j)[k], 6));
    }
  });

  it('needs a dim divisible by 4', () => {
    expect(() => sinCos2dPositionEmbedding(2, 2, 6, 1)).toThrow(/divisible by 4/);
  });
});
