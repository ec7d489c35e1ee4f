import { Rng } from '../../src/data/rng';
import { PROBE_PREFIX, linearProbe, type LabelledFeatures } from '../../src/eval/linear';

/** Gaussian blobs around well-separated class centres: linearly separable with a wide margin. */
function separable(seed: number, n: number, dim: number, numClasses: number): LabelledFeatures & { features: Float32Array } {
  const rng = new Rng(seed);
  const centres = Float32Array.from({ length: numClasses * dim }, (_, i) => (i % dim === Math.floor(i / dim) % dim ? 4 : 0));
  const labels = Int32Array.from({ length: n }, () => rng.int(numClasses));
  const features = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) features[i * dim + d] = centres[labels[i] * dim + d] + 0.5 * rng.normal();
  return { features, labels };
}

/** Full-batch softmax cross-entropy + torch SGD momentum in float64, from zero weights. */
function referenceSgd(data: LabelledFeatures & { features: Float32Array }, dim: number, numClasses: number, lrs: number[], momentum: number) {
  const n = data.labels.length;
  const W = new Float64Array(numClasses * dim);
  const b = new Float64Array(numClasses);
  const bufW = new Float64Array(W.length);
  const bufB = new Float64Array(b.length);
  lrs.forEach((lr, step) => {
    const gW = new Float64Array(W.length);
    const gB = new Float64Array(b.length);
    for (let i = 0; i < n; i++) {
      const logits = Array.from({ length: numClasses }, (_, c) => {
        let s = b[c];
        for (let d = 0; d < dim; d++) s += W[c * dim + d] * data.features[i * dim + d];
        return s;
      });
      const max = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - max));
      const z = e.reduce((a, x) => a + x, 0);
      for (let c = 0; c < numClasses; c++) {
        const delta = (e[c] / z - (c === data.labels[i] ? 1 : 0)) / n;
        gB[c] += delta;
        for (let d = 0; d < dim; d++) gW[c * dim + d] += delta * data.features[i * dim + d];
      }
    }
    for (let j = 0; j < W.length; j++) {
      bufW[j] = step === 0 ? gW[j] : momentum * bufW[j] + gW[j];
      W[j] -= lr * bufW[j];
    }
    for (let c = 0; c < b.length; c++) {
      bufB[c] = step === 0 ? gB[c] : momentum * bufB[c] + gB[c];
      b[c] -= lr * bufB[c];
    }
  });
  return { W, b };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('linearProbe', () => {
  test('near-perfect accuracy on linearly separable features; max-over-epochs and final reported', async () => {
    const dim = 8;
    const numClasses = 5;
    const seen: number[] = [];
    const r = await linearProbe({
      featureDim: dim, numClasses, train: separable(1, 640, dim, numClasses), test: separable(2, 300, dim, numClasses),
      epochs: 6, batchSize: 64, lr: 0.1 * 64 / 256 * 4, seed: 3, threads: 1, onEpoch: (e) => seen.push(e.epoch),
    });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.final.top1).toBeGreaterThanOrEqual(0.99);
    expect(r.maxOverEpochs.top1).toBeGreaterThanOrEqual(r.final.top1);
    expect(r.maxOverEpochs.top1).toBe(Math.max(...r.epochs.map((e) => e.test.top1)));
    expect(r.final.top5).toBe(1);
    // The loss falls as the head learns.
    expect(r.epochs[5].loss).toBeLessThan(r.epochs[0].loss);
    expect([...r.state.keys()]).toEqual([`${PROBE_PREFIX}.weight`, `${PROBE_PREFIX}.bias`]);
  });

  test('the per-step cosine schedule (to 0.001x) drives the in-graph SGD update exactly as the torch formulas', async () => {
    const dim = 5;
    const numClasses = 3;
    const train = separable(4, 48, dim, numClasses);
    const zeros = new Map([[`${PROBE_PREFIX}.weight`, new Float32Array(numClasses * dim)], [`${PROBE_PREFIX}.bias`, new Float32Array(numClasses)]]);
    const base = { featureDim: dim, numClasses, train, test: train, epochs: 4, batchSize: 48, lr: 0.3, seed: 0, init: zeros, threads: 1 };
    // One full batch per epoch: the schedule's global step equals the epoch.
    const cosine = await linearProbe(base);
    const expectedLrs = [0, 1, 2, 3].map((s) => 0.3 * (0.001 - (0.001 - 1) * (1 + Math.cos((Math.PI * s) / 3)) / 2));
    cosine.epochs.forEach((e, i) => {
      expect(e.lrFirst).toBeCloseTo(expectedLrs[i], 12);
      expect(e.lrLast).toBe(e.lrFirst);
    });
    const refCos = referenceSgd(train, dim, numClasses, expectedLrs, 0.9);
    expect(maxAbsDiff(cosine.state.get(`${PROBE_PREFIX}.weight`)!, refCos.W)).toBeLessThan(1e-4);
    expect(maxAbsDiff(cosine.state.get(`${PROBE_PREFIX}.bias`)!, refCos.b)).toBeLessThan(1e-4);

    const constant = await linearProbe({ ...base, schedule: { name: 'constant', interval: 'step', warmup_epochs: 0, end_factor: 1 } });
    const refConst = referenceSgd(train, dim, numClasses, [0.3, 0.3, 0.3, 0.3], 0.9);
    expect(maxAbsDiff(constant.state.get(`${PROBE_PREFIX}.weight`)!, refConst.W)).toBeLessThan(1e-4);
    // The two schedules lead to measurably different heads.
    expect(maxAbsDiff(refConst.W, refCos.W)).toBeGreaterThan(1e-2);
  });

  test('several steps per epoch: the LR falls within an epoch (per-step schedule)', async () => {
    const dim = 4;
    const train = separable(5, 100, dim, 2);
    const r = await linearProbe({ featureDim: dim, numClasses: 2, train, test: train, epochs: 2, batchSize: 30, lr: 1, seed: 1, threads: 1 });
    // 100 samples, batch 30, drop_last → 3 steps per epoch, 6 in all: factors cosine(s, 6, 1, 0.001).
    const f = (s: number) => 0.001 - (0.001 - 1) * (1 + Math.cos((Math.PI * s) / 5)) / 2;
    expect(r.epochs.map((e) => [e.lrFirst, e.lrLast])).toEqual([[f(0), f(2)], [f(3), f(5)]].map((p) => p.map((x) => expect.closeTo(x, 12))));
    // Without drop_last the short last batch (10 of 30, topped up from the epoch's start) is a 4th step.
    const kept = await linearProbe({ featureDim: dim, numClasses: 2, train, test: train, epochs: 2, batchSize: 30, lr: 1, seed: 1, threads: 1, dropLast: false });
    const g = (s: number) => 0.001 - (0.001 - 1) * (1 + Math.cos((Math.PI * s) / 7)) / 2;
    expect(kept.epochs.map((e) => [e.lrFirst, e.lrLast])).toEqual([[g(0), g(3)], [g(4), g(7)]].map((p) => p.map((x) => expect.closeTo(x, 12))));
  });

  test('bn-linear head (ViT mae protocol) and the embed(epoch) seam of the augmented protocol', async () => {
    const dim = 6;
    const numClasses = 4;
    const epochsSeen: number[] = [];
    const r = await linearProbe({
      featureDim: dim, numClasses, head: 'bn-linear', test: separable(7, 200, dim, numClasses),
      train: async (epoch) => {
        epochsSeen.push(epoch);
        return separable(100 + epoch, 256, dim, numClasses);
      },
      epochs: 3, batchSize: 32, lr: 0.5, seed: 2, threads: 1,
    });
    expect(epochsSeen).toEqual([0, 1, 2]);
    expect(r.maxOverEpochs.top1).toBeGreaterThanOrEqual(0.99);
    expect([...r.state.keys()]).toEqual([`${PROBE_PREFIX}.1.weight`, `${PROBE_PREFIX}.1.bias`, `${PROBE_PREFIX}.0.running_mean`, `${PROBE_PREFIX}.0.running_var`]);
    // Running statistics moved away from their init (mean 0, var 1) towards the data's.
    expect(Math.max(...r.state.get(`${PROBE_PREFIX}.0.running_mean`)!)).toBeGreaterThan(0.5);

    await expect(linearProbe({
      featureDim: dim, numClasses, test: separable(7, 20, dim, numClasses), epochs: 2, batchSize: 8, lr: 0.1, seed: 0, threads: 1,
      train: async (epoch) => separable(epoch, epoch === 0 ? 32 : 40, dim, numClasses),
    })).rejects.toThrow('embed(1) returned 40 train samples, epoch 0 had 32');
  });

  test('rejects a batch larger than the train set and out-of-range labels', async () => {
    const data = separable(8, 10, 3, 2);
    await expect(linearProbe({ featureDim: 3, numClasses: 2, train: data, test: data, epochs: 1, batchSize: 16, lr: 0.1, seed: 0 }))
      .rejects.toThrow('10 train samples give no full batch of 16');
    await expect(linearProbe({ featureDim: 3, numClasses: 1, train: data, test: data, epochs: 1, batchSize: 4, lr: 0.1, seed: 0 }))
      .rejects.toThrow('is outside 0..0');
  });
});
