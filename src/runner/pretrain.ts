import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { applyViews, presetFromConfig, roundHalfEven, sampleViews, VIEW_PARAMS, type AugmentPreset } from '../augment';
import { configHash, type ResolvedConfig } from '../config';
import { EpochSampler, type SamplerState } from '../data/sampler';
import { loadDataset, type LoadedDataset } from '../data';
import { Rng, type RngState } from '../data/rng';
import {
  buildInferenceModel, buildTrainStep, createSession, embed, exportBackbone, loadCheckpoint, restoreState, saveCheckpoint,
  TrainStepRunner, type HostData, type InferenceModel, type TrainStepModel,
} from '../engine';
import { UserError } from '../errors';
import { knnClassify } from '../eval/knn';
import { methodFor, type Method, type MethodInstance, type SchedulePoint } from '../methods';
import { createBackbone, initParameters, type BufferSpec, type Module, type ParamSpec } from '../nn';
import { createOptimizer, LrSchedule, scaleLr } from '../optim';
import { writeFileAtomic } from '../util/atomic';
import type { JsonValue, Position, StepResult, Training } from './training';

/**
 * The real Training: one config's data, augmentation, method and optimizer compiled into a single
 * training-step ONNX model and run step by step (METHODS.md §1.0 docs-script conventions).
 *
 * Step: the sampler's next batch (shuffled, drop_last) → uint8 images [B, H, W, C] → per-sample
 * view parameters drawn from the run's 'augment' stream → one session.run that augments, runs the
 * method's networks and loss, differentiates and updates (see engine/train-step.ts).
 *
 * Randomness is all TypeScript-side and seeded from the run seed: parameters from fork('init'),
 * batches from the sampler's own fork, views from fork('augment'), method inputs from
 * fork('method'). Every stream's position and the sampler's go into the checkpoint with the
 * state tensors, so a resumed run feeds the graph exactly what the uninterrupted run would have.
 *
 * Grayscale datasets (Fashion-MNIST): the views stay 1-channel and the backbone's stem takes one
 * channel. Replicating to RGB would change nothing the augmentations do (saturation, hue and
 * grayscale are identities on gray pixels) but triple the augmentation and stem work; the
 * normalisation is the dataset's own mean/std (augment/presets.ts FASHION_MNIST_NORMALIZATION).
 *
 * Bitwise resume on CPU relies on ORT running the same kernels with the same partitioning in both
 * processes: sequential execution mode and a fixed intra-op thread count (`threads`, default every
 * core of the machine; runs compared bitwise must use the same count).
 */

export interface PretrainOptions {
  /** Seed of the dataset subset: the config's base seed, so every seed of n_runs sees the same images. */
  dataSeed: number;
  /** Intra-op threads of the ORT sessions (default: every core). */
  threads?: number;
  /** Data-loading messages (cache building). Default stderr. */
  log?: (line: string) => void;
  /** Method implementation to use instead of the registry's entry for `method.name` (experiments, tests). */
  method?: Method;
}

export const DATA_MANIFEST_FILE = 'data.json';
const EVAL_CHUNK_IMAGES = 4096;

/** The images the kNN bank and queries are embedded from (METHODS.md §3.3 "kNN bank / test"). */
interface EvalImages {
  train: LoadedDataset;
  test: LoadedDataset;
  /** Center crop applied after loading (resize-center-crop with eval_resize > input_size); null = none. */
  crop: number | null;
}

interface CheckpointExtra {
  runner: JsonValue;
  methodRng: RngState;
}

function centerCrop(images: Uint8Array, count: number, h: number, w: number, c: number, size: number): Uint8Array {
  // torchvision CenterCrop: top = int(round((h − size) / 2)).
  const top = roundHalfEven((h - size) / 2);
  const left = roundHalfEven((w - size) / 2);
  const out = new Uint8Array(count * size * size * c);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < size; y++) {
      const from = ((i * h + top + y) * w + left) * c;
      out.set(images.subarray(from, from + size * c), (i * size + y) * size * c);
    }
  }
  return out;
}

async function loadEvalImages(config: ResolvedConfig, train: LoadedDataset, test: LoadedDataset, opts: PretrainOptions): Promise<EvalImages> {
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
 * Evaluations this Training performs: online kNN on the backbone's own feature (pooled map for
 * ResNets, class token for ViTs). Anything else configured is refused up front rather than
 * silently missing from the results.
 */
function checkEvaluations(config: ResolvedConfig): void {
  const e = config.eval;
  const unsupported = [
    e.online_linear && 'eval.online_linear: true',
    e.linear.enabled && 'eval.linear.enabled: true',
    e.finetune.enabled && 'eval.finetune.enabled: true',
  ].filter(Boolean);
  if (unsupported.length) throw new UserError(`${unsupported.join(', ')}: not part of \`ssl-bench run\` pretraining in this build; set to false (kNN is the online evaluation)`);
  const vit = config.backbone.name.startsWith('vit');
  const natural = vit ? 'class-token' : 'pooled';
  if (e.knn.feature !== 'default' && e.knn.feature !== natural) {
    throw new UserError(`eval.knn.feature: '${e.knn.feature}' is not available for ${config.backbone.name}; allowed: default, ${natural}`);
  }
}

/** Parameter and buffer entries of every network, the EMA pairs and the initial values. */
function assembleState(method: MethodInstance, runRng: Rng) {
  const trainable: ParamSpec[] = [];
  const frozen: ParamSpec[] = [];
  const buffers: BufferSpec[] = [];
  const emaPairs: { target: ParamSpec; source: string }[] = [];
  const initRng = runRng.fork('init');
  const initial = new Map<string, HostData>();
  const prefixes = new Set<string>();
  for (const net of method.networks) {
    if (prefixes.has(net.prefix)) throw new Error(`method networks: prefix '${net.prefix}' is used twice`);
    const params = net.module.parameters(net.prefix);
    const bufs = net.module.buffers(net.prefix);
    const rename = (name: string, from: string) => `${from}${name.slice(net.prefix.length)}`;
    if (net.role === 'trained') trainable.push(...params);
    else if (net.role === 'frozen') frozen.push(...params);
    else {
      if (!net.emaOf || !prefixes.has(net.emaOf)) throw new Error(`method network '${net.prefix}': emaOf must name a network declared before it`);
      for (const p of params) emaPairs.push({ target: p, source: rename(p.name, net.emaOf) });
    }
    buffers.push(...bufs);
    prefixes.add(net.prefix);
    if (net.initFrom !== undefined) {
      const from = net.initFrom;
      if (!prefixes.has(from)) throw new Error(`method network '${net.prefix}': initFrom must name a network declared before it`);
      for (const s of [...params, ...bufs]) {
        const source = initial.get(rename(s.name, from));
        if (!source) throw new Error(`method network '${net.prefix}': '${s.name}' has no counterpart in '${from}'`);
        initial.set(s.name, source.slice());
      }
    } else {
      for (const [name, value] of initParameters([...params, ...bufs], initRng)) initial.set(name, value);
    }
  }
  for (const s of method.state ?? []) {
    buffers.push({ name: s.name, shape: s.shape, dtype: s.dtype, init: { type: 'constant', value: 0 } });
    initial.set(s.name, s.initial(runRng.fork(`state:${s.name}`)));
  }
  return { trainable, frozen, buffers, emaPairs, initial };
}

function ortTensor(dtype: 'float32' | 'int64' | 'int32', data: Float32Array | BigInt64Array | Int32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor(dtype, data as never, dims);
}

export class Pretraining implements Training {
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
  private globalStep = 0;
  private augmentRng: Rng;
  private methodRng: Rng;
  private readonly sampler: EpochSampler;
  private readonly batchBuffer: Uint8Array;
  private readonly baseLr: number;
  private readonly schedule: LrSchedule;
  private inference: { model: InferenceModel; session: ort.InferenceSession } | null = null;

  private constructor(
    private readonly config: ResolvedConfig,
    private readonly train: LoadedDataset,
    private readonly evalImages: EvalImages,
    private readonly preset: AugmentPreset,
    private readonly method: MethodInstance,
    private readonly backboneModule: Module,
    readonly model: TrainStepModel,
    readonly runner: TrainStepRunner,
    runRng: Rng,
    private readonly threads: number | undefined,
  ) {
    const t = config.train;
    this.totalEpochs = t.epochs;
    this.stepsPerEpoch = Math.floor(train.n / t.batch_size);
    this.sampler = new EpochSampler({ n: train.n, batchSize: t.batch_size, seed: config.seed, shuffle: true, dropLast: true });
    this.batchBuffer = new Uint8Array(t.batch_size * train.height * train.width * train.channels);
    this.augmentRng = runRng.fork('augment');
    this.methodRng = runRng.fork('method');
    this.baseLr = scaleLr(t.optimizer.lr, t.batch_size, t.lr_scaling.reference_batch_size, t.lr_scaling.rule);
    this.schedule = new LrSchedule(t.schedule, t.epochs, this.stepsPerEpoch);
  }

  static async create(config: ResolvedConfig, runDir: string, opts: PretrainOptions): Promise<Pretraining> {
    checkEvaluations(config);
    const t = config.train;
    const load = { seed: opts.dataSeed, log: opts.log };
    const train = await loadDataset(config.data, 'train', load);
    const test = await loadDataset(config.data, 'test', load);
    if (train.n < t.batch_size) {
      throw new UserError(`train.batch_size: ${t.batch_size} is larger than the ${train.n} training images of ${config.data.dataset}/${config.data.train_split} (the last incomplete batch is dropped); use at most ${train.n}`);
    }
    const evalImages = await loadEvalImages(config, train, test, opts);
    writeFileAtomic(path.join(runDir, DATA_MANIFEST_FILE), `${JSON.stringify({
      train: train.manifest, test: test.manifest,
      knn: evalImages.train === train ? null : { train: evalImages.train.manifest, test: evalImages.test.manifest, center_crop: evalImages.crop },
    }, null, 2)}\n`);

    const preset = presetFromConfig(config, { inputChannels: train.channels, singleChannel: 'gray' });
    const backbone = createBackbone(config.backbone.name, {
      width: config.backbone.width, inChannels: preset.outputChannels, imageSize: config.augmentation.input_size,
      splitBn: config.backbone.split_bn > 1 ? config.backbone.split_bn : 1,
    });
    const method = (opts.method ?? methodFor(config.method.name)).create({ config, params: config.method.params, backbone, batchSize: t.batch_size });
    if (preset.views.length !== method.views) {
      throw new UserError(`augmentation.preset: ${preset.id} gives ${preset.views.length} views, method ${config.method.name} consumes ${method.views}; choose a preset (or n_views override) with ${method.views}`);
    }
    if (method.networks.some((n) => n.role === 'ema') && !method.emaMomentum) throw new Error(`method ${config.method.name}: has an EMA network but no emaMomentum schedule`);
    const runRng = new Rng(config.seed);
    const state = assembleState(method, runRng);
    const b = t.batch_size;
    const model = buildTrainStep({
      name: `${config.method.name}-${config.backbone.name}`,
      trainable: state.trainable, frozen: state.frozen, buffers: state.buffers, emaPairs: state.emaPairs,
      optimizer: createOptimizer(t.optimizer),
      excludeNormBiasFromWd: t.optimizer.exclude_norm_bias_from_wd,
      gradClipNorm: t.grad_clip_norm,
      build(step) {
        const images = step.input('images', [b, train.height, train.width, train.channels], 'uint8');
        const params = preset.views.map((_, k) => step.input(`augment.view${k}`, [b, VIEW_PARAMS]));
        return method.buildLoss(step, applyViews(step.graph, images, params, preset));
      },
    });
    const runner = await TrainStepRunner.create(model, state.initial, { device: config.device, threads: opts.threads, executionMode: 'sequential' });
    return new Pretraining(config, train, evalImages, preset, method, backbone.module, model, runner, runRng, opts.threads);
  }

  position(): Position {
    return { epoch: Math.floor(this.globalStep / this.stepsPerEpoch), step: this.globalStep % this.stepsPerEpoch, globalStep: this.globalStep };
  }

  private schedulePoint(): SchedulePoint {
    const pos = this.position();
    return { epoch: pos.epoch, totalEpochs: this.totalEpochs, globalStep: pos.globalStep, totalSteps: this.totalEpochs * this.stepsPerEpoch };
  }

  /** The step's data feeds: images and view parameters (and the method's own random inputs). */
  private nextFeeds(): Record<string, ort.Tensor> {
    const b = this.config.train.batch_size;
    const { height, width, channels } = this.train;
    let indices = this.sampler.nextBatch();
    // null marks the end of an epoch; the sampler then stands at the next epoch's first batch.
    if (indices === null) indices = this.sampler.nextBatch();
    if (indices === null || indices.length !== b) throw new Error(`sampler returned ${indices?.length ?? 'no'} indices, expected ${b}`);
    this.train.readBatch(indices, this.batchBuffer);
    const feeds: Record<string, ort.Tensor> = { images: new ort.Tensor('uint8', this.batchBuffer, [b, height, width, channels]) };
    sampleViews(this.augmentRng, this.preset, b, height, width).forEach((v, k) => {
      feeds[`augment.view${k}`] = new ort.Tensor('float32', v.params, [b, VIEW_PARAMS]);
    });
    for (const [name, input] of Object.entries(this.method.sampleInputs?.(this.methodRng, b, this.schedulePoint()) ?? {})) {
      feeds[name] = ortTensor(input.dtype, input.data, input.dims);
    }
    return feeds;
  }

  async runStep(): Promise<StepResult> {
    const pos = this.position();
    const dataStart = performance.now();
    const feeds = this.nextFeeds();
    const dataSeconds = (performance.now() - dataStart) / 1000;
    const lr = this.baseLr * this.schedule.factor({ epoch: pos.epoch, stepInEpoch: pos.step });
    const emaMomentum = this.method.emaMomentum?.(this.schedulePoint());
    const { loss } = await this.runner.step(feeds, { lr, weightDecay: this.config.train.optimizer.weight_decay, emaMomentum });
    this.globalStep += 1;
    return { loss, lr, images: this.config.train.batch_size, dataSeconds };
  }

  private async inferenceSession(): Promise<{ model: InferenceModel; session: ort.InferenceSession }> {
    if (this.inference) return this.inference;
    const { channels, height, width } = this.evalImages.train;
    const crop = this.evalImages.crop;
    const model = buildInferenceModel(this.backboneModule, {
      name: 'knn-embed', prefix: this.method.evalBackbone,
      input: { format: 'uint8-nhwc', channels, height: crop ?? height, width: crop ?? width, ...this.preset.normalization },
    });
    const { session } = await createSession(model.modelBytes, this.runner.device, { threads: this.threads, executionMode: 'sequential' });
    this.inference = { model, session };
    return this.inference;
  }

  /** Eval-mode features of the images at `indices` of `source`, read and embedded in bounded chunks. */
  private async embedAll(source: LoadedDataset, indices: Int32Array): Promise<Float32Array> {
    const { model, session } = await this.inferenceSession();
    const { height, width, channels } = source;
    const crop = this.evalImages.crop;
    const shape = crop === null ? [height, width, channels] : [crop, crop, channels];
    const out = new Float32Array(indices.length * model.featureDim);
    for (let start = 0; start < indices.length; start += EVAL_CHUNK_IMAGES) {
      const chunk = indices.subarray(start, Math.min(start + EVAL_CHUNK_IMAGES, indices.length));
      let images = source.readBatch(chunk);
      if (crop !== null) images = centerCrop(images, chunk.length, height, width, channels, crop);
      const features = await embed(session, model, images, chunk.length, this.config.train.batch_size, shape, this.runner.state);
      out.set(features, start * model.featureDim);
    }
    return out;
  }

  async evaluate(): Promise<Record<string, number>> {
    const knn = this.config.eval.knn;
    if (!knn.enabled) return {};
    const { train, test } = this.evalImages;
    // Unlabeled images (STL-10 'unlabeled') cannot vote; the bank holds the labelled train images.
    const labelled = (s: LoadedDataset) => Int32Array.from({ length: s.n }, (_, i) => i).filter((i) => s.labels[i] >= 0);
    const bankIndices = labelled(train);
    const queryIndices = labelled(test);
    const bankFeatures = await this.embedAll(train, bankIndices);
    const queryFeatures = await this.embedAll(test, queryIndices);
    const { model } = await this.inferenceSession();
    const result = await knnClassify({
      bankFeatures, bankLabels: Int32Array.from(bankIndices, (i) => train.labels[i]),
      queryFeatures, queryLabels: Int32Array.from(queryIndices, (i) => test.labels[i]),
      dim: model.featureDim, numClasses: train.classes.length, k: knn.k, temperature: knn.temperature,
      device: this.runner.device, threads: this.threads,
    });
    return { knn_top1: result.top1, knn_top5: result.top5 };
  }

  async saveCheckpoint(file: string, runnerState: JsonValue): Promise<void> {
    const pos = this.position();
    const extra: CheckpointExtra = { runner: runnerState, methodRng: this.methodRng.state() };
    saveCheckpoint(file, this.runner.state, {
      step: pos.globalStep, epoch: pos.epoch, rng: this.augmentRng.state(), sampler: this.sampler.state(),
      configHash: configHash(this.config), extra: extra as unknown as Record<string, unknown>,
    });
  }

  async loadCheckpoint(file: string): Promise<JsonValue> {
    const ckpt = loadCheckpoint(file, { configHash: configHash(this.config) });
    restoreState(this.runner.state, ckpt, file);
    const { meta } = ckpt;
    const extra = meta.extra as unknown as CheckpointExtra | undefined;
    if (!extra || !meta.sampler) throw new UserError(`${file}: checkpoint has no training-loop state (written by another tool?); rerun with --force to start over`);
    this.globalStep = meta.step;
    this.augmentRng = Rng.fromState(meta.rng);
    this.methodRng = Rng.fromState(extra.methodRng);
    this.sampler.setState(meta.sampler as SamplerState);
    return extra.runner;
  }

  async exportBackbone(file: string): Promise<void> {
    exportBackbone(file, this.backboneModule, { get: (name) => (this.runner.state.has(name) ? this.runner.state.data(name) : undefined) }, {
      prefix: this.method.evalBackbone, channels: this.preset.outputChannels, imageSize: this.config.augmentation.input_size,
    });
  }

  deviceMemoryPeakBytes(): number | null {
    // onnxruntime-node exposes no allocator statistics for any EP; the runner then reports the
    // process's peak resident memory, labelled as such.
    return null;
  }

  describe(): { device: string; ortVersion: string; params: number } {
    const params = this.model.state.filter((e) => e.role === 'param').reduce((n, e) => n + e.shape.reduce((a, d) => a * d, 1), 0);
    return { device: this.runner.device, ortVersion: ort.env.versions.common ?? 'unknown', params };
  }
}

/** The TrainingFactory of `ssl-bench run`: see Pretraining. */
export function createTraining(config: ResolvedConfig, runDir: string, opts: PretrainOptions): Promise<Training> {
  return Pretraining.create(config, runDir, opts);
}
