/**
 * SMoG's grouping loss (losses/smog.ts) against a float64 loop written here from lightly's
 * SMoGPrototypes (assign_groups, get_updated_group_features, forward) and the training step's
 * cross-entropy, plus finite-difference gradients of that loop.
 */
import { grad, type Tensor } from '../../src/graph';
import { assignGroups, smogLoss, updatedGroupFeatures } from '../../src/losses/smog';
import { randn } from '../support/graph-harness';
import { evaluate } from './evaluate';
import { argmaxCos, dot, referenceGroups, referenceLoss, rows, unit } from './smog-reference';

const n = 10;
const d = 5;
const k = 5;
const e0 = Array.from(randn(n * d, 61));
const p0 = Array.from(randn(n * d, 62));
const e1 = Array.from(randn(n * d, 63));
// Raw (unnormalised) groups of different norms: the update and the cosine must treat them as lightly does.
// The last group points away from the e0 rows, so it gets no members.
const away = Array.from({ length: d }, (_, f) => -rows(e0, n, d).reduce((s, r) => s + unit(r)[f], 0));
const groups = [...Array.from(randn((k - 1) * d, 64)).map((v, i) => v * (1 + (Math.floor(i / d) % 3))), ...away];
const feeds = [{ shape: [n, d], data: e0 }, { shape: [n, d], data: p0 }, { shape: [n, d], data: e1 }, { shape: [k, d], data: groups }];

describe('smogLoss (docs/methods.md §4.17)', () => {
  it('assignments, updated groups and loss match the reference loop (β = 0.99, τ = 0.1 and β = 0.5, τ = 0.3)', async () => {
    for (const [beta, tau] of [[0.99, 0.1], [0.5, 0.3]]) {
      const out = await evaluate(([a, p, b, g]) => {
        const { loss, groupsNext } = smogLoss({ e0: a, p0: p, e1: b }, g, beta, tau);
        return { loss, groupsNext, targets: assignGroups(b, g), own: assignGroups(a, g), direct: updatedGroupFeatures(a, g, beta) };
      }, feeds);
      const G = rows(groups, k, d);
      expect(Array.from(out.targets as BigInt64Array, Number)).toEqual(rows(e1, n, d).map((x) => argmaxCos(x, G)));
      const own = Array.from(out.own as BigInt64Array, Number);
      expect(own).toEqual(rows(e0, n, d).map((x) => argmaxCos(x, G)));
      // The fixture must exercise both branches: groups with members and groups without.
      expect(new Set(own).size).toBeGreaterThan(1);
      expect(new Set(own).size).toBeLessThan(k);
      const expected = referenceGroups(rows(e0, n, d), G, beta).flat();
      Array.from(out.groupsNext as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
      Array.from(out.direct as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
      expect(Number(out.loss[0])).toBeCloseTo(referenceLoss(rows(e0, n, d), rows(p0, n, d), rows(e1, n, d), G, beta, tau), 10);
    }
  });

  it('a group without members keeps its value', async () => {
    const out = await evaluate(([a, g]) => ({ next: updatedGroupFeatures(a, g, 0.9) }), [{ shape: [n, d], data: e0 }, { shape: [k, d], data: groups }]);
    const own = new Set(rows(e0, n, d).map((x) => argmaxCos(x, rows(groups, k, d))));
    for (let j = 0; j < k; j++) {
      if (own.has(j)) continue;
      for (let f = 0; f < d; f++) expect((out.next as Float64Array)[j * d + f]).toBe(groups[j * d + f]);
    }
  });

  it('gradients w.r.t. e0 (through the updated groups) and p0 match finite differences of the reference loop; e1 and the groups get none', async () => {
    const out = await evaluate(([a, p, b, g]) => {
      const { loss } = smogLoss({ e0: a, p0: p, e1: b }, g, 0.5, 0.2);
      const [ga, gp, gb, gg] = grad(loss, [a, p, b, g] as Tensor[]);
      return { ga, gp, gb, gg };
    }, feeds);
    const f = (xs: number[][]) => referenceLoss(rows(xs[0], n, d), rows(xs[1], n, d), rows(e1, n, d), rows(groups, k, d), 0.5, 0.2);
    const eps = 1e-6;
    for (const [which, g] of [[0, out.ga], [1, out.gp]] as const) {
      const analytic = Array.from(g as Float64Array);
      expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-3);
      for (let t = 0; t < 3; t++) {
        const v = Array.from(randn(n * d, 700 + 10 * which + t));
        const xs = [e0, p0];
        const shifted = (s: number) => xs.map((x, i) => (i === which ? x.map((val, j) => val + s * eps * v[j]) : x));
        const fd = (f(shifted(1)) - f(shifted(-1))) / (2 * eps);
        const an = dot(analytic, v);
        expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
    expect(Array.from(out.gb as Float64Array).every((v) => v === 0)).toBe(true);
    expect(Array.from(out.gg as Float64Array).every((v) => v === 0)).toBe(true);
  });
});
