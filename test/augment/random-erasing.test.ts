/**
 * timm RandomErasing (src/augment/random-erasing.ts): rectangle statistics over many draws (apply
 * rate, area and aspect bounds, count, placement), and the erase itself (only the rectangles change,
 * 'pixel' values ~ N(0, 1), 'rand' one value per channel, 'const' zeros, same draw ⇒ same output).
 */
import { Rng } from '../../src/data/rng';
import { applyRandomErasing, sampleRandomErasing, type ErasingDraw } from '../../src/augment/random-erasing';

const H = 224;
const W = 224;

describe('sampleRandomErasing', () => {
  it('erases with probability p and keeps rectangles inside the image within the area and aspect bounds', () => {
    const rng = new Rng(1);
    const n = 4000;
    let erased = 0;
    const logAspects: number[] = [];
    const areas: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = sampleRandomErasing(rng, H, W, { probability: 0.25, mode: 'pixel' });
      expect(d.mode).toBe('pixel');
      expect(Number.isInteger(d.noiseSeed) && d.noiseSeed >= 0 && d.noiseSeed < 2 ** 32).toBe(true);
      if (d.rects.length === 0) continue;
      erased++;
      expect(d.rects).toHaveLength(1);
      for (const r of d.rects) {
        expect(r.top >= 0 && r.left >= 0 && r.top + r.height <= H && r.left + r.width <= W).toBe(true);
        expect(r.height < H && r.width < W).toBe(true);
        // h = round(√(A·a)), w = round(√(A/a)): each side is within ½ of its exact value.
        expect(((r.height + 0.5) * (r.width + 0.5)) / (H * W)).toBeGreaterThanOrEqual(0.02);
        expect(((r.height - 0.5) * (r.width - 0.5)) / (H * W)).toBeLessThanOrEqual(1 / 3);
        expect((r.height + 0.5) / (r.width - 0.5)).toBeGreaterThanOrEqual(0.3);
        expect((r.height - 0.5) / (r.width + 0.5)).toBeLessThanOrEqual(1 / 0.3);
        logAspects.push(Math.log(r.height / r.width));
        areas.push((r.height * r.width) / (H * W));
      }
    }
    expect(Math.abs(erased / n - 0.25)).toBeLessThan(0.025);
    // log-uniform aspect in [log 0.3, −log 0.3] (mean 0, sd 2·0.602/√12 ≈ 0.695); area U(0.02, 1/3) (mean ≈ 0.177).
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean(logAspects))).toBeLessThan(0.06);
    expect(Math.abs(Math.sqrt(mean(logAspects.map((x) => x * x))) - 0.695)).toBeLessThan(0.04);
    expect(Math.abs(mean(areas) - (0.02 + 1 / 3) / 2)).toBeLessThan(0.01);
    expect(Math.min(...areas)).toBeLessThan(0.025);
    expect(Math.max(...areas)).toBeGreaterThan(0.32);
  });

  it('draws a uniform count in [minCount, maxCount] with the area split between rectangles', () => {
    const rng = new Rng(2);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const d = sampleRandomErasing(rng, H, W, { probability: 1, minCount: 1, maxCount: 3, maxArea: 0.3 });
      counts[d.rects.length]++;
      for (const r of d.rects) expect(((r.height - 0.5) * (r.width - 0.5)) / (H * W)).toBeLessThanOrEqual(0.3 / d.rects.length);
    }
    expect(counts[0]).toBe(0);
    for (const c of counts.slice(1)) expect(Math.abs(c / 3000 - 1 / 3)).toBeLessThan(0.04);
  });

  it('is a JSON-safe function of the Rng state; p = 0 never erases; too-small images get no rectangle', () => {
    const spec = { probability: 0.5, mode: 'pixel' as const };
    const a = sampleRandomErasing(new Rng(3), H, W, spec);
    expect(sampleRandomErasing(new Rng(3), H, W, spec)).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    const rng = new Rng(4);
    for (let i = 0; i < 200; i++) expect(sampleRandomErasing(rng, H, W, { probability: 0 }).rects).toEqual([]);
    // 2x2: a rectangle needs h, w ≤ 1, i.e. √(A·a), √(A/a) < 1.5, impossible for A ≥ 3.6 pixels; all ten tries fail.
    expect(sampleRandomErasing(new Rng(5), 2, 2, { probability: 1, minArea: 0.9, maxArea: 1 }).rects).toEqual([]);
  });

  it.each([
    [{ probability: 1.5 }, /probability/],
    [{ probability: 0.5, minArea: 0.5, maxArea: 0.1 }, /area/],
    [{ probability: 0.5, minAspect: 0 }, /aspect/],
    [{ probability: 0.5, minCount: 2, maxCount: 1 }, /counts/],
  ])('rejects %j', (spec, message) => {
    expect(() => sampleRandomErasing(new Rng(0), H, W, spec)).toThrow(message);
  });
});

describe('applyRandomErasing', () => {
  const C = 3;
  const h = 40;
  const w = 30;
  const base = () => {
    const x = new Float32Array(C * h * w);
    for (let i = 0; i < x.length; i++) x[i] = 100 + i; // far from any N(0, 1) value
    return x;
  };
  const draw: ErasingDraw = { mode: 'pixel', rects: [{ top: 5, left: 3, height: 20, width: 12 }, { top: 30, left: 20, height: 8, width: 9 }], noiseSeed: 12345 };
  const inside = (y: number, x: number) => draw.rects.some((r) => y >= r.top && y < r.top + r.height && x >= r.left && x < r.left + r.width);

  it("'pixel': only the rectangles change, to N(0, 1) values; the same draw gives the same output", () => {
    const x = base();
    applyRandomErasing(x, C, h, w, draw);
    const orig = base();
    const noise: number[] = [];
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const i = c * h * w + y * w + xx;
          if (inside(y, xx)) noise.push(x[i]);
          else expect(x[i]).toBe(orig[i]);
        }
      }
    }
    expect(noise.length).toBe(C * (20 * 12 + 8 * 9));
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(noise.length));
    expect(Math.abs(variance - 1)).toBeLessThan(0.15);
    expect(new Set(noise).size).toBe(noise.length);
    const again = base();
    applyRandomErasing(again, C, h, w, JSON.parse(JSON.stringify(draw)));
    expect(again).toEqual(x);
    const other = base();
    applyRandomErasing(other, C, h, w, { ...draw, noiseSeed: 54321 });
    expect(other).not.toEqual(x);
  });

  it("'pixel' values follow N(0, 1): moments and tail mass over 30000 values", () => {
    const big = new Float32Array(3 * 100 * 100);
    applyRandomErasing(big, 3, 100, 100, { mode: 'pixel', rects: [{ top: 0, left: 0, height: 100, width: 100 }], noiseSeed: 99 });
    const n = big.length;
    const mean = big.reduce((a, b) => a + b, 0) / n;
    const m2 = big.reduce((a, b) => a + b * b, 0) / n;
    const m4 = big.reduce((a, b) => a + b ** 4, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.025); // sd of the mean 0.0058
    expect(Math.abs(m2 - 1)).toBeLessThan(0.04); // sd 0.008
    expect(Math.abs(m4 - 3)).toBeLessThan(0.25); // sd ≈ 0.06
    const tail = big.filter((v) => Math.abs(v) > 1.959964).length / n;
    expect(Math.abs(tail - 0.05)).toBeLessThan(0.008); // sd 0.0013
  });

  it("'rand' fills one value per channel and rectangle, 'const' zeros; a batch subarray is erased in place", () => {
    const batch = new Float32Array(2 * C * h * w).fill(7);
    const second = batch.subarray(C * h * w);
    applyRandomErasing(second, C, h, w, { ...draw, mode: 'rand' });
    expect(batch.subarray(0, C * h * w).every((v) => v === 7)).toBe(true);
    for (let c = 0; c < C; c++) {
      const r = draw.rects[0];
      const values = new Set<number>();
      for (let y = r.top; y < r.top + r.height; y++) for (let xx = r.left; xx < r.left + r.width; xx++) values.add(second[c * h * w + y * w + xx]);
      expect(values.size).toBe(1);
      expect([...values][0]).not.toBe(7);
    }
    const z = base();
    applyRandomErasing(z, C, h, w, { ...draw, mode: 'const' });
    for (let c = 0; c < C; c++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) if (inside(y, xx)) expect(z[c * h * w + y * w + xx]).toBe(0);
  });

  it('rejects rectangles outside the image', () => {
    expect(() => applyRandomErasing(base(), C, h, w, { ...draw, rects: [{ top: 30, left: 0, height: 11, width: 4 }] })).toThrow(/outside a 40x30 image/);
  });
});
