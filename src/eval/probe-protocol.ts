/**
 * The evaluations that follow pretraining (docs/methods.md §5.3, §5.4), run as a config asks for them
 * and returned as summary metrics whose protocol strings say exactly how each number was measured.
 *
 *   eval.linear   → linear_top1 / linear_top5 (+ _final): frozen backbone in eval mode, linear
 *                   head trained on its features (linear.ts), test features from the eval
 *                   transform. Train features, two variants (the label says which):
 *                   'eval-features' (default, CPU-friendly): the eval transform's features,
 *                   computed once; 'augmented' (the reference): RandomResizedCrop + hflip views
 *                   drawn afresh and embedded every epoch, a full backbone pass per epoch.
 *   eval.finetune → finetune_top1 / finetune_top5 (+ _final): every parameter trains from the
 *                   pretrained weights with RandomResizedCrop + hflip + normalise (finetune.ts);
 *                   with rand_augment or random_erasing, timm's train transform on the host
 *                   (timm-train-transform.ts); optional layer-wise LR decay, head LR, frozen class token.
 *
 * Both: batch = `batch_size` (null: train.batch_size), LR = optimizer.lr · batch/256 (the
 * reference's linear scaling), the configured schedule, the test split scored after every epoch;
 * `<name>` is the maximum over epochs (the published protocol) and `<name>_final` the last epoch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { augmentParamInputs, applyViews, sampleViews, VIEW_PARAMS, type AugmentPreset } from '../augment';
import type { ProbeConfig, ResolvedConfig } from '../config';
import type { ImageSource } from '../data/image-source';
import { Rng } from '../data/rng';
import { createSession, type Device } from '../engine/session';
import type { HostData } from '../engine/state-store';
import { UserError } from '../errors';
import { Graph, toOnnx } from '../graph';
import { GraphForwardContext, type Module } from '../nn/module';
import { createOptimizer, scaleLr, type ScheduleSpec } from '../optim';
import type { MetricValue } from '../report/summary';
import type { Accuracy } from './classifier-eval';
import { parseRandAugment, randAugmentFill } from '../augment/rand-augment';
import { embedEvalImages, embedEvalImagesTo, evalInferenceModel, finetune, finetuneAugmentation, labelledIndices, type EvalImages } from './finetune';
import type { TimmTrainTransform } from './timm-train-transform';
import { FeatureFileWriter, type FeatureBank } from './knn';
import { linearProbe, type EmbedTrainFeatures, type LinearProbeResult, type ProbeHead } from './linear';

/** The reference scales every evaluation LR by global batch / 256. */
export const PROBE_REFERENCE_BATCH = 256;

export interface PostTrainingInputs {
  /** The evaluated backbone (the method's eval backbone) and its trained values by full name. */
  backbone: Module;
  values: ReadonlyMap<string, HostData>;
  /** Name prefix of the backbone's entries in `values`, e.g. 'backbone'. */
  prefix: string;
  featureDim: number;
  /** Train split as pretraining reads it (the fine-tune's RandomResizedCrop source). */
  train: ImageSource;
  /** Test split. */
  test: ImageSource;
  /**
   * Train and test images as the eval transform sees them, with the center crop still to apply
   * (the pretraining's kNN images); default: `train` and `test` uncropped.
   */
  evalImages?: { train: ImageSource; test: ImageSource; crop: number | null };
  /** Train features of the linear probe: 'eval-features' (default) or 'augmented' (see above). */
  linearVariant?: LinearProbeVariant;
  device: Device;
  seed: number;
  threads?: number;
  /** One line per finished epoch of each evaluation (progress for long runs). */
  log?: (line: string) => void;
  /**
   * Linear-probe train features ('eval-features') larger than this many bytes are written to a
   * features file in `scratchDir` (default data.cache_dir) and read back per batch, instead of held
   * in memory (ImageNet1k: 1.28M x 2048 float32 = 10.5 GB). Default 1 GiB.
   */
  inMemoryFeatureBytes?: number;
  scratchDir?: string;
}

/** Default of PostTrainingInputs.inMemoryFeatureBytes. */
export const IN_MEMORY_FEATURE_BYTES = 1024 ** 3;

export type PostTrainingMetrics = Record<string, MetricValue>;

export type LinearProbeVariant = 'eval-features' | 'augmented';

export interface AugmentedFeaturesOptions {
  backbone: Module;
  values: ReadonlyMap<string, HostData>;
  prefix: string;
  /** Labelled train images (pretraining geometry). */
  source: ImageSource;
  indices: Int32Array;
  /** One-view train transform (finetuneAugmentation). */
  preset: AugmentPreset;
  /** Images per session run (the graph's static batch; the last chunk is padded). */
  batchSize: number;
  seed: number;
  device: Device;
  threads?: number;
}

/**
 * The reference's linear-probe train features: each epoch, fresh views of every image at `indices`
 * (drawn in order from one seeded stream, so epoch e's views depend only on the seed) embedded by
 * the frozen backbone in eval mode, augmentation and backbone in one graph with the weights baked
 * in. Returns the embedder for linearProbe's `train` and the session to release.
 */
export async function augmentedTrainFeatures(o: AugmentedFeaturesOptions): Promise<{ embed: EmbedTrainFeatures; release: () => Promise<void> }> {
  const { source, preset, batchSize: b, indices } = o;
  if (preset.views.length !== 1) throw new RangeError(`augmented linear-probe features: the train transform must have one view, preset ${preset.id} has ${preset.views.length}`);
  const g = new Graph('augmented-embed');
  const images = g.input('images', [b, source.height, source.width, source.channels], 'uint8');
  const [view] = applyViews(g, images, augmentParamInputs(g, preset, b), preset);
  const ctx = new GraphForwardContext(g, o.backbone, {
    training: false,
    prefix: o.prefix,
    source: (spec) => {
      const data = o.values.get(spec.name);
      if (!data) throw new RangeError(`augmented linear-probe features: no value for '${spec.name}'`);
      return g.constant(data as Float32Array, spec.shape, 'dtype' in spec ? spec.dtype : 'float32', spec.name);
    },
  });
  const features = o.backbone.forward(ctx, view);
  g.output('features', features);
  const dim = features.shape[1] as number;
  const { session } = await createSession(toOnnx(g, { keepUnusedInputs: false }), o.device, { threads: o.threads });
  const labels = Int32Array.from(indices, (i) => source.labels[i]);
  const pixels = new Uint8Array(b * source.height * source.width * source.channels);
  const chunkIndices = new Int32Array(b);
  let rng = new Rng(o.seed).fork('linear-probe-augment');
  let nextEpoch = 0;
  const embedEpoch: EmbedTrainFeatures = async (epoch) => {
    // Epochs are requested in order; restarting from 0 replays the same views.
    if (epoch === 0) { rng = new Rng(o.seed).fork('linear-probe-augment'); nextEpoch = 0; }
    if (epoch !== nextEpoch) throw new RangeError(`augmented linear-probe features: epoch ${epoch} requested after epoch ${nextEpoch - 1}; epochs must come in order`);
    nextEpoch++;
    const out = new Float32Array(indices.length * dim);
    for (let start = 0; start < indices.length; start += b) {
      const n = Math.min(b, indices.length - start);
      // The graph's batch is static: a short last chunk repeats its first image, whose extra rows are dropped.
      for (let k = 0; k < b; k++) chunkIndices[k] = indices[start + (k < n ? k : 0)];
      source.readBatch(chunkIndices, pixels);
      const [views] = sampleViews(rng, preset, b, source.height, source.width);
      const r = await session.run({
        images: new ort.Tensor('uint8', pixels, [b, source.height, source.width, source.channels]),
        'augment.view0': new ort.Tensor('float32', views.params, [b, VIEW_PARAMS]),
      });
      out.set((r.features.data as Float32Array).subarray(0, n * dim), start * dim);
    }
    return { features: out, labels };
  };
  return { embed: embedEpoch, release: () => session.release() };
}

function batchOf(probe: ProbeConfig, config: ResolvedConfig): number {
  return probe.batch_size ?? config.train.batch_size;
}

function describeOptimizer(o: ProbeConfig['optimizer'], batch: number, lr: number): string {
  const decay = `wd ${o.weight_decay}${o.exclude_norm_bias_from_wd ? ' (norm/bias/head excluded)' : ''}`;
  const name = o.name === 'sgd' ? `SGD μ ${o.momentum}${o.nesterov ? ' Nesterov' : ''}`
    : o.name === 'lars' ? `LARS μ ${o.momentum} trust ${o.trust_coefficient}`
      : `${o.name === 'adam' ? 'Adam' : 'AdamW'} betas (${o.betas.join(', ')})`;
  return `${name}, ${decay}, lr ${o.lr}·bs/${PROBE_REFERENCE_BATCH} = ${Number(lr.toPrecision(6))} at batch ${batch}`;
}

function describeSchedule(s: ScheduleSpec): string {
  const unit = s.interval === 'step' ? 'per-step' : 'per-epoch';
  switch (s.name) {
    case 'constant': return 'constant LR';
    case 'cosine': return `${unit} cosine to ${s.end_factor}×`;
    case 'cosine-warmup': return `${unit} cosine to ${s.end_factor}× after ${s.warmup_epochs} warmup epochs`;
  }
}

function checkBatch(field: string, batch: number, labelled: number, split: string): void {
  if (labelled < batch) {
    throw new UserError(`${field}: batch ${batch} is larger than the ${labelled} labelled images of the ${split} split (the last incomplete batch is dropped); use at most ${labelled}`);
  }
}

function addMetrics(out: PostTrainingMetrics, name: string, protocol: string, r: { maxOverEpochs: Accuracy; final: Accuracy; epochs: { test: Accuracy }[] }): void {
  // Epochs are reported 1-based, like the kNN metrics and metrics.csv.
  const bestEpoch = (k: keyof Accuracy) => r.epochs.findIndex((e) => e.test[k] === r.maxOverEpochs[k]) + 1;
  for (const k of ['top1', 'top5'] as const) {
    out[`${name}_${k}`] = { value: r.maxOverEpochs[k], protocol: `${protocol}, ${k}, max over epochs (published protocol; best at epoch ${bestEpoch(k)})` };
    out[`${name}_${k}_final`] = { value: r.final[k], protocol: `${protocol}, ${k}, final epoch (epoch ${r.epochs.length})` };
  }
}

/**
 * Runs the post-training evaluations `config.eval` enables, in order linear probe, fine-tune;
 * returns their metrics (none when both are disabled). `values` is never modified.
 */
/** The fine-tune's timm extras as protocol phrases (none when off). */
function describeMixing(ft: ResolvedConfig['eval']['finetune']): string[] {
  const out: string[] = [];
  if (ft.mixup_alpha > 0 && ft.cutmix_alpha > 0) out.push(`Mixup alpha ${ft.mixup_alpha} / CutMix alpha ${ft.cutmix_alpha} (CutMix with probability ${ft.mixup_switch_prob}) with the batch reversed`);
  else if (ft.mixup_alpha > 0) out.push(`Mixup alpha ${ft.mixup_alpha} with the batch reversed`);
  else if (ft.cutmix_alpha > 0) out.push(`CutMix alpha ${ft.cutmix_alpha} with the batch reversed`);
  if (ft.label_smoothing > 0) out.push(`label smoothing ${ft.label_smoothing}`);
  if (out.length > 0) out.push('soft-target cross-entropy');
  return out;
}

/**
 * timm's train transform of the fine-tune when the config asks for RandAugment or random erasing
 * (crop, flip and normalisation as `augmentation`'s view), else null: the in-graph views.
 */
export function finetuneHostTransform(ft: ResolvedConfig['eval']['finetune'], augmentation: AugmentPreset): TimmTrainTransform | null {
  if (ft.rand_augment === null && ft.random_erasing === 0) return null;
  const view = augmentation.views[0];
  const { mean, std } = augmentation.normalization;
  return {
    size: view.size, scale: view.scale, ratio: view.ratio, interpolation: ft.interpolation, hflipProb: view.hflipProb,
    randAugment: ft.rand_augment === null ? null : parseRandAugment(ft.rand_augment), fill: randAugmentFill(mean),
    erasingProb: ft.random_erasing, mean, std,
  };
}

/** The fine-tune's train transform and LR grouping as protocol phrases. */
function describeFinetuneTransform(ft: ResolvedConfig['eval']['finetune'], augmentation: AugmentPreset, host: TimmTrainTransform | null): string[] {
  const view = augmentation.views[0];
  const crop = `RandomResizedCrop ${view.size} scale (${view.scale.join(', ')})${view.interpolation === 'bilinear' ? '' : ` ${view.interpolation}`} + hflip ${view.hflipProb}`;
  const out = host
    ? [`timm train transform on the host: ${crop}${ft.rand_augment ? ` + RandAugment ${ft.rand_augment}` : ''} + normalise${ft.random_erasing > 0 ? ` + random erasing p ${ft.random_erasing} (pixel mode, 1 rectangle)` : ''}`]
    : [`${crop} + normalise`];
  if (ft.layer_decay !== null) out.push(`layer-wise LR decay ${ft.layer_decay}`);
  if (ft.head_lr !== null) out.push(`head LR ${ft.head_lr} (not batch-scaled)`);
  if (ft.freeze_class_token) out.push('class token frozen');
  return out;
}

export async function runPostTrainingEvals(config: ResolvedConfig, inputs: PostTrainingInputs): Promise<PostTrainingMetrics> {
  const { linear, finetune: ft } = config.eval;
  const out: PostTrainingMetrics = {};
  if (!linear.enabled && !ft.enabled) return out;
  const { backbone, values, prefix, featureDim, train, test, device, seed, threads } = inputs;
  const log = inputs.log ?? (() => undefined);
  const numClasses = train.classes.length;
  const evalSource = inputs.evalImages ?? { train, test, crop: null };
  const evalTest: EvalImages = { source: evalSource.test, centerCrop: evalSource.crop };
  const split = `${config.data.dataset} ${config.data.test_split} split`;
  // The same channel handling and normalisation as pretraining (grayscale data stays 1-channel).
  const augmentation = finetuneAugmentation({ inputSize: config.augmentation.input_size, inputChannels: train.channels, singleChannel: 'gray' });
  const evalTransform = evalSource.crop === null ? 'eval transform (normalise)' : `eval transform (center crop ${evalSource.crop}, normalise)`;

  if (linear.enabled) {
    const batch = batchOf(linear, config);
    const variant = inputs.linearVariant ?? config.eval.linear.train_features;
    const evalTrain: EvalImages = { source: evalSource.train, centerCrop: evalSource.crop };
    const trainSource = variant === 'augmented' ? train : evalTrain.source;
    const trainIndices = labelledIndices(trainSource);
    checkBatch('eval.linear.batch_size', batch, trainIndices.length, config.data.train_split);
    const testIndices = labelledIndices(evalTest.source);
    const model = evalInferenceModel(backbone, evalTest, augmentation.normalization, { prefix, weights: values });
    const { session } = await createSession(model.modelBytes, device, { threads });
    let trainFeatures: EmbedTrainFeatures;
    let testFeatures: Float32Array;
    let releaseTrain: () => Promise<void> = async () => undefined;
    try {
      testFeatures = await embedEvalImages(session, model, evalTest, testIndices, batch);
      if (variant === 'augmented') {
        const augmented = await augmentedTrainFeatures({ backbone, values, prefix, source: train, indices: trainIndices, preset: augmentation, batchSize: batch, seed, device, threads });
        trainFeatures = augmented.embed;
        releaseTrain = augmented.release;
      } else {
        // The eval model was built for the test images' geometry; the train images share it (same eval transform).
        const labels = Int32Array.from(trainIndices, (i) => evalTrain.source.labels[i]);
        if (trainIndices.length * featureDim * 4 <= (inputs.inMemoryFeatureBytes ?? IN_MEMORY_FEATURE_BYTES)) {
          const features = await embedEvalImages(session, model, evalTrain, trainIndices, batch);
          trainFeatures = async () => ({ features, labels });
        } else {
          const dir = inputs.scratchDir ?? config.data.cache_dir;
          fs.mkdirSync(dir, { recursive: true });
          const file = path.join(dir, `linear-probe-features-${process.pid}-${Date.now()}.f32`);
          const writer = new FeatureFileWriter(file, featureDim);
          let features: FeatureBank;
          try {
            await embedEvalImagesTo(session, model, evalTrain, trainIndices, batch, (f) => writer.append(f));
            features = writer.close(labels);
          } catch (err) {
            writer.abort();
            fs.rmSync(file, { force: true });
            throw err;
          }
          trainFeatures = async () => ({ features, labels });
          releaseTrain = async () => {
            features.close?.();
            fs.rmSync(file, { force: true });
          };
        }
      }
    } finally {
      await session.release();
    }
    const lr = scaleLr(linear.optimizer.lr, batch, PROBE_REFERENCE_BATCH, 'linear');
    // The ViT default protocol ("mae") puts a non-affine BatchNorm before the linear layer.
    const head: ProbeHead = config.backbone.name.startsWith('vit') ? 'bn-linear' : 'linear';
    let r: LinearProbeResult;
    try {
      r = await linearProbe({
        featureDim, numClasses, epochs: linear.epochs, batchSize: batch, lr,
        train: trainFeatures,
        test: { features: testFeatures, labels: Int32Array.from(testIndices, (i) => evalTest.source.labels[i]) },
        optimizer: createOptimizer(linear.optimizer), weightDecay: linear.optimizer.weight_decay, schedule: linear.schedule,
        head, seed, device, threads,
        onEpoch: (e) => log(`linear probe epoch ${e.epoch + 1}/${linear.epochs}: loss ${e.loss.toFixed(4)}, top-1 ${(100 * e.test.top1).toFixed(2)}%`),
      });
    } finally {
      await releaseTrain();
    }
    const view = augmentation.views[0];
    const trainViews = variant === 'augmented'
      ? `train features of RandomResizedCrop ${view.size} scale (${view.scale.join(', ')}) + hflip 0.5 + normalise views drawn afresh each epoch (reference protocol)`
      : `train features from the ${evalTransform} computed once (CPU-friendly variant; the reference re-embeds RandomResizedCrop + hflip views each epoch)`;
    const protocol = [
      'linear probe', 'frozen backbone (eval mode)', trainViews,
      head === 'linear' ? 'Linear head' : 'BatchNorm (no affine) + Linear head',
      describeOptimizer(linear.optimizer, batch, lr), `${linear.epochs} epochs`, describeSchedule(linear.schedule),
      `test features from the ${evalTransform}`, split,
    ].join(', ');
    addMetrics(out, 'linear', protocol, r);
  }

  if (ft.enabled) {
    const batch = batchOf(ft, config);
    checkBatch('eval.finetune.batch_size', batch, labelledIndices(train).length, config.data.train_split);
    const lr = scaleLr(ft.optimizer.lr, batch, PROBE_REFERENCE_BATCH, 'linear');
    const ftAugmentation = ft.interpolation === 'bilinear' ? augmentation : finetuneAugmentation({ inputSize: config.augmentation.input_size, inputChannels: train.channels, singleChannel: 'gray', interpolation: ft.interpolation });
    const hostTransform = finetuneHostTransform(ft, ftAugmentation);
    const r = await finetune({
      backbone, backboneValues: values, prefix, featureDim, numClasses, train, test: evalTest, augmentation: ftAugmentation,
      epochs: ft.epochs, batchSize: batch, lr, optimizer: createOptimizer(ft.optimizer), weightDecay: ft.optimizer.weight_decay,
      excludeNormBiasFromWd: ft.optimizer.exclude_norm_bias_from_wd, schedule: ft.schedule, seed, device, threads,
      mixing: { mixupAlpha: ft.mixup_alpha, cutmixAlpha: ft.cutmix_alpha, switchProb: ft.mixup_switch_prob, labelSmoothing: ft.label_smoothing },
      hostTransform: hostTransform ?? undefined, transformWorkers: config.data.workers,
      layerDecay: ft.layer_decay, headLr: ft.head_lr, freezeClassToken: ft.freeze_class_token,
      onEpoch: (e) => log(`fine-tune epoch ${e.epoch + 1}/${ft.epochs}: loss ${e.loss.toFixed(4)}, top-1 ${(100 * e.test.top1).toFixed(2)}%`),
    });
    const protocol = [
      'fine-tune', 'all parameters train (backbone in training mode, batch-norm batch statistics) + Linear head',
      ...describeFinetuneTransform(ft, ftAugmentation, hostTransform),
      ...describeMixing(ft),
      describeOptimizer(ft.optimizer, batch, lr), `${ft.epochs} epochs`, describeSchedule(ft.schedule),
      `test images through the backbone in eval mode with the ${evalTransform}`, split,
    ].join(', ');
    addMetrics(out, 'finetune', protocol, r);
  }
  return out;
}
