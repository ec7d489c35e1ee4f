import { Rng } from '../../src/data/rng';
import { knnClassify, type KnnOptions } from '../../src/eval/knn';

/** The in-memory form of the options (bank as two arrays), which the reference reads directly. */
type ArrayKnnOptions = KnnOptions & { bankFeatures: Float32Array; bankLabels: Int32Array };

/**
 * Independent reference: float64 loops over the whole bank, neighbours ranked by (similarity desc,
 * bank index asc), classes by (score desc, class index asc) — the tie order knn.ts documents.
 */
function referenceKnn(o: ArrayKnnOptions): { top1: number; top5: number; predictions: Int32Array } {
  const { dim, numClasses } = o;
  const k = Math.min(o.k ?? 200, o.bankLabels.length);
  const t = o.temperature ?? 0.1;
  const normalise = (x: Float32Array, n: number): Float64Array => {
    const out = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += x[i * dim + d] ** 2;
      const norm = Math.max(Math.sqrt(s), 1e-12);
      for (let d = 0; d < dim; d++) out[i * dim + d] = x[i * dim + d] / norm;
    }
    return out;
  };
  const nb = o.bankLabels.length;
  const nq = o.queryLabels.length;
  const bank = normalise(o.bankFeatures, nb);
  const queries = normalise(o.queryFeatures, nq);
  const predictions = new Int32Array(nq);
  let hit1 = 0;
  let hit5 = 0;
  for (let q = 0; q < nq; q++) {
    const sims = Array.from({ length: nb }, (_, j) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += queries[q * dim + d] * bank[j * dim + d];
      return { j, s };
    });
    sims.sort((a, b) => b.s - a.s || a.j - b.j);
    const scores = new Float64Array(numClasses);
    for (const { j, s } of sims.slice(0, k)) scores[o.bankLabels[j]] += Math.exp(s / t);
    const ranked = Array.from({ length: numClasses }, (_, c) => c).sort((a, b) => scores[b] - scores[a] || a - b);
    predictions[q] = ranked[0];
    if (ranked[0] === o.queryLabels[q]) hit1++;
    if (ranked.slice(0, 5).includes(o.queryLabels[q])) hit5++;
  }
  return { top1: hit1 / nq, top5: hit5 / nq, predictions };
}

function randomProblem(seed: number, nb: number, nq: number, dim: number, numClasses: number): ArrayKnnOptions {
  const rng = new Rng(seed);
  // Class-dependent means so the vote is informative (mixed correct and wrong predictions).
  const means = Float32Array.from({ length: numClasses * dim }, () => rng.normal());
  const draw = (n: number) => {
    const labels = Int32Array.from({ length: n }, () => rng.int(numClasses));
    const features = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) features[i * dim + d] = 0.7 * means[labels[i] * dim + d] + rng.normal();
    return { labels, features };
  };
  const bank = draw(nb);
  const query = draw(nq);
  return { bankFeatures: bank.features, bankLabels: bank.labels, queryFeatures: query.features, queryLabels: query.labels, dim, numClasses };
}

function basis(dim: number, axis: number, scale = 1): number[] {
  return Array.from({ length: dim }, (_, d) => (d === axis ? scale : 0));
}

describe('knnClassify', () => {
  test('random features: matches the reference, chunked (padded last bank chunk) == unchunked', async () => {
    const o = { ...randomProblem(1, 300, 77, 12, 10), k: 20, temperature: 0.1 };
    const ref = referenceKnn(o);
    const whole = await knnClassify({ ...o, queryChunk: 1000, bankChunk: 1000 });
    const chunked = await knnClassify({ ...o, queryChunk: 16, bankChunk: 64 });
    expect(Array.from(whole.predictions)).toEqual(Array.from(ref.predictions));
    expect(Array.from(chunked.predictions)).toEqual(Array.from(ref.predictions));
    expect(whole.top1).toBe(ref.top1);
    expect(whole.top5).toBe(ref.top5);
    expect(chunked.top1).toBe(ref.top1);
    expect(chunked.top5).toBe(ref.top5);
    // Informative but imperfect, so a wrong vote would show.
    expect(ref.top1).toBeGreaterThan(0.3);
    expect(ref.top1).toBeLessThan(1);
    expect(ref.top5).toBeGreaterThan(ref.top1);
  });

  test('default k = 200 and t = 0.1, temperature changes the vote like the reference', async () => {
    const o = randomProblem(2, 500, 60, 8, 7);
    for (const temperature of [0.1, 2]) {
      const ref = referenceKnn({ ...o, temperature });
      const got = await knnClassify({ ...o, temperature, bankChunk: 128, queryChunk: 25 });
      expect(got.k).toBe(200);
      expect(Array.from(got.predictions)).toEqual(Array.from(ref.predictions));
      expect([got.top1, got.top5]).toEqual([ref.top1, ref.top5]);
    }
  });

  test('tied similarities: lower bank index first, also across bank chunks; tied class scores: lower class first', async () => {
    // Bank vectors lie on axes 0 and 1, queries on axes 2 and 3: every similarity is exactly 0,
    // every weight exactly 1, so the neighbours are the first k bank entries and scores are counts.
    const dim = 4;
    const bankLabels = Int32Array.from([3, 1, 1, 3, 0, 0, 0, 0, 2, 2, 2, 2]);
    const bankFeatures = Float32Array.from(Array.from(bankLabels).flatMap((_, i) => basis(dim, i % 2, 1 + i)));
    const queryFeatures = Float32Array.from([...basis(dim, 2), ...basis(dim, 3, 5)]);
    const queryLabels = Int32Array.from([1, 3]);
    const o = { bankFeatures, bankLabels, queryFeatures, queryLabels, dim, numClasses: 4, temperature: 0.5 };
    // k = 4: classes 1 and 3 tie with 2 votes each → class 1 wins; class 3 ranks second.
    for (const bankChunk of [4, 5, 12]) {
      const got = await knnClassify({ ...o, k: 4, bankChunk, queryChunk: 1 });
      expect(Array.from(got.predictions)).toEqual([1, 1]);
      expect(got.top1).toBe(0.5);
      expect(got.top5).toBe(1);
    }
    // k = 7: votes 3→2, 1→2, 0→3 → class 0 wins; a later-index tie-break would pick other entries.
    const seven = await knnClassify({ ...o, k: 7, bankChunk: 3 });
    expect(Array.from(seven.predictions)).toEqual([0, 0]);
    expect(Array.from(referenceKnn({ ...o, k: 7 }).predictions)).toEqual([0, 0]);
  });

  test('tied maximal similarities among same-direction bank entries', async () => {
    // Query on axis 0; bank entries on axis 0 (similarity 1, tied) and axis 1 (similarity 0).
    const dim = 3;
    const bankAxes = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    const bankLabels = Int32Array.from([0, 2, 1, 0, 1, 2, 2, 0, 1, 0]);
    const bankFeatures = Float32Array.from(bankAxes.flatMap((a, i) => basis(dim, a, 0.5 + i)));
    const o = {
      bankFeatures, bankLabels, queryFeatures: Float32Array.from(basis(dim, 0, 3)), queryLabels: Int32Array.from([1]),
      dim, numClasses: 3, temperature: 0.2,
    };
    // Axis-0 entries by index: 1(c2) 2(c1) 4(c1) 5(c2) 6(c2) 8(c1) 9(c0). k = 4 → c1:2, c2:2 → c1.
    for (const bankChunk of [4, 6, 10]) {
      const got = await knnClassify({ ...o, k: 4, bankChunk });
      expect(Array.from(got.predictions)).toEqual(Array.from(referenceKnn({ ...o, k: 4 }).predictions));
      expect(Array.from(got.predictions)).toEqual([1]);
    }
    // k = 5 adds index 6 (c2) → c2 wins with 3.
    expect(Array.from((await knnClassify({ ...o, k: 5, bankChunk: 5 })).predictions)).toEqual([2]);
  });

  test('a small temperature does not overflow the weights (exp(1/0.01) is inf in float32)', async () => {
    const o = { ...randomProblem(8, 400, 50, 6, 8), k: 30, temperature: 0.01 };
    const ref = referenceKnn(o);
    const got = await knnClassify({ ...o, bankChunk: 100 });
    expect(Array.from(got.predictions)).toEqual(Array.from(ref.predictions));
    expect([got.top1, got.top5]).toEqual([ref.top1, ref.top5]);
  });

  test('k larger than a class: the small class contributes all its members', async () => {
    const o = { ...randomProblem(3, 120, 40, 6, 5), k: 50, temperature: 0.3 };
    // Shrink class 4 to three bank members.
    let kept = 0;
    for (let i = 0; i < o.bankLabels.length; i++) {
      if (o.bankLabels[i] === 4 && ++kept > 3) o.bankLabels[i] = i % 4;
    }
    const ref = referenceKnn(o);
    const got = await knnClassify({ ...o, bankChunk: 32, queryChunk: 9 });
    expect(Array.from(got.predictions)).toEqual(Array.from(ref.predictions));
    expect([got.top1, got.top5]).toEqual([ref.top1, ref.top5]);
  });

  test('k larger than the bank is clamped to the bank size', async () => {
    const o = { ...randomProblem(4, 7, 30, 5, 6), k: 200 };
    const got = await knnClassify({ ...o, bankChunk: 3 });
    expect(got.k).toBe(7);
    const ref = referenceKnn(o);
    expect(Array.from(got.predictions)).toEqual(Array.from(ref.predictions));
    expect([got.top1, got.top5]).toEqual([ref.top1, ref.top5]);
  });

  test('one class: always right; fewer than five classes: top-5 counts every class', async () => {
    const one = randomProblem(5, 40, 10, 4, 1);
    const r1 = await knnClassify({ ...one, k: 10 });
    expect([r1.top1, r1.top5]).toEqual([1, 1]);
    expect(Array.from(r1.predictions)).toEqual(new Array(10).fill(0));

    const three = { ...randomProblem(6, 90, 50, 4, 3), k: 15 };
    const r3 = await knnClassify({ ...three, queryChunk: 7, bankChunk: 20 });
    const ref = referenceKnn(three);
    expect(r3.top5).toBe(1);
    expect(r3.top1).toBe(ref.top1);
    expect(r3.top1).toBeLessThan(1);
    expect(Array.from(r3.predictions)).toEqual(Array.from(ref.predictions));
  });

  test('no queries gives empty results; inconsistent inputs are rejected with the field named', async () => {
    const o = randomProblem(7, 10, 3, 4, 3);
    const empty = await knnClassify({ ...o, queryFeatures: new Float32Array(0), queryLabels: new Int32Array(0) });
    expect(empty.predictions.length).toBe(0);
    await expect(knnClassify({ ...o, bankLabels: Int32Array.from([...o.bankLabels.slice(0, 9), 3]) })).rejects.toThrow('bankLabels[9] = 3 is outside 0..2');
    await expect(knnClassify({ ...o, dim: 5 })).rejects.toThrow('bankFeatures holds 40 values');
    await expect(knnClassify({ ...o, k: 0 })).rejects.toThrow('k 0 must be an integer >= 1');
    await expect(knnClassify({ ...o, temperature: 0 })).rejects.toThrow('temperature 0 must be > 0');
    await expect(knnClassify({ ...o, bankFeatures: new Float32Array(0), bankLabels: new Int32Array(0) })).rejects.toThrow('the bank is empty');
  });
});
