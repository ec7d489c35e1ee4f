import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Normalization } from '../augment/presets';
import { centerCropBatch } from '../data/center-crop';
import type { ResolvedConfig } from '../config';
import { loadDataset, type LoadedDataset } from '../data';
import { buildInferenceModel, convLayoutOf, createSession, embed, type Device, type InferenceModel, type ResolvedDevice } from '../engine';
import { UserError } from '../errors';
import { FeatureFileWriter, inMemoryBank, knnClassify, type FeatureBank } from '../eval/knn';
import type { Module } from '../nn';
import { writeFileAtomic } from '../util/atomic';

/**
 * What every run evaluates its backbone on, shared by Pretraining and NoPretraining (the floors),
 * so a floor row and a method row are measured by the same code: the splits as the config selects
 * them (data.json records which images), the eval-transform images of the kNN bank and queries
 * (docs/methods.md §3.3), and the weighted kNN classifier on eval-mode backbone features (§5.1).
 */

export const DATA_MANIFEST_FILE = 'data.json';
const EVAL_CHUNK_IMAGES = 4096;

/**
 * A kNN bank larger than this is embedded into a features file and streamed from disk in chunks
 * (src/eval/knn.ts) instead of held in memory: ImageNet1k's 1.28M x 2048 float32 bank is 10.5 GB.
 */
export const IN_MEMORY_BANK_BYTES = 1024 ** 3;

/** The images the kNN bank and queries are embedded from (docs/methods.md §3.3 "kNN bank / test"). */
export interface EvalImages {
  train: LoadedDataset;
  test: LoadedDataset;
  /** Center crop applied after loading (resize-center-crop with eval_resize > input_size); null = none. */
  crop: number | null;
}

export interface RunData {
  train: LoadedDataset;
  test: LoadedDataset;
  evalImages: EvalImages;
}

export interface RunDataOptions {
  /** Seed of the dataset subset: the config's base seed, so every seed of n_runs sees the same images. */
  dataSeed: number;
  /** Data-loading messages (cache building). Default stderr. */
  log?: (line: string) => void;
}

async function loadEvalImages(config: ResolvedConfig, train: LoadedDataset, test: LoadedDataset, opts: RunDataOptions): Promise<EvalImages> {
  const a = config.augmentation;
  if (a.eval_transform === 'normalize') return { train, test, crop: null };
  const resize = a.eval_resize ?? a.input_size;
  if (resize < a.input_size) throw new UserError(`augmentation.eval_resize: ${resize} is smaller than the center crop augmentation.input_size ${a.input_size}; use a value >= ${a.input_size}`);
  const crop = resize > a.input_size ? a.input_size : null;
  if (resize === config.data.image_size) return { train, test, crop };
  const data = { ...config.data, image_size: resize };
  const load = { seed: opts.dataSeed, log: opts.log };
  return { train: await loadDataset(data, 'train', load), test: await loadDataset(data, 'test', load), crop };
}

/**
 * Evaluations a config may ask for that a run cannot perform are refused up front rather than
 * silently missing from the results: kNN uses the backbone's own feature (pooled map for ResNets,
 * class token for ViTs, the image for pixels); the online linear classifier needs every train
 * image labelled.
 */
function checkEvaluations(config: ResolvedConfig, train: LoadedDataset): void {
  const e = config.eval;
  if (e.online_linear && train.labels.some((label) => label < 0)) {
    throw new UserError(`eval.online_linear: true needs labelled training images, but ${config.data.dataset}/${config.data.train_split} has unlabelled ones; set eval.online_linear: false or use a labelled train split`);
  }
  const name = config.backbone.name;
  const natural = name.startsWith('vit') ? 'class-token' : name === 'pixels' ? null : 'pooled';
  if (e.knn.feature !== 'default' && e.knn.feature !== natural) {
    throw new UserError(`eval.knn.feature: '${e.knn.feature}' is not available for ${name}; allowed: default${natural === null ? '' : `, ${natural}`}`);
  }
}

/**
 * Labels are class indices in sorted folder-name order per split, so a test split with other class
 * folders than the train split (ImageNet val not sorted into class folders, a missing or extra class)
 * would score every query against the wrong labels: refused, naming the first difference.
 */
function checkSameClasses(config: ResolvedConfig, train: LoadedDataset, test: LoadedDataset): void {
  const a = train.classes;
  const b = test.classes;
  if (a.length === b.length && a.every((c, i) => c === b[i])) return;
  const onlyTrain = a.filter((c) => !b.includes(c));
  const onlyTest = b.filter((c) => !a.includes(c));
  const first = (xs: string[]): string => (xs.length === 0 ? 'none' : `${xs.slice(0, 3).map((x) => JSON.stringify(x)).join(', ')}${xs.length > 3 ? ` and ${xs.length - 3} more` : ''}`);
  throw new UserError(`data: ${config.data.dataset} splits ${config.data.train_split} (${a.length} classes) and ${config.data.test_split} (${b.length} classes) must have the same class folders; only in ${config.data.train_split}: ${first(onlyTrain)}; only in ${config.data.test_split}: ${first(onlyTest)} (ImageNet's val images must be sorted into <wnid>/ folders)`);
}

/** Loads the train and test splits and the kNN images, and records them in `<runDir>/data.json`. */
export async function loadRunData(config: ResolvedConfig, runDir: string, opts: RunDataOptions): Promise<RunData> {
  const load = { seed: opts.dataSeed, log: opts.log };
  const train = await loadDataset(config.data, 'train', load);
  const test = await loadDataset(config.data, 'test', load);
  checkSameClasses(config, train, test);
  checkEvaluations(config, train);
  const evalImages = await loadEvalImages(config, train, test, opts);
  writeFileAtomic(path.join(runDir, DATA_MANIFEST_FILE), `${JSON.stringify({
    train: train.manifest, test: test.manifest,
    knn: evalImages.train === train ? null : { train: evalImages.train.manifest, test: evalImages.test.manifest, center_crop: evalImages.crop },
  }, null, 2)}\n`);
  return { train, test, evalImages };
}

/** Indices of the labelled images of `source`: unlabelled ones (STL-10 'unlabeled') cannot vote or be scored. */
function labelledIndices(source: LoadedDataset): Int32Array {
  return Int32Array.from({ length: source.n }, (_, i) => i).filter((i) => source.labels[i] >= 0);
}

export interface EvaluatedBackbone {
  module: Module;
  /** Name prefix of its parameters and buffers in `state` (the method's eval backbone). */
  prefix: string;
  /** Parameter and buffer tensors by full name, read at every evaluation (the live training state). */
  state: { get(name: string): ort.Tensor };
}

export interface BackboneEvaluationOptions {
  config: ResolvedConfig;
  images: EvalImages;
  backbone: EvaluatedBackbone;
  /** Per-channel mean/std of the eval transform (the augmentation preset's normalisation). */
  normalization: Normalization;
  device: Device;
  threads?: number;
  /** Folder for a features-file bank (see IN_MEMORY_BANK_BYTES); default data.cache_dir. */
  scratchDir?: string;
  /** Bank size in bytes above which the bank goes to a features file (default IN_MEMORY_BANK_BYTES). */
  inMemoryBankBytes?: number;
}

/** Metrics computed on the eval-mode test features the kNN uses (the online linear classifier). */
export type QueryMetrics = (queryFeatures: Float32Array, queryLabels: Int32Array) => Promise<Record<string, number>>;

/**
 * The kNN evaluation of a backbone at its current state: eval mode, eval transform, labelled train
 * images as the bank, labelled test images as queries, k and temperature from eval.knn.
 */
export class BackboneEvaluation {
  private inference: { model: InferenceModel; session: ort.InferenceSession; device: ResolvedDevice } | null = null;

  constructor(private readonly o: BackboneEvaluationOptions) {
    // Checked before training, when the bank size is known: the reference's topk fails on such a k,
    // and a silently smaller k would publish a number measured with another protocol.
    const { knn } = o.config.eval;
    if (knn.enabled) {
      const bank = labelledIndices(o.images.train).length;
      if (knn.k > bank) {
        const { dataset, train_split: split } = o.config.data;
        throw new UserError(`eval.knn.k: ${knn.k} is larger than the kNN bank, the ${bank} labelled training images of ${dataset}/${split}${o.config.data.subset.per_class !== null || o.config.data.subset.fraction !== null ? ' (data.subset)' : ''}; use at most ${bank}`);
      }
    }
  }

  /** Builds the embedding session now (otherwise at the first evaluation); returns the device it runs on. */
  async open(): Promise<ResolvedDevice> {
    return (await this.inferenceSession()).device;
  }

  /** The embedding session's convolution layout (engine/conv-layout.ts), once open. */
  convLayout(): string | undefined {
    return this.inference ? convLayoutOf(this.inference.session) : undefined;
  }

  private async inferenceSession(): Promise<{ model: InferenceModel; session: ort.InferenceSession; device: ResolvedDevice }> {
    if (this.inference) return this.inference;
    const { channels, height, width } = this.o.images.train;
    const crop = this.o.images.crop;
    const model = buildInferenceModel(this.o.backbone.module, {
      name: 'knn-embed', prefix: this.o.backbone.prefix,
      input: { format: 'uint8-nhwc', channels, height: crop ?? height, width: crop ?? width, ...this.o.normalization },
    });
    const { session, device } = await createSession(model.modelBytes, this.o.device, { threads: this.o.threads, executionMode: 'sequential' });
    this.inference = { model, session, device };
    return this.inference;
  }

  /** Eval-mode features of the images at `indices` of `source`, read and embedded in bounded chunks, handed to `sink` in order. */
  private async embedChunks(source: LoadedDataset, indices: Int32Array, sink: (features: Float32Array, start: number) => void): Promise<void> {
    const { model, session } = await this.inferenceSession();
    const { height, width, channels } = source;
    const crop = this.o.images.crop;
    const shape = crop === null ? [height, width, channels] : [crop, crop, channels];
    for (let start = 0; start < indices.length; start += EVAL_CHUNK_IMAGES) {
      const chunk = indices.subarray(start, Math.min(start + EVAL_CHUNK_IMAGES, indices.length));
      let images = source.readBatch(chunk);
      if (crop !== null) images = centerCropBatch(images, chunk.length, height, width, channels, crop);
      sink(await embed(session, model, images, chunk.length, this.o.config.train.batch_size, shape, this.o.backbone.state), start);
    }
  }

  /** Eval-mode features of the images at `indices` of `source`, in memory. */
  async embedAll(source: LoadedDataset, indices: Int32Array): Promise<Float32Array> {
    const { model } = await this.inferenceSession();
    const out = new Float32Array(indices.length * model.featureDim);
    await this.embedChunks(source, indices, (features, start) => out.set(features, start * model.featureDim));
    return out;
  }

  /**
   * The kNN bank: in memory up to inMemoryBankBytes, else written chunk by chunk to a features file
   * in scratchDir (removed by the returned `dispose`).
   */
  private async embedBank(source: LoadedDataset, indices: Int32Array): Promise<{ bank: FeatureBank; dispose: () => void }> {
    const { model } = await this.inferenceSession();
    const labels = Int32Array.from(indices, (i) => source.labels[i]);
    const dim = model.featureDim;
    if (indices.length * dim * 4 <= (this.o.inMemoryBankBytes ?? IN_MEMORY_BANK_BYTES)) {
      return { bank: inMemoryBank(await this.embedAll(source, indices), labels, dim), dispose: () => undefined };
    }
    const dir = this.o.scratchDir ?? this.o.config.data.cache_dir;
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `knn-bank-${process.pid}-${Date.now()}.f32`);
    const dispose = (): void => fs.rmSync(file, { force: true });
    const writer = new FeatureFileWriter(file, dim);
    try {
      await this.embedChunks(source, indices, (features) => writer.append(features));
      return { bank: writer.close(labels), dispose };
    } catch (err) {
      writer.abort();
      dispose();
      throw err;
    }
  }

  /**
   * kNN top-1/top-5 on the test split (when eval.knn is enabled) plus `more` on the same test
   * features (when given); nothing is embedded when neither is asked for.
   */
  async evaluate(more?: QueryMetrics): Promise<Record<string, number>> {
    const { knn } = this.o.config.eval;
    const out: Record<string, number> = {};
    if (!knn.enabled && !more) return out;
    const { train, test } = this.o.images;
    const queryIndices = labelledIndices(test);
    const queryLabels = Int32Array.from(queryIndices, (i) => test.labels[i]);
    const queryFeatures = await this.embedAll(test, queryIndices);
    if (knn.enabled) {
      const { bank, dispose } = await this.embedBank(train, labelledIndices(train));
      try {
        const { model, device } = await this.inferenceSession();
        const result = await knnClassify({
          bank, queryFeatures, queryLabels,
          dim: model.featureDim, numClasses: train.classes.length, k: knn.k, temperature: knn.temperature,
          device, threads: this.o.threads,
        });
        out.knn_top1 = result.top1;
        out.knn_top5 = result.top5;
      } finally {
        dispose();
      }
    }
    if (more) Object.assign(out, await more(queryFeatures, queryLabels));
    return out;
  }
}
