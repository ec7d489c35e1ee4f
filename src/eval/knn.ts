/**
 * Weighted kNN classifier on frozen features (METHODS.md §5.1; InstDisc / the MoCo CIFAR demo):
 * L2-normalised features, cosine similarity of each query to the train bank, the k most similar
 * bank entries, weights exp(sim / t), class scores summed per class, classes ranked by score.
 *
 * Everything numeric runs in three small ONNX graphs, so memory is bounded by the chunk sizes and
 * not by the bank (an ImageNet bank of 1.28M x 2048 against 50k queries needs one
 * queryChunk x bankChunk similarity block at a time):
 *   chunk: queries [Q, D] x bank chunk [Bk, D] → the chunk's top-k similarities and labels;
 *   merge: running top-k ⧺ chunk top-k → top-k again (the running list first);
 *   vote:  top-k → exp(sim/t) scattered into class scores → top-min(5, C) classes, hit counts.
 *
 * Ties. Neighbours with equal similarity are ranked by bank index, lower first: ORT's TopK keeps
 * the lower index on ties, each chunk's indices are bank order, and the merge puts the running
 * list (earlier chunks) before the new chunk. Classes with equal scores are ranked by class
 * index, lower first. The reference leaves both orders arbitrary (torch.topk / argsort on GPU).
 *
 * k larger than the bank: k is clamped to the bank size (every bank entry votes), where torch.topk
 * would raise. A class with fewer than k members simply contributes all of them.
 */
import * as ort from 'onnxruntime-node';
import {
  Graph, cast, concat, div, equal, exp, expandAs, gather, gatherElements, gemm, l2Normalize, less,
  reduceMax, scatterElementsAdd, slice, squeeze, sub, toOnnx, topK, unsqueeze, where,
} from '../graph';
import { createSession, type Device } from '../engine/session';

/**
 * Chunk defaults: a 256 x 131072 float32 similarity block is 128 MiB. Larger bank chunks were faster
 * on the 2-core machine (fewer TopK/merge passes: 100k bank x 2k queries, D 128: 1024x8192 9.0 s,
 * 256x16384 7.3 s, 256x65536 4.7 s, 128x100000 3.6 s).
 */
export const KNN_DEFAULTS = { k: 200, temperature: 0.1, queryChunk: 256, bankChunk: 131072 } as const;

export interface KnnOptions {
  /** [bankSize, dim] row-major train features (any scale: they are L2-normalised in the graph). */
  bankFeatures: Float32Array;
  /** Class of every bank entry, 0..numClasses-1. */
  bankLabels: Int32Array;
  /** [querySize, dim] row-major test features. */
  queryFeatures: Float32Array;
  queryLabels: Int32Array;
  dim: number;
  numClasses: number;
  /** Neighbours (default 200); clamped to the bank size. */
  k?: number;
  /** Temperature t of the weights exp(sim / t) (default 0.1). */
  temperature?: number;
  /** Queries per graph run (default 256). */
  queryChunk?: number;
  /** Bank entries per graph run (default 131072; raised to k so one chunk can hold all neighbours). */
  bankChunk?: number;
  device?: Device;
  /** Intra-op threads of the ORT sessions (default: every core). */
  threads?: number;
}

export interface KnnResult {
  /** Fraction of queries whose top-ranked class is their label. */
  top1: number;
  /** Fraction of queries whose label is among the min(5, numClasses) top-ranked classes. */
  top5: number;
  /** Top-ranked class per query. */
  predictions: Int32Array;
  /** The k actually used (k clamped to the bank size). */
  k: number;
}

const BATCH = 'N';

function checkLabels(labels: Int32Array, numClasses: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(y >= 0 && y < numClasses)) throw new RangeError(`knn: ${what}[${i}] = ${y} is outside 0..${numClasses - 1}`);
  }
}

function validate(o: KnnOptions, k: number, temperature: number, queryChunk: number, bankChunk: number): void {
  const { dim, numClasses } = o;
  if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`knn: dim ${dim} must be an integer >= 1`);
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`knn: numClasses ${numClasses} must be an integer >= 1`);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`knn: k ${k} must be an integer >= 1`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new RangeError(`knn: temperature ${temperature} must be > 0`);
  if (!(Number.isInteger(queryChunk) && queryChunk >= 1)) throw new RangeError(`knn: queryChunk ${queryChunk} must be an integer >= 1`);
  if (!(Number.isInteger(bankChunk) && bankChunk >= 1)) throw new RangeError(`knn: bankChunk ${bankChunk} must be an integer >= 1`);
  const bankSize = o.bankLabels.length;
  if (bankSize === 0) throw new RangeError('knn: the bank is empty');
  if (o.bankFeatures.length !== bankSize * dim) throw new RangeError(`knn: bankFeatures holds ${o.bankFeatures.length} values, ${bankSize} labels x dim ${dim} need ${bankSize * dim}`);
  if (o.queryFeatures.length !== o.queryLabels.length * dim) {
    throw new RangeError(`knn: queryFeatures holds ${o.queryFeatures.length} values, ${o.queryLabels.length} labels x dim ${dim} need ${o.queryLabels.length * dim}`);
  }
  checkLabels(o.bankLabels, numClasses, 'bankLabels');
  checkLabels(o.queryLabels, numClasses, 'queryLabels');
}

/**
 * Similarities of a query chunk to one bank chunk and their top k. The chunk has a fixed size;
 * rows at or past `bank_count` are padding and get similarity −∞, so they never outrank a real
 * entry once the running list holds k real ones (k ≤ bank size).
 */
export function knnChunkModel(dim: number, bankChunk: number, k: number): Uint8Array {
  const g = new Graph('knn-chunk');
  const queries = g.input('queries', [BATCH, dim]);
  const bank = g.input('bank', [bankChunk, dim]);
  const bankLabels = g.input('bank_labels', [bankChunk], 'int32');
  const bankCount = g.input('bank_count', [], 'int64');
  const sims = gemm(l2Normalize(queries), l2Normalize(bank), undefined, { transB: true });
  const positions = g.constant(BigInt64Array.from({ length: bankChunk }, (_, i) => BigInt(i)), [bankChunk], 'int64');
  const masked = where(less(positions, bankCount), sims, -Infinity);
  const top = topK(masked, k, -1);
  g.output('sims', top.values);
  g.output('labels', gather(bankLabels, top.indices, 0));
  return toOnnx(g);
}

/** The top k of the running list followed by a new chunk's list (running first: it holds earlier bank entries). */
export function knnMergeModel(k: number): Uint8Array {
  const g = new Graph('knn-merge');
  const sims = concat([g.input('sims', [BATCH, k]), g.input('chunk_sims', [BATCH, k])], 1);
  const labels = concat([g.input('labels', [BATCH, k], 'int32'), g.input('chunk_labels', [BATCH, k], 'int32')], 1);
  const top = topK(sims, k, -1);
  g.output('merged_sims', top.values);
  g.output('merged_labels', gatherElements(labels, top.indices, 1));
  return toOnnx(g);
}

/**
 * Weighted vote: class scores Σ exp(sim/t) over the neighbours of each class (ScatterElements-add,
 * so memory is [Q, C], not [Q, k, C]), the top-ranked class and per-query hit flags (0/1) for
 * top-1 and top-5 (the batch axis is dynamic, so the caller counts the flags).
 */
export function knnVoteModel(k: number, numClasses: number, temperature: number): Uint8Array {
  const g = new Graph('knn-vote');
  const sims = g.input('sims', [BATCH, k]);
  const labels = g.input('labels', [BATCH, k], 'int32');
  const queryLabels = g.input('query_labels', [BATCH], 'int32');
  // exp((s − s_max)/t): the per-query factor exp(−s_max/t) leaves the class ranking unchanged and
  // keeps small temperatures from overflowing float32 (exp(1/0.01) = inf would tie every class).
  const weights = exp(div(sub(sims, slice(sims, [0], [1], [1])), temperature));
  const zeros = expandAs(g.constant(new Float32Array(numClasses), [1, numClasses]), unsqueeze(cast(queryLabels, 'float32'), 1));
  const scores = scatterElementsAdd(zeros, cast(labels, 'int64'), weights, 1);
  const ranked = cast(topK(scores, Math.min(5, numClasses), -1).indices, 'int32');
  const top1 = squeeze(slice(ranked, [0], [1], [1]), 1);
  g.output('predictions', top1);
  g.output('top1_hit', cast(equal(top1, queryLabels), 'uint8'));
  g.output('top5_hit', cast(reduceMax(cast(equal(ranked, unsqueeze(queryLabels, 1)), 'int32'), [1]), 'uint8'));
  return toOnnx(g);
}

function countOnes(flags: Uint8Array): number {
  let n = 0;
  for (const f of flags) n += f;
  return n;
}

/** Weighted kNN accuracy of `queryFeatures` against the bank (see the module doc for ties and k). */
export async function knnClassify(o: KnnOptions): Promise<KnnResult> {
  const kAsked = o.k ?? KNN_DEFAULTS.k;
  const temperature = o.temperature ?? KNN_DEFAULTS.temperature;
  const queryChunk = o.queryChunk ?? KNN_DEFAULTS.queryChunk;
  const bankChunkAsked = o.bankChunk ?? KNN_DEFAULTS.bankChunk;
  validate(o, kAsked, temperature, queryChunk, bankChunkAsked);
  const { dim, numClasses } = o;
  const bankSize = o.bankLabels.length;
  const querySize = o.queryLabels.length;
  const k = Math.min(kAsked, bankSize);
  const bankChunk = Math.min(Math.max(bankChunkAsked, k), bankSize);
  const predictions = new Int32Array(querySize);
  if (querySize === 0) return { top1: 0, top5: 0, predictions, k };

  const sessionOpts = { threads: o.threads };
  const device = o.device ?? 'cpu';
  const [chunk, merge, vote] = await Promise.all([
    createSession(knnChunkModel(dim, bankChunk, k), device, sessionOpts),
    createSession(knnMergeModel(k), device, sessionOpts),
    createSession(knnVoteModel(k, numClasses, temperature), device, sessionOpts),
  ]).then((created) => created.map((c) => c.session));

  try {
    // Bank chunks are views of the caller's arrays; only a short last chunk is copied (padded).
    const bankFeeds: { bank: ort.Tensor; bank_labels: ort.Tensor; bank_count: ort.Tensor }[] = [];
    for (let start = 0; start < bankSize; start += bankChunk) {
      const n = Math.min(bankChunk, bankSize - start);
      let features = o.bankFeatures.subarray(start * dim, (start + n) * dim);
      let labels = o.bankLabels.subarray(start, start + n);
      if (n < bankChunk) {
        const padded = new Float32Array(bankChunk * dim);
        padded.set(features);
        features = padded;
        const paddedLabels = new Int32Array(bankChunk);
        paddedLabels.set(labels);
        labels = paddedLabels;
      }
      bankFeeds.push({
        bank: new ort.Tensor('float32', features, [bankChunk, dim]),
        bank_labels: new ort.Tensor('int32', labels, [bankChunk]),
        bank_count: new ort.Tensor('int64', BigInt64Array.of(BigInt(n)), []),
      });
    }

    let top1Hits = 0;
    let top5Hits = 0;
    for (let qStart = 0; qStart < querySize; qStart += queryChunk) {
      const q = Math.min(queryChunk, querySize - qStart);
      const queries = new ort.Tensor('float32', o.queryFeatures.subarray(qStart * dim, (qStart + q) * dim), [q, dim]);
      let sims: ort.Tensor | null = null;
      let labels: ort.Tensor | null = null;
      for (const feeds of bankFeeds) {
        const out = await chunk.run({ queries, ...feeds });
        if (sims === null || labels === null) {
          sims = out.sims as ort.Tensor;
          labels = out.labels as ort.Tensor;
        } else {
          const merged = await merge.run({ sims, labels, chunk_sims: out.sims, chunk_labels: out.labels });
          sims = merged.merged_sims as ort.Tensor;
          labels = merged.merged_labels as ort.Tensor;
        }
      }
      const queryLabels = new ort.Tensor('int32', o.queryLabels.subarray(qStart, qStart + q), [q]);
      const voted = await vote.run({ sims: sims!, labels: labels!, query_labels: queryLabels });
      predictions.set(voted.predictions.data as Int32Array, qStart);
      top1Hits += countOnes(voted.top1_hit.data as Uint8Array);
      top5Hits += countOnes(voted.top5_hit.data as Uint8Array);
    }
    return { top1: top1Hits / querySize, top5: top5Hits / querySize, predictions, k };
  } finally {
    await Promise.all([chunk.release(), merge.release(), vote.release()]);
  }
}
