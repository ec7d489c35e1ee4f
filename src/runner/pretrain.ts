import * as ort from 'onnxruntime-node';
import { applyViews, sampleViews, VIEW_PARAMS, type AugmentPreset } from '../augment';
import { configHash, type ResolvedConfig } from '../config';
import { BatchPrefetcher, peekNextBatch } from '../data/prefetch';
import { EpochSampler, type SamplerState } from '../data/sampler';
import type { LoadedDataset } from '../data';
import { Rng, type RngState } from '../data/rng';
import {
  buildTrainStep, createSession, exportBackbone, loadCheckpoint, restoreState, saveCheckpoint,
  TrainStepRunner, type HostData, type TrainStepModel,
} from '../engine';
import { convLayoutOf } from '../engine/session';
import { UserError } from '../errors';
import { buildClassifierEvalModel, evaluateClassifier, type ClassifierEvalModel } from '../eval/classifier-eval';
import { OnlineLinearClassifier } from '../eval/online-linear';
import { runPostTrainingEvals } from '../eval/probe-protocol';
import { add, type Tensor } from '../graph';
import { methodFor, type Method, type MethodInstance, type SchedulePoint } from '../methods';
import { initParameters, type Module } from '../nn';
import type { MetricValue } from '../report/summary';
import { createOptimizer, LrSchedule, scaleLr } from '../optim';
import { BackboneEvaluation, loadRunData, type EvalImages } from './backbone-evaluation';
import { AssembledMethod } from './assembled-method';
import { checkRunnable, prepareMethod } from './prepare-method';
import { labelsForFeatures, withEvalBackboneFeatures } from './online-features';
import type { JsonValue, Position, StepResult, Training } from './training';

/**
 * The real Training: one config's data, augmentation, method and optimizer compiled into a single
 * training-step ONNX model and run step by step (docs/methods.md §1.0 docs-script conventions).
 *
 * Step: the sampler's next batch (shuffled, drop_last) → uint8 images [B, H, W, C] → per-sample
 * view parameters drawn from the run's 'augment' stream → one session.run that augments, runs the
 * method's networks and loss, differentiates and updates (see engine/train-step.ts).
 *
 * The next step's images are read while a step runs, on a worker thread (data/prefetch.ts,
 * `data.prefetch`, default on): onnxruntime-node 1.30's session.run calls the native Run
 * synchronously on the JS thread, so JS work scheduled "during" a run only runs before or after
 * it. The worker reads sources whose images are raw records of one file (decoded caches, resized
 * binaries); in-memory datasets (Fashion-MNIST, CIFAR-10) are copied on this thread, where a batch
 * costs less than a round trip to a worker would (256 CIFAR-10 images: 0.17 ms to copy; taking a
 * prefetched batch and posting the next read: 0.3-1 ms, scripts/data-throughput.js). Everything random (sampler order, view
 * parameters, method inputs) is still drawn here in the same order, so prefetch changes no value.
 * What this thread still spends on input per step is reported as the step's dataSeconds.
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
 * Evaluations: kNN (shared with the floors, runner/backbone-evaluation.ts) and the online linear
 * classifier at epoch ends (evaluate), linear probe and
 * fine-tune after pretraining (postTrainingEvals, src/eval/probe-protocol.ts), all on the method's
 * eval backbone. The online linear classifier (docs/methods.md §5.2, eval.online_linear) trains inside
 * the step on the detached training-mode backbone features of view 0, or of every view for methods
 * whose spec says `onlineClassifierViews: 'all'` (SimCLR/DCL/DCLW/BarlowTwins/VICReg, as the
 * reference; labels repeated per view), with the batch's labels as a data input,
 * its cross-entropy added to the SSL loss, the same optimizer and LR, weight decay 0; metrics.csv's
 * loss stays the SSL loss, as the reference logs it. It is scored on the test split at the epochs
 * the runner evaluates (eval.knn.every, and the last), sharing the kNN's eval-mode test features.
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

/** Step metric holding the method's own loss when the online classifier's loss is added to it. */
const SSL_LOSS_METRIC = 'ssl_loss';

interface CheckpointExtra {
  runner: JsonValue;
  methodRng: RngState;
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
  private readonly evaluation: BackboneEvaluation;
  private onlineEval: { model: ClassifierEvalModel; session: ort.InferenceSession } | null = null;
  private readonly batchLabels: BigInt64Array;
  /** Reads the next step's images on a worker thread during this step's session.run; null: read them in nextFeeds. */
  private readonly prefetcher: BatchPrefetcher | null;

  private constructor(
    private readonly config: ResolvedConfig,
    private readonly train: LoadedDataset,
    private readonly test: LoadedDataset,
    private readonly evalImages: EvalImages,
    private readonly preset: AugmentPreset,
    private readonly assembled: AssembledMethod,
    private readonly backboneModule: Module,
    private readonly featureDim: number,
    private readonly online: OnlineLinearClassifier | null,
    readonly model: TrainStepModel,
    readonly runner: TrainStepRunner,
    runRng: Rng,
    private readonly threads: number | undefined,
  ) {
    const t = config.train;
    this.totalEpochs = t.epochs;
    this.stepsPerEpoch = Math.floor(train.n / t.batch_size);
    this.sampler = new EpochSampler({ n: train.n, batchSize: t.batch_size, seed: config.seed, shuffle: true, dropLast: true });
    this.batchLabels = new BigInt64Array(t.batch_size);
    this.prefetcher = config.data.prefetch ? BatchPrefetcher.for(train, t.batch_size) : null;
    this.batchBuffer = new Uint8Array(this.prefetcher === null ? t.batch_size * train.height * train.width * train.channels : 0);
    this.augmentRng = runRng.fork('augment');
    this.methodRng = runRng.fork('method');
    this.baseLr = scaleLr(t.optimizer.lr, t.batch_size, t.lr_scaling.reference_batch_size, t.lr_scaling.rule);
    this.schedule = new LrSchedule(t.schedule, t.epochs, this.stepsPerEpoch);
    this.evaluation = new BackboneEvaluation({
      config, images: evalImages, backbone: { module: backboneModule, prefix: assembled.method.evalBackbone, state: runner.state },
      normalization: preset.normalization, device: runner.device, threads,
    });
  }

  static async create(config: ResolvedConfig, runDir: string, opts: PretrainOptions): Promise<Pretraining> {
    const t = config.train;
    if (!opts.method) checkRunnable(config);
    const { train, test, evalImages } = await loadRunData(config, runDir, opts);
    if (train.n < t.batch_size) {
      throw new UserError(`train.batch_size: ${t.batch_size} is larger than the ${train.n} training images of ${config.data.dataset}/${config.data.train_split} (the last incomplete batch is dropped); use at most ${train.n}`);
    }

    const prepared = prepareMethod(config, { inputChannels: train.channels, method: opts.method });
    const { preset, backbone } = prepared;
    const method = prepared.method!;
    const runRng = new Rng(config.seed);
    const state = new AssembledMethod(method, runRng);
    const online = config.eval.online_linear ? new OnlineLinearClassifier(backbone.featureDim, train.classes.length) : null;
    const onlineViews = online === null ? 'first' : (opts.method ?? methodFor(config.method.name)).onlineClassifierViews ?? 'first';
    const onlineParams = online?.parameters() ?? [];
    for (const [name, value] of initParameters(onlineParams, runRng.fork('online-linear'))) state.initial.set(name, value);
    const b = t.batch_size;
    const model = buildTrainStep({
      name: `${config.method.name}-${config.backbone.name}`,
      trainable: [...state.trainable, ...onlineParams], frozen: state.frozen, buffers: state.buffers,
      emaPairs: state.emaPairs, teachers: state.teachers, groups: state.groups, transforms: state.transforms, scalars: state.scalars,
      optimizer: createOptimizer(t.optimizer),
      excludeNormBiasFromWd: t.optimizer.exclude_norm_bias_from_wd,
      noWeightDecay: onlineParams.map((p) => p.name),
      gradClipNorm: t.grad_clip_norm,
      build(step) {
        const images = step.input('images', [b, train.height, train.width, train.channels], 'uint8');
        const params = preset.views.map((_, k) => step.input(`augment.view${k}`, [b, VIEW_PARAMS]));
        const views = applyViews(step.graph, images, params, preset);
        if (online === null) return method.buildLoss(step, views);
        const labels = step.input('labels', [b], 'int64');
        const allViews = onlineViews === 'all';
        const { result, features } = withEvalBackboneFeatures(backbone.module, method.evalBackbone, allViews ? 'all' : views[0], () => method.buildLoss(step, views));
        if (features === null) {
          throw new UserError(`eval.online_linear: true: method ${config.method.name} does not run its eval backbone '${method.evalBackbone}' on ${allViews ? 'its views' : 'view 0'} in training mode, so there are no features for the online classifier; set eval.online_linear: false`);
        }
        const classifier = online.addToStep(step, features, labelsForFeatures(labels, features));
        return { loss: add(result.loss, classifier.loss), metrics: { ...result.metrics, [SSL_LOSS_METRIC]: result.loss, online_linear_loss: classifier.loss } };
      },
    });
    const runner = await TrainStepRunner.create(model, state.initial, { device: config.device, threads: opts.threads, executionMode: 'sequential' });
    return new Pretraining(config, train, test, evalImages, preset, state, backbone.module, backbone.featureDim, online, model, runner, runRng, opts.threads);
  }

  private get method(): MethodInstance {
    return this.assembled.method;
  }

  position(): Position {
    return { epoch: Math.floor(this.globalStep / this.stepsPerEpoch), step: this.globalStep % this.stepsPerEpoch, globalStep: this.globalStep };
  }

  private schedulePoint(): SchedulePoint {
    const pos = this.position();
    return { epoch: pos.epoch, totalEpochs: this.totalEpochs, globalStep: pos.globalStep, totalSteps: this.totalEpochs * this.stepsPerEpoch };
  }

  /** The step's data feeds: images and view parameters (and the method's own random inputs). */
  private async nextFeeds(): Promise<Record<string, ort.Tensor>> {
    const b = this.config.train.batch_size;
    const { height, width, channels } = this.train;
    let indices = this.sampler.nextBatch();
    // null marks the end of an epoch; the sampler then stands at the next epoch's first batch.
    if (indices === null) indices = this.sampler.nextBatch();
    if (indices === null || indices.length !== b) throw new Error(`sampler returned ${indices?.length ?? 'no'} indices, expected ${b}`);
    let pixels = this.batchBuffer;
    if (this.prefetcher !== null) {
      pixels = await this.prefetcher.take(indices);
      const next = this.globalStep + 1 < this.totalEpochs * this.stepsPerEpoch ? peekNextBatch(this.sampler) : null;
      if (next !== null) this.prefetcher.prefetch(next);
    } else {
      this.train.readBatch(indices, pixels);
    }
    const feeds: Record<string, ort.Tensor> = { images: new ort.Tensor('uint8', pixels, [b, height, width, channels]) };
    if (this.online !== null) {
      for (let k = 0; k < b; k++) this.batchLabels[k] = BigInt(this.train.labels[indices[k]]);
      feeds.labels = new ort.Tensor('int64', this.batchLabels, [b]);
    }
    sampleViews(this.augmentRng, this.preset, b, height, width).forEach((v, k) => {
      feeds[`augment.view${k}`] = new ort.Tensor('float32', v.params, [b, VIEW_PARAMS]);
      // VICRegL's coordinate grids, for a method that declares them (step.input('augment.grid<k>')).
      const side = this.preset.views[k].gridSize;
      if (v.grid && side !== null && this.model.inputNames.includes(`augment.grid${k}`)) feeds[`augment.grid${k}`] = new ort.Tensor('float32', v.grid, [b, side, side, 2]);
    });
    for (const [name, input] of Object.entries(this.method.sampleInputs?.(this.methodRng, b, this.schedulePoint()) ?? {})) {
      feeds[name] = ortTensor(input.dtype, input.data, input.dims);
    }
    return feeds;
  }

  async runStep(): Promise<StepResult> {
    const pos = this.position();
    const at = this.schedulePoint();
    await this.assembled.beforeStep(at, this.runner.state, this.methodRng);
    const dataStart = performance.now();
    const feeds = await this.nextFeeds();
    const dataSeconds = (performance.now() - dataStart) / 1000;
    const lr = this.baseLr * this.schedule.factor({ epoch: pos.epoch, stepInEpoch: pos.step });
    const scalars = this.assembled.stepScalars(at, { lr, weightDecay: this.config.train.optimizer.weight_decay });
    const { loss: optimised, metrics } = await this.runner.step(feeds, scalars);
    this.globalStep += 1;
    // With the online classifier the optimised loss adds its cross-entropy; the SSL loss is reported,
    // unless the sum is not finite (a diverged classifier must stop the run too).
    const loss = this.online !== null && Number.isFinite(optimised) ? metrics[SSL_LOSS_METRIC] : optimised;
    return { loss, lr, images: this.config.train.batch_size, dataSeconds };
  }

  private async onlineEvalSession(online: OnlineLinearClassifier): Promise<{ model: ClassifierEvalModel; session: ort.InferenceSession }> {
    if (this.onlineEval) return this.onlineEval;
    const model = buildClassifierEvalModel(online.head, online.prefix, online.featureDim, online.numClasses);
    const { session } = await createSession(model.modelBytes, this.runner.device, { threads: this.threads, executionMode: 'sequential' });
    this.onlineEval = { model, session };
    return this.onlineEval;
  }

  /** kNN and the online linear classifier on the test split, backbone in eval mode, eval transform. */
  async evaluate(): Promise<Record<string, number>> {
    const online = this.online;
    if (online === null) return this.evaluation.evaluate();
    return this.evaluation.evaluate(async (queryFeatures, queryLabels) => {
      const { model, session } = await this.onlineEvalSession(online);
      const accuracy = await evaluateClassifier(session, model, (name) => this.runner.state.get(name), queryFeatures, queryLabels);
      return { online_linear_top1: accuracy.top1, online_linear_top5: accuracy.top5 };
    });
  }

  /** Linear probe and fine-tune of the eval backbone as it stands (runPostTrainingEvals). */
  async postTrainingEvals(log: (line: string) => void): Promise<Record<string, MetricValue>> {
    const prefix = this.method.evalBackbone;
    const values = new Map<string, HostData>();
    for (const entry of [...this.backboneModule.parameters(prefix), ...this.backboneModule.buffers(prefix)]) {
      values.set(entry.name, this.runner.state.data(entry.name));
    }
    return runPostTrainingEvals(this.config, {
      backbone: this.backboneModule, values, prefix, featureDim: this.featureDim,
      train: this.train, test: this.test, evalImages: this.evalImages,
      device: this.runner.device, seed: this.config.seed, threads: this.threads, log,
    });
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

  /** Stops the prefetch worker (an idle one does not keep the process alive, so this is optional). */
  async close(): Promise<void> {
    await this.prefetcher?.close();
  }

  deviceMemoryPeakBytes(): number | null {
    // onnxruntime-node exposes no allocator statistics for any EP; the runner then reports the
    // process's peak resident memory, labelled as such.
    return null;
  }

  describe(): { device: string; ortVersion: string; params: number; convLayout: string } {
    const params = this.model.state.filter((e) => e.role === 'param').reduce((n, e) => n + e.shape.reduce((a, d) => a * d, 1), 0);
    return { device: this.runner.device, ortVersion: ort.env.versions.common ?? 'unknown', params, convLayout: convLayoutOf(this.runner.session) };
  }
}
