/**
 * k-means as scikit-learn 1.2's `KMeans(n_clusters).fit(X)` with its defaults (k-means++ init with
 * 2 + ⌊ln k⌋ local trials, n_init 10, Lloyd iterations, max_iter 300, tol 1e-4 × mean feature
 * variance, empty clusters relocated to the farthest points), which SMoG's reference clusters its
 * memory bank with (lightly `cifar10_benchmark.py SMoGModel._cluster_features`, docs/methods.md §4.17).
 *
 * The random draws are numpy's legacy `RandomState(seed)` (MT19937, `randint`, `uniform`) in the
 * order scikit-learn makes them, so `kmeans(X, k, { seed })` reproduces
 * `KMeans(k, random_state=seed).fit(X)` for float32 X: the same initial centres and, up to float32
 * rounding in the Lloyd steps (scikit-learn runs them in float32, this file in float64), the same
 * final centres. Known differences: with two or more empty clusters in one Lloyd step they are
 * filled with the farthest points in descending distance order (scikit-learn takes numpy's
 * argpartition order); an exact tie between distances can resolve differently after rounding.
 *
 * The two n·k·d products (the Lloyd assignment and k-means++'s candidate distances) run in float64
 * in two small ONNX Runtime CPU sessions, on every core; everything else is plain TypeScript.
 *
 *   const { centers, labels, inertia } = await kmeans(bank, rows, dim, 300, { seed });
 */
import * as ort from 'onnxruntime-node';
import { Graph, add, argmax, matmul, mul, reduceSum, sub, toOnnx, transpose, type Tensor } from '../graph';

const MT_N = 624;
const MT_M = 397;

/** numpy.random.RandomState(seed) restricted to what k-means++ draws: MT19937 with numpy's legacy seeding. */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(MT_N);
  private index = MT_N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`NumpyRandomState: seed ${seed} must be an integer in [0, 2^32 − 1]`);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < MT_N; i++) {
      const prev = this.mt[i - 1];
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < MT_N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % MT_N] & 0x7fffffff);
      mt[i] = (mt[(i + MT_M) % MT_N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
    }
    this.index = 0;
  }

  nextUint32(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random_sample()`: 53 random bits in [0, 1). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `randint(n)` for 1 ≤ n ≤ 2^32: numpy's masked rejection sampling on 32-bit draws. */
  randint(n: number): number {
    const range = n - 1;
    if (range === 0) return 0;
    let mask = range;
    for (let s = 1; s < 32; s *= 2) mask |= mask >>> s;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= range) return v;
    }
  }
}

export interface KMeansOptions {
  /** numpy RandomState seed (scikit-learn's random_state). */
  seed: number;
  /** Independent k-means++ starts; the lowest inertia wins (scikit-learn 1.2: 10). */
  nInit?: number;
  maxIter?: number;
  /** Relative tolerance on the total squared centre shift (× the mean feature variance). */
  tol?: number;
}

export interface KMeansResult {
  /** [k, d] centres in the input's coordinates (scikit-learn's cluster_centers_). */
  centers: Float64Array;
  labels: Int32Array;
  inertia: number;
  /** Lloyd iterations of the winning start. */
  iterations: number;
}

/** Squared distance between row i of a and row j of b (both [*, d], float64). */
function squaredDistance(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  const ai = i * d;
  const bj = j * d;
  for (let f = 0; f < d; f++) {
    const t = a[ai + f] - b[bj + f];
    s += t * t;
  }
  return s;
}

/** First index whose cumulative sum reaches `value` (numpy.searchsorted, side 'left'), clipped to the last. */
function searchSorted(cumulative: Float64Array, value: number): number {
  let lo = 0;
  let hi = cumulative.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, cumulative.length - 1);
}

/** numpy's pairwise float32 summation of a[start, start + n) (8 accumulators, blocks of 128, halving above). */
function pairwiseSumF32(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r = Math.fround(r + a[start + i]);
    return r;
  }
  if (n <= 128) {
    const r = Array.from({ length: 8 }, (_, j) => Math.fround(a[start + j]));
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = Math.fround(r[j] + a[start + i + j]);
    const f = Math.fround;
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return Math.fround(pairwiseSumF32(a, start, half) + pairwiseSumF32(a, start + half, n - half));
}

/** `arr.sum()` of a float32 array reduced over all axes: pairwise sums of 8192-element buffers, added in order. */
function bufferedSumF32(a: Float64Array): number {
  let r = 0;
  for (let i = 0; i < a.length; i += 8192) r = Math.fround(r + pairwiseSumF32(a, i, Math.min(8192, a.length - i)));
  return r;
}

/**
 * The float64 products k-means needs, as one ORT session over the fixed rows x [n, d]:
 * `nearest(c)` = argmin_j ‖c_j‖² − 2·x_i·c_j per row (first on ties), and `distances(rows)` the
 * squared distances (−2·x·y + ‖y‖²) + ‖x‖² from `t` given rows to every row, as scikit-learn's
 * `_euclidean_distances` computes them before rounding to float32.
 */
export class KMeansProducts {
  private constructor(
    private readonly nearestSession: ort.InferenceSession, private readonly distanceSession: ort.InferenceSession,
    private readonly x: ort.Tensor, private readonly d: number, private readonly k: number, private readonly trials: number,
  ) {}

  static async create(x: Float64Array, n: number, d: number, k: number, trials: number): Promise<KMeansProducts> {
    const sumSquares = (t: Tensor) => reduceSum(mul(t, t), [1], true);
    // One session per product: a run computes every output of its model, whichever are asked for.
    const nearest = new Graph('kmeans-nearest');
    const rows = nearest.input('x', [n, d], 'float64');
    const centers = nearest.input('centers', [k, d], 'float64');
    nearest.output('nearest', argmax(sub(mul(matmul(rows, transpose(centers)), 2), transpose(sumSquares(centers))), 1));
    const distances = new Graph('kmeans-distances');
    const all = distances.input('x', [n, d], 'float64');
    const from = distances.input('from', [trials, d], 'float64');
    distances.output('distances', add(add(mul(matmul(from, transpose(all)), -2), sumSquares(from)), transpose(sumSquares(all))));
    // No spinning: the sessions run in bursts between training steps, often on a machine shared with other runs.
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'], interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const sessions = await Promise.all([nearest, distances].map((g) => ort.InferenceSession.create(toOnnx(g), options)));
    return new KMeansProducts(sessions[0], sessions[1], new ort.Tensor('float64', x, [n, d]), d, k, trials);
  }

  /** argmin_j ‖c_j‖² − 2·x_i·c_j for every row i; `centers` [k, d]. */
  async nearest(centers: Float64Array): Promise<Int32Array> {
    const r = await this.nearestSession.run({ x: this.x, centers: new ort.Tensor('float64', centers, [this.k, this.d]) });
    return Int32Array.from(r.nearest.data as BigInt64Array, Number);
  }

  /** [trials, n] squared distances from the rows `from` [trials, d] to every row. */
  async distances(from: Float64Array): Promise<Float64Array> {
    const r = await this.distanceSession.run({ x: this.x, from: new ort.Tensor('float64', from, [this.trials, this.d]) });
    return r.distances.data as Float64Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.nearestSession.release(), this.distanceSession.release()]);
  }
}

/** The number of candidates k-means++ tries per centre: 2 + ⌊ln k⌋. */
export const localTrials = (k: number): number => 2 + Math.floor(Math.log(k));

/** scikit-learn's `_kmeans_plusplus` (greedy k-means++ with 2 + ⌊ln k⌋ candidates per centre), on float32-valued rows. */
export async function kmeansPlusPlus(x: Float64Array, n: number, d: number, k: number, random: NumpyRandomState, products: KMeansProducts): Promise<Float64Array> {
  const trials = localTrials(k);
  const rowsOf = (ids: readonly number[]) => {
    const out = new Float64Array(trials * d);
    ids.forEach((id, t) => out.set(x.subarray(id * d, id * d + d), t * d));
    return out;
  };
  const centers = new Float64Array(k * d);
  const first = random.randint(n);
  centers.set(x.subarray(first * d, first * d + d), 0);
  // Every candidate row is the first one here; only row 0 of the result is used.
  let closest = Float64Array.from((await products.distances(rowsOf(new Array(trials).fill(first)))).subarray(0, n), (v) => Math.fround(Math.max(v, 0)));
  let pot = bufferedSumF32(closest);
  const cumulative = new Float64Array(n);
  let best = new Float64Array(n);
  const trial = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    const thresholds = Array.from({ length: trials }, () => random.randomSample() * pot);
    let running = 0;
    for (let i = 0; i < n; i++) {
      running += closest[i];
      cumulative[i] = running;
    }
    const candidates = thresholds.map((v) => searchSorted(cumulative, v));
    const all = await products.distances(rowsOf(candidates));
    let bestPot = Infinity;
    let bestId = -1;
    candidates.forEach((id, t) => {
      for (let i = 0; i < n; i++) trial[i] = Math.min(closest[i], Math.fround(Math.max(all[t * n + i], 0)));
      const candidatePot = pairwiseSumF32(trial, 0, n);
      if (candidatePot < bestPot) {
        bestPot = candidatePot;
        bestId = id;
        best.set(trial);
      }
    });
    pot = bestPot;
    [closest, best] = [best, closest];
    centers.set(x.subarray(bestId * d, bestId * d + d), c * d);
  }
  return centers;
}

/** Nearest centre of every row (first on ties) and its squared distance. */
async function assign(x: Float64Array, n: number, d: number, centers: Float64Array, k: number, labels: Int32Array, distances: Float64Array, products: KMeansProducts): Promise<void> {
  labels.set(await products.nearest(centers));
  for (let i = 0; i < n; i++) distances[i] = squaredDistance(x, i, centers, labels[i], d);
}

/**
 * One Lloyd step as scikit-learn's `lloyd_iter_chunked_dense`: assign, sum, move empty clusters to
 * the farthest points (`_relocate_empty_clusters_dense`), average. Returns Σ_j ‖c_j' − c_j‖².
 */
async function lloydStep(
  x: Float64Array, n: number, d: number, centers: Float64Array, k: number, next: Float64Array, labels: Int32Array, distances: Float64Array, products: KMeansProducts,
): Promise<number> {
  await assign(x, n, d, centers, k, labels, distances, products);
  next.fill(0);
  const weight = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const j = labels[i];
    weight[j] += 1;
    for (let f = 0; f < d; f++) next[j * d + f] += x[i * d + f];
  }
  const empty: number[] = [];
  for (let j = 0; j < k; j++) if (weight[j] === 0) empty.push(j);
  if (empty.length > 0) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => distances[b] - distances[a] || a - b);
    if (distances[order[0]] > 0) {
      empty.forEach((newId, e) => {
        const far = order[e];
        const oldId = labels[far];
        for (let f = 0; f < d; f++) {
          next[oldId * d + f] -= x[far * d + f];
          next[newId * d + f] = x[far * d + f];
        }
        weight[newId] = 1;
        weight[oldId] -= 1;
      });
    }
  }
  let shift = 0;
  for (let j = 0; j < k; j++) {
    if (weight[j] > 0) for (let f = 0; f < d; f++) next[j * d + f] /= weight[j];
    shift += squaredDistance(next, j, centers, j, d);
  }
  return shift;
}

/** scikit-learn's `_kmeans_single_lloyd` from the given initial centres (modified in place to the result). */
async function lloyd(x: Float64Array, n: number, d: number, init: Float64Array, k: number, maxIter: number, tol: number, products: KMeansProducts): Promise<KMeansResult> {
  let centers: Float64Array = init;
  let next: Float64Array = new Float64Array(k * d);
  const labels = new Int32Array(n).fill(-1);
  const previous = new Int32Array(n).fill(-1);
  const distances = new Float64Array(n);
  let strict = false;
  let iterations = 0;
  for (let it = 0; it < maxIter; it++) {
    const shift = await lloydStep(x, n, d, centers, k, next, labels, distances, products);
    [centers, next] = [next, centers];
    iterations = it + 1;
    if (labels.every((l, i) => l === previous[i])) {
      strict = true;
      break;
    }
    if (shift <= tol) break;
    previous.set(labels);
  }
  if (!strict) await assign(x, n, d, centers, k, labels, distances, products);
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += squaredDistance(x, i, centers, labels[i], d);
  return { centers, labels, inertia, iterations };
}

/** Whether two labelings are the same partition up to renaming the clusters (scikit-learn's _is_same_clustering). */
function sameClustering(a: Int32Array, b: Int32Array, k: number): boolean {
  const mapping = new Int32Array(k).fill(-1);
  for (let i = 0; i < a.length; i++) {
    if (mapping[a[i]] === -1) mapping[a[i]] = b[i];
    else if (mapping[a[i]] !== b[i]) return false;
  }
  return true;
}

/** `KMeans(k, random_state=seed).fit(X)` for X float32 [n, d] (row-major). */
export async function kmeans(data: Float32Array, n: number, d: number, k: number, opts: KMeansOptions): Promise<KMeansResult> {
  if (data.length !== n * d) throw new RangeError(`kmeans: data has ${data.length} values, expected ${n} × ${d}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kmeans: ${k} clusters need 1 ≤ k ≤ ${n} samples`);
  const nInit = opts.nInit ?? 10;
  const maxIter = opts.maxIter ?? 300;
  // scikit-learn centres X in its own float32 (column sums accumulated row by row), then works on X − mean.
  const mean = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) mean[f] += data[i * d + f];
  for (let f = 0; f < d; f++) mean[f] = Math.fround(mean[f] / n);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) x[i * d + f] = Math.fround(data[i * d + f] - mean[f]);
  let variance = 0;
  for (let f = 0; f < d; f++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + f];
    const mu = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + f] - mu) ** 2;
    variance += v / n;
  }
  const tol = (variance / d) * (opts.tol ?? 1e-4);

  const random = new NumpyRandomState(opts.seed);
  const products = await KMeansProducts.create(x, n, d, k, localTrials(k));
  let best: KMeansResult | null = null;
  try {
    for (let run = 0; run < nInit; run++) {
      const result = await lloyd(x, n, d, await kmeansPlusPlus(x, n, d, k, random, products), k, maxIter, tol, products);
      if (best === null || (result.inertia < best.inertia && !sameClustering(result.labels, best.labels, k))) best = result;
    }
  } finally {
    await products.release();
  }
  const centers = best!.centers;
  for (let j = 0; j < k; j++) for (let f = 0; f < d; f++) centers[j * d + f] += mean[f];
  return { ...best!, centers };
}
