import { Rng } from '../../src/data/rng';

function draws(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.nextUint32());
}

describe('Rng', () => {
  test('same seed gives the same stream; different seeds differ', () => {
    expect(draws(new Rng(42), 100)).toEqual(draws(new Rng(42), 100));
    expect(draws(new Rng('run-a'), 10)).toEqual(draws(new Rng('run-a'), 10));
    expect(draws(new Rng(42), 10)).not.toEqual(draws(new Rng(43), 10));
    expect(draws(new Rng(0), 10)).not.toEqual(draws(new Rng('0'), 10));
  });

  test('generator is xoshiro128** (checked against an independent BigInt implementation)', () => {
    const mask = (1n << 32n) - 1n;
    const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & mask;
    const s = [1n, 2n, 3n, 4n];
    const reference: number[] = [];
    for (let i = 0; i < 10; i++) {
      reference.push(Number((rotl((s[1] * 5n) & mask, 7n) * 9n) & mask));
      const t = (s[1] << 9n) & mask;
      s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11n);
    }
    const rng = Rng.fromState({ origin: [0, 0, 0, 0], words: [1, 2, 3, 4] });
    expect(draws(rng, 10)).toEqual(reference);
    // Published first output of xoshiro128** from state {1, 2, 3, 4}.
    expect(reference[0]).toBe(11520);
  });

  test('seeding is pinned: checkpoints and results stay reproducible across versions', () => {
    // Golden values of the seed -> state mapping; changing them silently changes every run.
    const rng = new Rng(0);
    expect(rng.state()).toEqual({ origin: [3280801766, 3430071184, 3379971936, 372362247], words: [1325360461, 455244149, 1338282048, 3245104646] });
    expect(draws(rng, 4)).toEqual([2276248283, 1054379593, 417668060, 3639787224]);
    expect(new Rng(0).fork('sampler').nextUint32()).toBe(3690910909);
  });

  test('state round-trips through JSON mid-stream', () => {
    const rng = new Rng(7);
    draws(rng, 13);
    rng.normal();
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const restored = Rng.fromState(saved);
    expect(draws(restored, 50)).toEqual(draws(rng, 50));
    // Forks of a restored generator equal forks of the original: the origin is part of the state.
    expect(draws(restored.fork('x'), 5)).toEqual(draws(rng.fork('x'), 5));
  });

  test('fromState rejects malformed state', () => {
    expect(() => Rng.fromState({ origin: [1, 2, 3, 4], words: [0, 0, 0, 0] })).toThrow(RangeError);
    expect(() => Rng.fromState({ origin: [1, 2, 3], words: [1, 2, 3, 4] } as never)).toThrow(RangeError);
    expect(() => Rng.fromState({ origin: [1, 2, 3, 4], words: [1, 2, 3, 2 ** 32] })).toThrow(RangeError);
  });

  test('fork depends only on seed and name, not on how much the parent consumed', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    draws(b, 1000);
    expect(draws(a.fork('augment'), 20)).toEqual(draws(b.fork('augment'), 20));
    expect(draws(a.fork('augment'), 20)).not.toEqual(draws(a.fork('sampler'), 20));
    expect(draws(a.fork('augment'), 20)).not.toEqual(draws(new Rng(6).fork('augment'), 20));
    // Nested forks are distinct from flat names.
    expect(draws(a.fork('a').fork('b'), 5)).not.toEqual(draws(a.fork('a:b'), 5));
    // Forking does not advance the parent.
    const c = new Rng(5);
    c.fork('anything');
    expect(draws(c, 5)).toEqual(draws(new Rng(5), 5));
  });

  test('forked streams are uncorrelated (sample correlation near 0)', () => {
    const x = new Rng(1).fork('left');
    const y = new Rng(1).fork('right');
    const n = 20000;
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      const a = x.uniform(), b = y.uniform();
      sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b;
    }
    const cov = sxy / n - (sx / n) * (sy / n);
    const corr = cov / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
    // Standard error of r for independent streams is 1/sqrt(n) ~ 0.007; 0.03 is > 4 sigma.
    expect(Math.abs(corr)).toBeLessThan(0.03);
  });

  test('uniform, uniformRange and int are roughly uniform (chi-square over 20 bins)', () => {
    const rng = new Rng(123);
    const bins = 20, n = 40000;
    const counts = new Array(bins).fill(0);
    let min = 1, max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      min = Math.min(min, u); max = Math.max(max, u);
      counts[Math.floor(u * bins)]++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const expected = n / bins;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: P(chi2 > 43.8) = 0.001.
    expect(chi2).toBeLessThan(43.8);

    const intCounts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) intCounts[rng.int(7)]++;
    const chi2Int = intCounts.reduce((s, c) => s + (c - 10000) ** 2 / 10000, 0);
    // 6 degrees of freedom: P(chi2 > 22.5) = 0.001.
    expect(chi2Int).toBeLessThan(22.5);

    for (let i = 0; i < 1000; i++) {
      const v = rng.uniformRange(-3, 5);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThan(5);
    }
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(1.5)).toThrow(RangeError);
    expect(rng.int(1)).toBe(0);
  });

  test('normal has mean 0 and variance 1', () => {
    const rng = new Rng(9);
    const n = 50000;
    let s = 0, ss = 0;
    for (let i = 0; i < n; i++) { const z = rng.normal(); s += z; ss += z * z; }
    const mean = s / n, variance = ss / n - mean * mean;
    // Standard errors: mean 0.0045, variance 0.0063.
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  test('shuffle is a seeded permutation with uniform positions', () => {
    const a = new Rng(3).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
    const b = new Rng(3).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Element 0 lands in each of 4 slots about equally often.
    const rng = new Rng(4);
    const where = [0, 0, 0, 0];
    for (let t = 0; t < 8000; t++) where[rng.shuffle([0, 1, 2, 3]).indexOf(0)]++;
    for (const w of where) expect(Math.abs(w - 2000)).toBeLessThan(200);
    const words = ['a', 'b', 'c'];
    expect(new Rng(1).shuffle(words)).toBe(words);
  });

  test('rejects invalid numeric seeds', () => {
    expect(() => new Rng(-1)).toThrow(RangeError);
    expect(() => new Rng(0.5)).toThrow(RangeError);
  });
});
