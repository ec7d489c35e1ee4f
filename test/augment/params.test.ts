/**
 * Parameter sampling: RandomResizedCrop's box distribution against an independent transcription of
 * torchvision's get_params driven by a different generator (statistics within 5 standard errors),
 * its analytic fallback rate, the exact fallback boxes, colour-jitter factors and order, coins,
 * VICRegL grids, token masks, and seed determinism.
 */
import { Rng } from '../../src/data/rng';
import {
  BLEND_SLOTS_PER_SIDE, PARAM, VIEW_PARAMS, buildPreset, roundHalfEven, sampleColorJitter, sampleResizedCrop, sampleTokenMask,
  sampleViews, writeViewGrid, type CropBox,
} from '../../src/augment';

/** mulberry32: a generator unrelated to the Rng under test. */
function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** torchvision.transforms.RandomResizedCrop.get_params, line by line (Python round = half to even). */
function torchvisionBox(u: () => number, height: number, width: number, scale: [number, number], ratio: [number, number]): CropBox & { fallback: boolean } {
  const pyRound = (x: number) => { const f = Math.floor(x); const d = x - f; return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1; };
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let i = 0; i < 10; i++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * u());
    const aspectRatio = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * u());
    const w = pyRound(Math.sqrt(targetArea * aspectRatio));
    const h = pyRound(Math.sqrt(targetArea / aspectRatio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      return { top: Math.floor(u() * (height - h + 1)), left: Math.floor(u() * (width - w + 1)), height: h, width: w, fallback: false };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = pyRound(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = pyRound(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, fallback: true };
}

interface Stats { mean: number; se: number }
function stats(xs: number[]): Stats {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(variance / xs.length) };
}
function expectSameMean(a: number[], b: number[]): void {
  const sa = stats(a);
  const sb = stats(b);
  expect(Math.abs(sa.mean - sb.mean)).toBeLessThan(5 * Math.hypot(sa.se, sb.se) + 1e-12);
}

describe('RandomResizedCrop boxes vs torchvision get_params', () => {
  const N = 20000;
  test.each([
    ['32x32, scale (0.08, 1)', 32, 32, [0.08, 1]],
    ['32x40, scale (0.2, 1)', 32, 40, [0.2, 1]],
    ['160x160, scale (0.05, 0.14)', 160, 160, [0.05, 0.14]],
    ['24x24, scale (0.9, 1) (frequent fallback)', 24, 24, [0.9, 1]],
  ] as [string, number, number, [number, number]][])('%s', (_name, H, W, scale) => {
    const rng = new Rng(7).fork('rrc');
    const u = mulberry(99);
    const ours = Array.from({ length: N }, () => sampleResizedCrop(rng, H, W, scale, [3 / 4, 4 / 3]));
    const ref = Array.from({ length: N }, () => torchvisionBox(u, H, W, scale, [3 / 4, 4 / 3]));
    expect(ours.filter((b) => !(b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W && b.height > 0 && b.width > 0))).toEqual([]);
    const area = (bs: typeof ours) => bs.map((b) => (b.height * b.width) / (H * W));
    expectSameMean(area(ours), area(ref));
    const fallback = (bs: typeof ours) => bs.map((b) => (b.fallback ? 1 : 0));
    expectSameMean(fallback(ours), fallback(ref));
    // Aspect-ratio histogram: 6 bins of log(w/h) over the allowed range, each proportion compared.
    const lo = Math.log(3 / 4);
    const hi = Math.log(4 / 3);
    for (let bin = 0; bin < 6; bin++) {
      const inBin = (bs: typeof ours) => bs.map((b) => {
        const t = Math.min(5, Math.max(0, Math.floor(((Math.log(b.width / b.height) - lo) / (hi - lo)) * 6)));
        return t === bin ? 1 : 0;
      });
      expectSameMean(inBin(ours), inBin(ref));
    }
    // Offsets: uniform over the free range (centred mean) for accepted boxes.
    const offset = (bs: typeof ours) => bs.filter((b) => !b.fallback && b.height < H).map((b) => b.top - (H - b.height) / 2);
    expectSameMean(offset(ours), offset(ref));
  });

  test('fallback rate for scale (1, 1) on 32x32 matches the analytic (1 − p)^10', () => {
    // One attempt fits iff round(32·√r) <= 32 and round(32/√r) <= 32, i.e. r in ((32/32.5)², (32.5/32)²).
    const p = (2 * Math.log(32.5 / 32) - 2 * Math.log(32 / 32.5)) / Math.log(16 / 9);
    const expected = (1 - p) ** 10;
    const rng = new Rng(3);
    const n = 20000;
    let fallbacks = 0;
    let notWholeImage = 0;
    for (let i = 0; i < n; i++) {
      const b = sampleResizedCrop(rng, 32, 32, [1, 1], [3 / 4, 4 / 3]);
      if (b.fallback) {
        fallbacks++;
        if (b.top !== 0 || b.left !== 0 || b.height !== 32 || b.width !== 32) notWholeImage++;
      }
    }
    expect(notWholeImage).toBe(0);
    const se = Math.sqrt((expected * (1 - expected)) / n);
    expect(Math.abs(fallbacks / n - expected)).toBeLessThan(5 * se);
  });

  test('fallback boxes clamp the ratio and centre the crop', () => {
    // Nothing of area 400..400 fits a 10x40 image within ratio (3/4, 4/3): always the fallback.
    expect(sampleResizedCrop(new Rng(1), 10, 40, [1, 1], [3 / 4, 4 / 3])).toEqual({ top: 0, left: 13, height: 10, width: 13, fallback: true });
    expect(sampleResizedCrop(new Rng(1), 40, 10, [1, 1], [3 / 4, 4 / 3])).toEqual({ top: 13, left: 0, height: 13, width: 10, fallback: true });
  });

  test('Python rounding', () => {
    expect([0.5, 1.5, 2.5, 3.49, -0.5, 4.51].map(roundHalfEven)).toEqual([0, 2, 2, 3, -0, 5]);
  });
});

describe('colour jitter parameters', () => {
  /** The op sequence a jitter entry encodes: non-identity blends of slots 0-2, the hue shift, slots 3-5. */
  function decode(slots: Float32Array): { ops: number[]; factors: number[] } {
    const ops: number[] = [];
    const factors: number[] = [];
    const blend = (k: number) => {
      const [f, c, s] = slots.subarray(3 * k, 3 * k + 3);
      if (c === 1) { ops.push(1); factors.push(f); } else if (s === 1) { ops.push(2); factors.push(f); } else if (f !== 1) { ops.push(0); factors.push(f); }
    };
    for (let k = 0; k < BLEND_SLOTS_PER_SIDE; k++) blend(k);
    const hue = slots[6 * BLEND_SLOTS_PER_SIDE];
    if (hue !== 0) { ops.push(3); factors.push(hue); }
    for (let k = BLEND_SLOTS_PER_SIDE; k < 2 * BLEND_SLOTS_PER_SIDE; k++) blend(k);
    return { ops, factors };
  }

  test('factor ranges, uniform op order (torchvision randperm), apply probability', () => {
    const rng = new Rng(11);
    const slots = new Float32Array(6 * BLEND_SLOTS_PER_SIDE + 1);
    const n = 8000;
    let applied = 0;
    const position = Array.from({ length: 4 }, () => new Array(4).fill(0)); // [op][position]
    const ranges = [[0.6, 1.4], [0.7, 1.3], [0, 2.5], [-0.1, 0.1]];
    const outOfRange: [number, number][] = [];
    let notPermutation = 0;
    for (let i = 0; i < n; i++) {
      sampleColorJitter(rng, 0.8, [0.4, 0.3, 1.5, 0.1], slots, 0);
      const { ops, factors } = decode(slots);
      ops.forEach((op, j) => { if (!(factors[j] >= Math.fround(ranges[op][0]) && factors[j] <= Math.fround(ranges[op][1]))) outOfRange.push([op, factors[j]]); });
      if (ops.length) {
        applied++;
        if ([...ops].sort().join() !== '0,1,2,3') notPermutation++;
        ops.forEach((op, at) => position[op][at]++);
      }
    }
    expect(outOfRange).toEqual([]);
    expect(notPermutation).toBe(0);
    expect(Math.abs(applied / n - 0.8)).toBeLessThan(5 * Math.sqrt(0.16 / n));
    for (const row of position) for (const count of row) expect(Math.abs(count / applied - 0.25)).toBeLessThan(5 * Math.sqrt(0.1875 / applied));
  });

  test('zero hue strength packs every blend before the hue stage', () => {
    const rng = new Rng(4);
    const slots = new Float32Array(6 * BLEND_SLOTS_PER_SIDE + 1);
    for (let i = 0; i < 200; i++) {
      sampleColorJitter(rng, 1, [0.4, 0.4, 0.4, 0], slots, 0);
      expect(Array.from(slots.subarray(3 * BLEND_SLOTS_PER_SIDE))).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
      expect(decode(slots).ops.length).toBe(3);
    }
  });
});

describe('view batches', () => {
  test('coin frequencies and blur sigma range follow the preset', () => {
    const p = buildPreset('byol', 32);
    const n = 4000;
    const [v1, v2] = sampleViews(new Rng(5), p, n, 32, 32).map((v) => v.params);
    const freq = (a: Float32Array, k: number, on: (x: number) => boolean) => {
      let c = 0;
      for (let b = 0; b < n; b++) if (on(a[b * VIEW_PARAMS + k])) c++;
      return c / n;
    };
    const near = (f: number, prob: number) => expect(Math.abs(f - prob)).toBeLessThanOrEqual(5 * Math.sqrt((prob * (1 - prob)) / n) + 1e-9);
    near(freq(v1, PARAM.hflip, (x) => x === 1), 0.5);
    near(freq(v1, PARAM.vflip, (x) => x === 1), 0);
    near(freq(v1, PARAM.gray, (x) => x === 1), 0.2);
    near(freq(v1, PARAM.blurSigma, (x) => x > 0), 1);
    near(freq(v2, PARAM.blurSigma, (x) => x > 0), 0.1);
    near(freq(v1, PARAM.solarize, (x) => x === 1), 0);
    near(freq(v2, PARAM.solarize, (x) => x === 1), 0.2);
    const sigmas = Array.from({ length: n }, (_, b) => v1[b * VIEW_PARAMS + PARAM.blurSigma]);
    expect(sigmas.filter((s) => s < Math.fround(0.1) || s > 2)).toEqual([]);
  });

  test('same seed gives identical parameters; another seed differs', () => {
    const p = buildPreset('dino', 32, { local_size: 16 });
    const a = sampleViews(new Rng(42).fork('augment'), p, 16, 32, 32);
    const b = sampleViews(new Rng(42).fork('augment'), p, 16, 32, 32);
    const c = sampleViews(new Rng(43).fork('augment'), p, 16, 32, 32);
    a.forEach((v, k) => {
      expect(Buffer.from(v.params.buffer).equals(Buffer.from(b[k].params.buffer))).toBe(true);
      expect(Buffer.from(v.params.buffer).equals(Buffer.from(c[k].params.buffer))).toBe(false);
    });
  });

  test('VICRegL grids follow the crop geometry and flips', () => {
    const p = buildPreset('vicregl', 32, { n_local_views: 1, local_size: 16 });
    const drawn = sampleViews(new Rng(2), p, 64, 40, 48);
    expect(drawn.map((d) => d.grid!.length)).toEqual([64 * 7 * 7 * 2, 64 * 7 * 7 * 2, 64 * 3 * 3 * 2]);
    let worst = 0;
    drawn.forEach((d, k) => {
      const G = p.views[k].gridSize!;
      for (let b = 0; b < 64; b++) {
        const r = d.params.subarray(b * VIEW_PARAMS, (b + 1) * VIEW_PARAMS);
        for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) {
          // numpy.linspace(start, stop, G)[n] = start + n·(stop − start)/(G − 1), plus half a cell.
          const jj = r[PARAM.hflip] === 1 ? G - 1 - j : j;
          const ii = r[PARAM.vflip] === 1 ? G - 1 - i : i;
          const x = r[PARAM.left] + (jj * r[PARAM.width]) / (G - 1) + r[PARAM.width] / (2 * G);
          const y = r[PARAM.top] + (ii * r[PARAM.height]) / (G - 1) + r[PARAM.height] / (2 * G);
          const at = ((b * G + i) * G + j) * 2;
          worst = Math.max(worst, Math.abs(d.grid![at] - x), Math.abs(d.grid![at + 1] - y));
        }
      }
    });
    expect(worst).toBeLessThan(1e-4);
    const one = new Float32Array(2);
    writeViewGrid({ top: 4, left: 6, height: 10, width: 8 }, false, false, 1, one, 0);
    expect(Array.from(one)).toEqual([6 + 8 / 2, 4 + 10 / 2]);
  });
});

describe('token masks (random_token_mask, docs/methods.md §2.3)', () => {
  test('keep count, class token kept, a partition of the sequence, masking frequency', () => {
    const L = 50;
    const ratio = 0.75;
    const B = 400;
    const m = sampleTokenMask(new Rng(9), B, L, ratio);
    expect(m.nKeep).toBe(1 + Math.floor(49 * 0.25));
    expect(m.keep.length).toBe(B * m.nKeep);
    expect(m.masked.length).toBe(B * (L - m.nKeep));
    const maskedCount = new Array(L).fill(0);
    for (let b = 0; b < B; b++) {
      const keep = Array.from(m.keep.subarray(b * m.nKeep, (b + 1) * m.nKeep));
      const masked = Array.from(m.masked.subarray(b * (L - m.nKeep), (b + 1) * (L - m.nKeep)));
      expect(keep[0]).toBe(0);
      expect([...keep, ...masked].sort((x, y) => x - y)).toEqual(Array.from({ length: L }, (_, i) => i));
      for (const t of masked) maskedCount[t]++;
    }
    expect(maskedCount[0]).toBe(0);
    // Each patch token is masked with probability (L − nKeep)/(L − 1).
    const p = (L - m.nKeep) / (L - 1);
    const total = maskedCount.slice(1).reduce((a, b) => a + b, 0) / ((L - 1) * B);
    expect(Math.abs(total - p)).toBeLessThan(1e-12);
    for (let t = 1; t < L; t++) expect(Math.abs(maskedCount[t] / B - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / B));
  });

  test('deterministic per seed; ratio outside [0, 1) is rejected', () => {
    const a = sampleTokenMask(new Rng(1), 4, 17, 0.6);
    const b = sampleTokenMask(new Rng(1), 4, 17, 0.6);
    expect(Array.from(a.keep)).toEqual(Array.from(b.keep));
    expect(Array.from(sampleTokenMask(new Rng(2), 4, 17, 0.6).keep)).not.toEqual(Array.from(a.keep));
    expect(() => sampleTokenMask(new Rng(1), 1, 17, 1)).toThrow(/mask ratio/);
  });
});
