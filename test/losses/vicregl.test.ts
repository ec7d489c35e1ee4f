/**
 * VICRegL's loss (losses/vicregl.ts) against a float64 loop written here from lightly's
 * VICRegLLoss (global invariance/variance/covariance, l2 and location matching with
 * nearest_neighbors, VICReg with ν/2 per match slot), plus finite-difference gradients of that loop.
 */
import { grad, type Tensor } from '../../src/graph';
import { nearestNeighbourMatches, pairwiseSquaredDistances, vicreglLoss } from '../../src/losses/vicregl';
import { randn } from '../support/graph-harness';
import { evaluate } from './evaluate';

type Rows = number[][];
const avg = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
const sq = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/** var and cov of samples [B][D] as lightly's variance_loss / covariance_loss. */
function varCov(x: Rows, eps: number): { v: number; c: number } {
  const b = x.length;
  const d = x[0].length;
  const mu = Array.from({ length: d }, (_, j) => avg(x.map((r) => r[j])));
  const cov = (i: number, j: number) => x.reduce((s, r) => s + (r[i] - mu[i]) * (r[j] - mu[j]), 0) / (b - 1);
  const v = avg(Array.from({ length: d }, (_, j) => Math.max(0, 1 - Math.sqrt(cov(j, j) + eps))));
  let c = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j) c += cov(i, j) ** 2;
  return { v, c: c / d };
}

/** VICReg on [B][S][E] slot tensors: MSE over everything, var/cov per slot averaged over slots. */
function vicregSlots(a: Rows[], b: Rows[], lambda: number, mu: number, nu: number, eps: number): number {
  const slots = a[0].length;
  const inv = avg(a.flatMap((ra, i) => ra.flatMap((row, s) => row.map((v, e) => (v - b[i][s][e]) ** 2))));
  const perSlot = (x: Rows[]) => Array.from({ length: slots }, (_, s) => varCov(x.map((r) => r[s]), eps));
  const sa = perSlot(a);
  const sb = perSlot(b);
  const v = 0.5 * (avg(sa.map((t) => t.v)) + avg(sb.map((t) => t.v)));
  const c = avg(sa.map((t) => t.c)) + avg(sb.map((t) => t.c));
  return lambda * inv + mu * v + nu * c;
}

interface View { z: Rows; local: Rows[]; grid: Rows[] }

/** nearest_neighbors for one batch element: (input rows, matched candidate rows) of the k best. */
function match(input: Rows, cand: Rows, inKey: Rows, candKey: Rows, k: number): [Rows, Rows] {
  const nearest = inKey.map((x) => {
    let best = 0;
    candKey.forEach((c, j) => { if (sq(x, c) < sq(x, candKey[best])) best = j; });
    return { j: best, d: sq(x, candKey[best]) };
  });
  const order = nearest.map((n, i) => ({ i, d: n.d })).sort((p, q) => p.d - q.d).slice(0, Math.min(k, input.length));
  return [order.map((o) => input[o.i]), order.map((o) => cand[nearest[o.i].j])];
}

function reference(globals: View[], locals: View[], alpha: number, nm: [number, number], lambda = 25, mu = 25, nu = 1, eps = 1e-4): number {
  const pairs: [View, View][] = [];
  for (const a of globals) {
    for (const b of globals) if (a !== b) pairs.push([a, b]);
    for (const b of locals) pairs.push([a, b]);
  }
  const inv = avg(pairs.map(([a, b]) => avg(a.z.flatMap((r, i) => r.map((v, j) => (v - b.z[i][j]) ** 2)))));
  const stats = [...globals, ...locals].map((v) => varCov(v.z, eps));
  const globalLoss = lambda * inv + mu * avg(stats.map((s) => s.v)) + nu * avg(stats.map((s) => s.c));
  const matched = (a: View, b: View, byGrid: boolean) => {
    const dir = (x: View, y: View, k: number) => {
      const m = x.local.map((_, i) => match(x.local[i], y.local[i], byGrid ? x.grid[i] : x.local[i], byGrid ? y.grid[i] : y.local[i], k));
      return vicregSlots(m.map((p) => p[0]), m.map((p) => p[1]), lambda, mu, 0.5 * nu, eps);
    };
    return 0.5 * (dir(a, b, nm[0]) + dir(b, a, nm[1]));
  };
  const localLoss = avg(pairs.map(([a, b]) => matched(a, b, false) + matched(a, b, true)));
  return alpha * globalLoss + (1 - alpha) * localLoss;
}

const B = 5;
const D = 4;
const E = 3;
function viewData(m: number, seed: number) {
  return { z: Array.from(randn(B * D, seed)), local: Array.from(randn(B * m * E, seed + 1)), grid: Array.from(randn(B * m * 2, seed + 2, 10)) };
}
const toView = (v: { z: number[]; local: number[]; grid: number[] }, m: number): View => ({
  z: Array.from({ length: B }, (_, i) => v.z.slice(i * D, (i + 1) * D)),
  local: Array.from({ length: B }, (_, i) => Array.from({ length: m }, (_, s) => v.local.slice((i * m + s) * E, (i * m + s + 1) * E))),
  grid: Array.from({ length: B }, (_, i) => Array.from({ length: m }, (_, s) => v.grid.slice((i * m + s) * 2, (i * m + s + 1) * 2))),
});

describe('vicreglLoss (docs/methods.md §4.20)', () => {
  const g0 = viewData(4, 100);
  const g1 = viewData(4, 200);
  const l0 = viewData(2, 300);
  const feeds = (vs: { z: number[]; local: number[]; grid: number[] }[], ms: number[]) => vs.flatMap((v, i) => [
    { shape: [B, D], data: v.z }, { shape: [B, ms[i], E], data: v.local }, { shape: [B, ms[i], 2], data: v.grid },
  ]);
  const views = (xs: Tensor[], n: number) => Array.from({ length: n }, (_, i) => ({ z: xs[3 * i], local: xs[3 * i + 1], grid: xs[3 * i + 2] }));

  it('two global views: matches the reference loop (num_matches (3, 2) of 4 locations, α 0.75 and 0.4)', async () => {
    for (const alpha of [0.75, 0.4]) {
      const out = await evaluate((xs) => ({ loss: vicreglLoss(views(xs, 2), [], { alpha, numMatches: [3, 2] }) }), feeds([g0, g1], [4, 4]));
      expect(Number(out.loss[0])).toBeCloseTo(reference([toView(g0, 4), toView(g1, 4)], [], alpha, [3, 2]), 9);
    }
  });

  it('num_matches above the location count keeps every location (the benchmark\'s 16 of 4×4)', async () => {
    const out = await evaluate((xs) => ({ loss: vicreglLoss(views(xs, 2), [], { numMatches: [16, 4] }) }), feeds([g0, g1], [4, 4]));
    expect(Number(out.loss[0])).toBeCloseTo(reference([toView(g0, 4), toView(g1, 4)], [], 0.75, [16, 4]), 9);
  });

  it('with a local view of another map size: global→local pairs and the local view in var/cov', async () => {
    const out = await evaluate((xs) => ({ loss: vicreglLoss(views(xs, 2), views(xs.slice(6), 1), { numMatches: [3, 1] }) }), feeds([g0, g1, l0], [4, 4, 2]));
    expect(Number(out.loss[0])).toBeCloseTo(reference([toView(g0, 4), toView(g1, 4)], [toView(l0, 2)], 0.75, [3, 1]), 9);
  });

  it('matching: nearest candidate per location, the k smallest distances in ascending order', async () => {
    const out = await evaluate(([a, b, ka, kb]) => {
      const m = nearestNeighbourMatches(a, b, pairwiseSquaredDistances(ka, kb), 3);
      return { input: m.input, matched: m.matched };
    }, [{ shape: [B, 4, E], data: g0.local }, { shape: [B, 4, E], data: g1.local }, { shape: [B, 4, 2], data: g0.grid }, { shape: [B, 4, 2], data: g1.grid }]);
    const a = toView(g0, 4);
    const b = toView(g1, 4);
    const expected = a.local.map((_, i) => match(a.local[i], b.local[i], a.grid[i], b.grid[i], 3));
    Array.from(out.input as Float64Array).forEach((v, j) => expect(v).toBe(expected.flatMap((p) => p[0].flat())[j]));
    Array.from(out.matched as Float64Array).forEach((v, j) => expect(v).toBe(expected.flatMap((p) => p[1].flat())[j]));
  });

  it('gradients w.r.t. every view\'s global and local embeddings match finite differences of the reference loop; grids get none', async () => {
    const inputs = feeds([g0, g1], [4, 4]);
    const out = await evaluate((xs) => {
      const loss = vicreglLoss(views(xs, 2), [], { numMatches: [3, 2] });
      return Object.fromEntries(grad(loss, xs).map((g, i) => [`g${i}`, g]));
    }, inputs);
    const f = (data: number[][]) => reference([toView({ z: data[0], local: data[1], grid: data[2] }, 4), toView({ z: data[3], local: data[4], grid: data[5] }, 4)], [], 0.75, [3, 2]);
    const base = inputs.map((i) => i.data);
    const eps = 1e-6;
    for (const which of [0, 1, 3, 4]) {
      const analytic = Array.from(out[`g${which}`] as Float64Array);
      expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-3);
      for (let t = 0; t < 2; t++) {
        const v = Array.from(randn(analytic.length, 900 + which * 7 + t));
        const at = (s: number) => base.map((x, i) => (i === which ? x.map((val, j) => val + s * eps * v[j]) : x));
        const fd = (f(at(1)) - f(at(-1))) / (2 * eps);
        const an = analytic.reduce((s, g, j) => s + g * v[j], 0);
        expect(Math.abs(fd - an)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
      }
    }
    for (const which of [2, 5]) expect(Array.from(out[`g${which}`] as Float64Array).every((x) => x === 0)).toBe(true);
  });
});
