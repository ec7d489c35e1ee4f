/**
 * src/methods/kmeans.ts against numpy's RandomState and scikit-learn 1.2's KMeans. The numpy draws
 * are pinned below (numpy 1.24.2); the k-means results are compared live with the scikit-learn that
 * Debian installs for /usr/bin/python3 (python3-sklearn) — those tests are skipped, saying so, where
 * it is absent.
 */
import { spawnSync } from 'node:child_process';
import { KMeansProducts, NumpyRandomState, kmeans, kmeansPlusPlus, localTrials } from '../../src/methods/kmeans';
import { randn } from '../support/graph-harness';

const PYTHON = '/usr/bin/python3';
const sklearnVersion = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();
const withSklearn = sklearnVersion?.startsWith('1.2.') ? it : it.skip;
if (!sklearnVersion?.startsWith('1.2.')) {
  // eslint-disable-next-line no-console
  console.warn(`kmeans.test: skipping the scikit-learn comparisons: ${PYTHON} has ${sklearnVersion ? `scikit-learn ${sklearnVersion}` : 'no scikit-learn'}, the reference is 1.2.x (apt install python3-sklearn)`);
}

function sklearn(script: string, input: unknown): any {
  const r = spawnSync(PYTHON, ['-c', `import json, sys, warnings\nimport numpy as np\nwarnings.simplefilter('ignore')\ninp = json.load(sys.stdin)\n${script}`], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Blobs around `centres` random centres plus noise: a clustering whose result depends on the init when k ≠ centres. */
function blobs(n: number, d: number, centres: number, seed: number): Float32Array {
  const means = randn(centres * d, seed, 4);
  const noise = randn(n * d, seed + 1);
  return Float32Array.from({ length: n * d }, (_, i) => means[(Math.floor(i / d) % centres) * d + (i % d)] + noise[i]);
}

describe('NumpyRandomState (numpy legacy MT19937)', () => {
  it('draws what numpy.random.RandomState draws', () => {
    const r = new NumpyRandomState(12345);
    expect([0, 1, 2, 3, 4].map(() => r.randint(10000))).toEqual([4578, 2177, 3492, 4094, 4478]);
    expect([0, 1, 2].map(() => r.randint(7))).toEqual([5, 2, 5]);
    expect([0, 1, 2].map(() => r.randomSample())).toEqual([0.9563099813797661, 0.46192630867046924, 0.9237381573685007]);
    const z = new NumpyRandomState(0);
    expect([z.randomSample(), z.randomSample()]).toEqual([0.5488135039273248, 0.7151893663724195]);
  });
});

describe('kmeans (scikit-learn 1.2 KMeans defaults)', () => {
  withSklearn('k-means++ picks the rows sklearn.cluster.kmeans_plusplus picks', async () => {
    const n = 1500;
    const d = 8;
    const k = 40;
    const x = blobs(n, d, 25, 3);
    const rows = Float64Array.from(x);
    const products = await KMeansProducts.create(rows, n, d, k, localTrials(k));
    const ours = await kmeansPlusPlus(rows, n, d, k, new NumpyRandomState(11), products);
    await products.release();
    const ref = sklearn(
      `from sklearn.cluster import kmeans_plusplus\nX = np.array(inp['x'], dtype=np.float32).reshape(${n}, ${d})\nc, idx = kmeans_plusplus(X, ${k}, random_state=11)\nprint(json.dumps(idx.tolist()))`,
      { x: Array.from(x) },
    ) as number[];
    const picked = Array.from({ length: k }, (_, c) => {
      for (let i = 0; i < n; i++) if (x.subarray(i * d, i * d + d).every((v, f) => v === ours[c * d + f])) return i;
      return -1;
    });
    expect(picked).toEqual(ref);
  });

  withSklearn.each([[1, 5], [10, 7]])('n_init %p, seed %p: the same labels, centres and inertia as KMeans(k, random_state=seed).fit(X)', async (nInit, seed) => {
    const n = 800;
    const d = 6;
    const k = 12;
    const x = blobs(n, d, 9, 20 + seed);
    const ours = await kmeans(x, n, d, k, { seed, nInit });
    const ref = sklearn(
      `from sklearn.cluster import KMeans\nX = np.array(inp['x'], dtype=np.float32).reshape(${n}, ${d})\nm = KMeans(${k}, random_state=${seed}, n_init=${nInit}).fit(X)\nprint(json.dumps({'c': m.cluster_centers_.astype(float).tolist(), 'l': m.labels_.tolist(), 'i': float(m.inertia_), 'it': int(m.n_iter_)}))`,
      { x: Array.from(x) },
    );
    expect(Array.from(ours.labels)).toEqual(ref.l);
    expect(ours.iterations).toBe(ref.it);
    const flat = (ref.c as number[][]).flat();
    flat.forEach((v, i) => expect(Math.abs(ours.centers[i] - v)).toBeLessThan(1e-4 * (1 + Math.abs(v))));
    expect(Math.abs(ours.inertia - ref.i) / ref.i).toBeLessThan(1e-5);
  });

  it('is deterministic for a seed and depends on it', async () => {
    const x = blobs(300, 4, 7, 5);
    const a = await kmeans(x, 300, 4, 10, { seed: 3, nInit: 2 });
    const b = await kmeans(x, 300, 4, 10, { seed: 3, nInit: 2 });
    const c = await kmeans(x, 300, 4, 10, { seed: 4, nInit: 1 });
    expect(Array.from(a.centers)).toEqual(Array.from(b.centers));
    expect(Array.from(a.centers)).not.toEqual(Array.from(c.centers));
  });

  it('every label is the nearest final centre and every centre is the mean of its rows (a Lloyd fixed point)', async () => {
    const n = 400;
    const d = 5;
    const k = 8;
    const x = blobs(n, d, 6, 9);
    const { centers, labels } = await kmeans(x, n, d, k, { seed: 1, nInit: 1, tol: 0 });
    const dist = (i: number, j: number) => Array.from({ length: d }, (_, f) => (x[i * d + f] - centers[j * d + f]) ** 2).reduce((s, v) => s + v, 0);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) expect(dist(i, labels[i])).toBeLessThanOrEqual(dist(i, j) + 1e-9);
    for (let j = 0; j < k; j++) {
      const members = Array.from(labels.keys()).filter((i) => labels[i] === j);
      expect(members.length).toBeGreaterThan(0);
      for (let f = 0; f < d; f++) expect(centers[j * d + f]).toBeCloseTo(members.reduce((s, i) => s + x[i * d + f], 0) / members.length, 5);
    }
  });
});
