/**
 * Weighted kNN classifier on frozen features (docs/methods.md §5.1; InstDisc / the MoCo CIFAR demo):
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
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import {
  Graph, cast, concat, div, equal, exp, expandAs, gather, gatherElements, gemm, l2Normalize, less,
  reduceMax, scatterElementsAdd, slice, squeeze, sub, toOnnx, topK, unsqueeze, where,
} from '../graph';
import { createSession, type Device } from '../engine/session';

/**
 * Chunk defaults. Queries: 256 per graph run. Bank: 131072 rows per chunk (larger bank chunks were
 * faster on the 2-core machine — fewer TopK/merge passes: 100k bank x 2k queries, D 128: 1024x8192
 * 9.0 s, 256x16384 7.3 s, 256x65536 4.7 s, 128x100000 3.6 s), but at most BANK_CHUNK_BYTES of
 * features, so a chunk of 2048-d ResNet-50 features is 16384 rows (128 MiB), not 1 GiB: ORT holds
 * about three more chunk-sized buffers while it runs (the L2-normalised copy and its temporaries).
 */
export const KNN_DEFAULTS = { k: 200, temperature: 0.1, queryChunk: 256, bankChunk: 131072 } as const;
export const BANK_CHUNK_BYTES = 128 * 1024 ** 2;

/**
 * The kNN bank, read in row chunks: an array in memory, or a features file on disk
 * (featureFileBank) for banks too large to hold — ImageNet1k's 1.28M x 2048 float32 is 10.5 GB.
 */
export interface FeatureBank {
  size: number;
  dim: number;
  /** Class of every entry, 0..numClasses-1. */
  labels: Int32Array;
  /**
   * Rows [start, start + n) as n·dim row-major floats: a view of the bank's own memory, or
   * `scratch` (at least n·dim long) filled from disk.
   */
  rows(start: number, n: number, scratch: Float32Array): Float32Array;
  /** Releases what the bank holds open (a features file's descriptor); the file itself stays. */
  close?(): void;
}

export function inMemoryBank(features: Float32Array, labels: Int32Array, dim: number): FeatureBank {
  if (features.length !== labels.length * dim) throw new RangeError(`knn: bankFeatures holds ${features.length} values, ${labels.length} labels x dim ${dim} need ${labels.length * dim}`);
  return { size: labels.length, dim, labels, rows: (start, n) => features.subarray(start * dim, (start + n) * dim) };
}

/** A bank stored as raw float32 rows (host byte order) in `file`, one row per label; opened on first read. */
export function featureFileBank(file: string, dim: number, labels: Int32Array): FeatureBank {
  const bytes = fs.statSync(file).size;
  if (bytes !== labels.length * dim * 4) throw new RangeError(`knn: ${file} holds ${bytes} bytes, ${labels.length} rows x dim ${dim} x 4 need ${labels.length * dim * 4}`);
  let fd: number | null = null;
  return {
    size: labels.length, dim, labels,
    rows(start, n, scratch) {
      const out = scratch.subarray(0, n * dim);
      fd ??= fs.openSync(file, 'r');
      const target = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      let done = 0;
      while (done < target.length) {
        const got = fs.readSync(fd, target, done, target.length - done, start * dim * 4 + done);
        if (got === 0) throw new Error(`knn: ${file} ended early at byte ${start * dim * 4 + done}`);
        done += got;
      }
      return out;
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

/** Appends float32 feature rows to a features file (for featureFileBank). */
export class FeatureFileWriter {
  private readonly fd: number;
  private rowsWritten = 0;

  constructor(readonly file: string, readonly dim: number) {
    this.fd = fs.openSync(file, 'w');
  }

  append(features: Float32Array): void {
    if (features.length % this.dim !== 0) throw new RangeError(`FeatureFileWriter: ${features.length} values are not whole rows of ${this.dim}`);
    const bytes = new Uint8Array(features.buffer, features.byteOffset, features.byteLength);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    this.rowsWritten += features.length / this.dim;
  }

  /** Closes the file; its rows, in append order, belong to `labels`. */
  close(labels: Int32Array): FeatureBank {
    fs.closeSync(this.fd);
    if (labels.length !== this.rowsWritten) throw new RangeError(`FeatureFileWriter: ${this.rowsWritten} rows written, ${labels.length} labels given`);
    return featureFileBank(this.file, this.dim, labels);
  }

  /** Closes the file without using it (on an error path). */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

export interface KnnOptions {
  /** [bankSize, dim] row-major train features (any scale: they are L2-normalised in the graph)... */
  bankFeatures?: Float32Array;
  /** Class of every bank entry, 0..numClasses-1 (with bankFeatures). */
  bankLabels?: Int32Array;
  /** ... or the bank as a FeatureBank (in memory or a features file), instead of the two above. */
  bank?: FeatureBank;
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
  /** Bank entries per graph run (default: 131072, at most BANK_CHUNK_BYTES of features; raised to k). */
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

function resolveBank(o: KnnOptions): FeatureBank {
  if (o.bank && (o.bankFeatures || o.bankLabels)) throw new RangeError('knn: give either bank or bankFeatures + bankLabels, not both');
  if (o.bank) {
    if (o.bank.dim !== o.dim) throw new RangeError(`knn: bank dim ${o.bank.dim} differs from dim ${o.dim}`);
    return o.bank;
  }
  if (!o.bankFeatures || !o.bankLabels) throw new RangeError('knn: no bank (bank, or bankFeatures + bankLabels)');
  return inMemoryBank(o.bankFeatures, o.bankLabels, o.dim);
}

function validate(o: KnnOptions, bank: FeatureBank, k: number, temperature: number, queryChunk: number, bankChunk: number): void {
  const { dim, numClasses } = o;
  if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`knn: dim ${dim} must be an integer >= 1`);
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`knn: numClasses ${numClasses} must be an integer >= 1`);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`knn: k ${k} must be an integer >= 1`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new RangeError(`knn: temperature ${temperature} must be > 0`);
  if (!(Number.isInteger(queryChunk) && queryChunk >= 1)) throw new RangeError(`knn: queryChunk ${queryChunk} must be an integer >= 1`);
  if (!(Number.isInteger(bankChunk) && bankChunk >= 1)) throw new RangeError(`knn: bankChunk ${bankChunk} must be an integer >= 1`);
  if (bank.size === 0) throw new RangeError('knn: the bank is empty');
  if (o.queryFeatures.length !== o.queryLabels.length * dim) {
    throw new RangeError(`knn: queryFeatures holds ${o.queryFeatures.length} values, ${o.queryLabels.length} labels x dim ${dim} need ${o.queryLabels.length * dim}`);
  }
  checkLabels(bank.labels, numClasses, 'bankLabels');
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

/**
 * Weighted kNN accuracy of `queryFeatures` against the bank (see the module doc for ties and k).
 *
 * The bank is read once, chunk by chunk, in its order; every query chunk is scored against the
 * chunk and merged into its running top k. Memory: one bank chunk (≤ BANK_CHUNK_BYTES) and ORT's normalised copies of it, the
 * running top k of every query (querySize·k·8 bytes: 80 MB for ImageNet's 50 000 queries at
 * k 200), the queries themselves and one queryChunk x bankChunk similarity block inside ORT —
 * never the whole bank when it comes from a features file. Measured (scripts/knn-scale.js) on the
 * shared 2-core CPU machine with a synthetic ImageNet1k-shaped file bank, 1 281 167 x 2048 float32
 * (10.5 GB), k 200, 256 queries, one ORT thread: 159 s, peak resident memory 611 MiB (212 MiB
 * before the kNN). Time grows with bank x queries (~50 s per 1000 queries per 100 000 rows on one
 * CPU thread), memory does not grow with the bank.
 */
export async function knnClassify(o: KnnOptions): Promise<KnnResult> {
  const kAsked = o.k ?? KNN_DEFAULTS.k;
  const temperature = o.temperature ?? KNN_DEFAULTS.temperature;
  const queryChunk = o.queryChunk ?? KNN_DEFAULTS.queryChunk;
  const bank = resolveBank(o);
  const bankChunkAsked = o.bankChunk ?? Math.max(1, Math.min(KNN_DEFAULTS.bankChunk, Math.floor(BANK_CHUNK_BYTES / (4 * o.dim))));
  validate(o, bank, kAsked, temperature, queryChunk, bankChunkAsked);
  const { dim, numClasses } = o;
  const bankSize = bank.size;
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
    // Running top k of every query (similarities and neighbour labels), bank order preserved on ties.
    const topSims = new Float32Array(querySize * k);
    const topLabels = new Int32Array(querySize * k);
    const scratch = new Float32Array(bankChunk * dim);
    const paddedLabels = new Int32Array(bankChunk);
    for (let start = 0; start < bankSize; start += bankChunk) {
      const n = Math.min(bankChunk, bankSize - start);
      let features = bank.rows(start, n, scratch);
      let labels = bank.labels.subarray(start, start + n);
      if (n < bankChunk) {
        // Only the bank's last chunk is short; its padding rows are masked to −∞ in the graph.
        if (features.buffer !== scratch.buffer) scratch.set(features);
        scratch.fill(0, n * dim);
        features = scratch;
        paddedLabels.set(labels);
        paddedLabels.fill(0, n);
        labels = paddedLabels;
      }
      const feeds = {
        bank: new ort.Tensor('float32', features, [bankChunk, dim]),
        bank_labels: new ort.Tensor('int32', labels, [bankChunk]),
        bank_count: new ort.Tensor('int64', BigInt64Array.of(BigInt(n)), []),
      };
      for (let qStart = 0; qStart < querySize; qStart += queryChunk) {
        const q = Math.min(queryChunk, querySize - qStart);
        const queries = new ort.Tensor('float32', o.queryFeatures.subarray(qStart * dim, (qStart + q) * dim), [q, dim]);
        const out = await chunk.run({ queries, ...feeds });
        const running = { sims: topSims.subarray(qStart * k, (qStart + q) * k), labels: topLabels.subarray(qStart * k, (qStart + q) * k) };
        if (start === 0) {
          running.sims.set(out.sims.data as Float32Array);
          running.labels.set(out.labels.data as Int32Array);
        } else {
          const merged = await merge.run({
            sims: new ort.Tensor('float32', running.sims, [q, k]), labels: new ort.Tensor('int32', running.labels, [q, k]),
            chunk_sims: out.sims, chunk_labels: out.labels,
          });
          running.sims.set(merged.merged_sims.data as Float32Array);
          running.labels.set(merged.merged_labels.data as Int32Array);
        }
      }
    }

    let top1Hits = 0;
    let top5Hits = 0;
    for (let qStart = 0; qStart < querySize; qStart += queryChunk) {
      const q = Math.min(queryChunk, querySize - qStart);
      const voted = await vote.run({
        sims: new ort.Tensor('float32', topSims.subarray(qStart * k, (qStart + q) * k), [q, k]),
        labels: new ort.Tensor('int32', topLabels.subarray(qStart * k, (qStart + q) * k), [q, k]),
        query_labels: new ort.Tensor('int32', o.queryLabels.subarray(qStart, qStart + q), [q]),
      });
      predictions.set(voted.predictions.data as Int32Array, qStart);
      top1Hits += countOnes(voted.top1_hit.data as Uint8Array);
      top5Hits += countOnes(voted.top5_hit.data as Uint8Array);
    }
    return { top1: top1Hits / querySize, top5: top5Hits / querySize, predictions, k };
  } finally {
    bank.close?.();
    await Promise.all([chunk.release(), merge.release(), vote.release()]);
  }
}
