/**
 * Fine-tuning (docs/methods.md §5.4, lightly's LinearClassifier with `freeze_model=False`, ResNet
 * protocol): every backbone parameter trains together with a Linear(D → C) head under
 * cross-entropy; the backbone runs in training mode (batch-norm batch statistics, running
 * statistics updated). Reference settings: momentum SGD μ 0.9, wd 0, LR 0.05·bs/256 (chosen by
 * the caller), per-step cosine to 0.001× without warmup, 30 epochs, RandomResizedCrop (default
 * scale (0.08, 1)) + horizontal flip 0.5 + normalise, train batches with drop_last.
 *
 * The ViT recipe's pieces, each optional: AdamW with norm/bias/head excluded from weight decay;
 * timm's Mixup/CutMix and label smoothing (mixup.ts); timm's train transform with RandAugment and
 * random erasing (timm-train-transform.ts, `hostTransform`); layer-wise LR decay (layer-decay.ts);
 * a head LR of its own (`headLr`: the reference's head group has no LR and runs at AdamW's
 * default); the class token kept fixed (`freezeClassToken`: the reference builds its optimizer
 * from leaf modules, which leaves the ViT's own tokens out).
 *
 * One ONNX training step per batch: uint8 images → in-graph augmentation (views drawn in
 * TypeScript from the seed) → backbone → head → loss → gradients → update. With `hostTransform`
 * the views are made on the host instead (pixel work on worker threads, the next batch's during
 * the current step) and fed as normalised float32. After every epoch the
 * backbone in eval mode (running statistics) embeds the test images with the eval transform and
 * the head scores them (classifier-eval.ts). Reported: the maximum top-1 / top-5 over epochs (the
 * published protocol) and the final epoch's, each labelled by the caller.
 */
import * as ort from 'onnxruntime-node';
import { applyViews, buildPreset, sampleViews, VIEW_PARAMS, type AugmentPreset, type Interpolation, type Normalization } from '../augment';
import { centerCropBatch } from '../data/center-crop';
import type { ImageSource } from '../data/image-source';
import { Rng } from '../data/rng';
import { EpochSampler } from '../data/sampler';
import { buildInferenceModel, embed, type InferenceModel } from '../engine/inference';
import { TrainStepRunner } from '../engine/runner';
import { createSession, type Device } from '../engine/session';
import type { HostData } from '../engine/state-store';
import { buildTrainStep, groupScalarName, type ParamGroupInputs } from '../engine/train-step';
import { crossEntropy } from '../graph';
import { VisionTransformer } from '../nn/backbones/vit';
import { initParameters } from '../nn/init';
import { Linear } from '../nn/linear';
import type { Module, ParamSpec } from '../nn/module';
import { LrSchedule, sgd, type OptimizerRule, type ScheduleSpec } from '../optim';
import { mixes, mixWithFlippedBatch, sampleBatchMix, usesSoftTargets, type MixupSpec } from './mixup';
import { buildClassifierEvalModel, evaluateClassifier, type Accuracy } from './classifier-eval';
import { layerDecayGroups } from './layer-decay';
import { PROBE_PREFIX, PROBE_SCHEDULE } from './linear';
import { sampleTimmTrainDraws, type TimmTrainTransform } from './timm-train-transform';
import { TimmTransformPool, type TimmBatchBuffers } from './timm-transform-pool';

/** torchvision RandomResizedCrop's default area range, as the reference's fine-tune transform uses it. */
export const FINETUNE_CROP_SCALE: readonly [number, number] = [0.08, 1];

export interface FinetuneAugmentationOptions {
  /** Output side of the crop (the pretraining `augmentation.input_size`). */
  inputSize: number;
  /** Channels of the dataset's uint8 images (1 or 3). */
  inputChannels: number;
  /** 'gray' keeps one channel for 1-channel data (as pretraining does), 'rgb' replicates it. Default 'gray'. */
  singleChannel?: 'rgb' | 'gray';
  /** Default: the preset's (ImageNet statistics for RGB, Fashion-MNIST's for gray). */
  normalization?: Normalization;
  /** RandomResizedCrop area range; default FINETUNE_CROP_SCALE. */
  scale?: readonly [number, number];
  /** Resampling of the crop; default bilinear. */
  interpolation?: Interpolation;
}

/**
 * The fine-tune train transform as a one-view preset: RandomResizedCrop(inputSize, scale, ratio
 * (3/4, 4/3), bilinear or bicubic) + horizontal flip 0.5 + normalise, no colour operations. Built from the
 * 'none' preset (which fixes the channels and the normalisation) with its view replaced.
 */
export function finetuneAugmentation(o: FinetuneAugmentationOptions): AugmentPreset {
  const base = buildPreset('none', o.inputSize, {}, { inputChannels: o.inputChannels, singleChannel: o.singleChannel ?? 'gray', normalization: o.normalization });
  const scale = o.scale ?? FINETUNE_CROP_SCALE;
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1)) throw new RangeError(`fine-tune augmentation: crop scale (${scale.join(', ')}) must satisfy 0 < min <= max <= 1`);
  return { ...base, views: [{ ...base.views[0], crop: 'random-resized', scale: [scale[0], scale[1]], hflipProb: 0.5, interpolation: o.interpolation ?? 'bilinear' }] };
}

/**
 * Images as the eval transform sees them: `source` (already resized by the data cache) with an
 * optional torchvision CenterCrop to `centerCrop` pixels; normalisation happens in the graph.
 */
export interface EvalImages {
  source: ImageSource;
  centerCrop: number | null;
}

const EVAL_CHUNK_IMAGES = 2048;

/** Indices of the images with a label (STL-10's unlabeled images carry -1 and cannot be classified). */
export function labelledIndices(source: ImageSource): Int32Array {
  return Int32Array.from({ length: source.n }, (_, i) => i).filter((i) => source.labels[i] >= 0);
}

/** Geometry of the images fed to an eval-transform inference model. */
export function evalImageShape(images: EvalImages): { height: number; width: number; channels: number } {
  const { source, centerCrop } = images;
  if (centerCrop !== null && (centerCrop > source.height || centerCrop > source.width)) {
    throw new RangeError(`eval transform: center crop ${centerCrop} is larger than the ${source.height}x${source.width} images of ${source.name}/${source.split}`);
  }
  return { height: centerCrop ?? source.height, width: centerCrop ?? source.width, channels: source.channels };
}

/** An eval-mode inference model of `backbone` over uint8 images of `images`' geometry, normalised in-graph. */
export function evalInferenceModel(backbone: Module, images: EvalImages, normalization: Normalization, opts: { prefix: string; weights?: ReadonlyMap<string, HostData> }): InferenceModel {
  const shape = evalImageShape(images);
  if (normalization.mean.length !== shape.channels) {
    throw new RangeError(`eval transform: ${normalization.mean.length}-channel normalisation for ${shape.channels}-channel images of ${images.source.name}`);
  }
  return buildInferenceModel(backbone, {
    name: 'eval-embed', prefix: opts.prefix, weights: opts.weights,
    input: { format: 'uint8-nhwc', ...shape, mean: normalization.mean, std: normalization.std },
  });
}

/** Eval-transform features of the images at `indices`, embedded in bounded chunks and handed to `sink` in order. */
export async function embedEvalImagesTo(
  session: ort.InferenceSession,
  model: InferenceModel,
  images: EvalImages,
  indices: Int32Array,
  batchSize: number,
  sink: (features: Float32Array, start: number) => void,
  state?: { get(name: string): ort.Tensor },
): Promise<void> {
  const { source, centerCrop } = images;
  const shape = evalImageShape(images);
  for (let start = 0; start < indices.length; start += EVAL_CHUNK_IMAGES) {
    const chunk = indices.subarray(start, Math.min(start + EVAL_CHUNK_IMAGES, indices.length));
    let pixels = source.readBatch(chunk);
    if (centerCrop !== null) pixels = centerCropBatch(pixels, chunk.length, source.height, source.width, source.channels, centerCrop);
    sink(await embed(session, model, pixels, chunk.length, batchSize, [shape.height, shape.width, shape.channels], state), start);
  }
}

/** Eval-transform features [indices.length, D] of the images at `indices`, in memory. */
export async function embedEvalImages(
  session: ort.InferenceSession,
  model: InferenceModel,
  images: EvalImages,
  indices: Int32Array,
  batchSize: number,
  state?: { get(name: string): ort.Tensor },
): Promise<Float32Array> {
  const out = new Float32Array(indices.length * model.featureDim);
  await embedEvalImagesTo(session, model, images, indices, batchSize, (features, start) => out.set(features, start * model.featureDim), state);
  return out;
}

export interface FinetuneOptions {
  /** The backbone module; its parameters and buffers are named `<prefix>.<torch name>`. */
  backbone: Module;
  /** Starting values of every backbone parameter and buffer, by full name (the pretrained weights). */
  backboneValues: ReadonlyMap<string, HostData>;
  /** Name prefix of the backbone's entries, e.g. 'backbone'. */
  prefix: string;
  featureDim: number;
  numClasses: number;
  /** Train images (pretraining geometry); unlabeled images (label -1) are skipped. */
  train: ImageSource;
  /** Test images as the eval transform sees them. */
  test: EvalImages;
  /** Train transform (finetuneAugmentation); its normalisation is also the eval transform's. */
  augmentation: AugmentPreset;
  epochs: number;
  batchSize: number;
  /** Peak learning rate (already scaled for the batch size, e.g. 0.05·bs/256). */
  lr: number;
  /** Default momentum SGD μ 0.9. */
  optimizer?: OptimizerRule;
  weightDecay?: number;
  /** Norm parameters, biases and the head get no weight decay (the ViT AdamW protocol). Default false. */
  excludeNormBiasFromWd?: boolean;
  /** Default PROBE_SCHEDULE (per step, cosine to 0.001×, no warmup). */
  schedule?: ScheduleSpec;
  /** Seeds the head's initialisation, the batch order and the augmentation. */
  seed: number;
  /** Mixup / CutMix / label smoothing (the ViT recipe, mixup.ts); default none: hard labels. */
  mixing?: MixupSpec;
  /**
   * timm's train transform made on the host (RandAugment, random erasing); replaces the
   * augmentation preset's view, whose normalisation must equal this one's. Default: in-graph views.
   */
  hostTransform?: TimmTrainTransform;
  /** Worker threads of the host transform; 0 = on the main thread. Default 0. */
  transformWorkers?: number;
  /** Layer-wise LR decay factor (ViT backbones only, layer-decay.ts); default none. */
  layerDecay?: number | null;
  /** Peak LR of the head (times the schedule, not batch-scaled); default `lr`. */
  headLr?: number | null;
  /** Keep the ViT's class token (and a learned position embedding) at its pretrained value. Default false. */
  freezeClassToken?: boolean;
  device?: Device;
  threads?: number;
  onEpoch?: (epoch: FinetuneEpoch) => void;
}

export interface FinetuneEpoch {
  /** 0-based. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Learning rate of the epoch's first and last step. */
  lrFirst: number;
  lrLast: number;
  test: Accuracy;
}

export interface FinetuneResult {
  /** Max over epochs of the test top-1 / top-5 (each maximised separately, as the reference logs them). */
  maxOverEpochs: Accuracy;
  /** After the last epoch. */
  final: Accuracy;
  epochs: FinetuneEpoch[];
  /** Fine-tuned backbone and head parameters and buffers by full name (copies). */
  state: Map<string, HostData>;
}

function checkPositiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`fine-tune: ${name} ${v} must be an integer >= 1`);
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const { backbone, prefix, featureDim: dim, numClasses, batchSize: b, epochs, augmentation: preset, train } = o;
  checkPositiveInt('featureDim', dim);
  checkPositiveInt('numClasses', numClasses);
  checkPositiveInt('epochs', epochs);
  checkPositiveInt('batchSize', b);
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) throw new RangeError(`fine-tune: lr ${o.lr} must be >= 0`);
  if (prefix === PROBE_PREFIX) throw new RangeError(`fine-tune: backbone prefix '${prefix}' is the head's; use another (e.g. 'backbone')`);
  if (preset.views.length !== 1) throw new RangeError(`fine-tune: the train transform must have one view, preset ${preset.id} has ${preset.views.length}`);
  if (preset.inputChannels !== train.channels) throw new RangeError(`fine-tune: the train transform takes ${preset.inputChannels}-channel images, ${train.name}/${train.split} has ${train.channels}`);
  const trainIndices = labelledIndices(train);
  if (trainIndices.length < b) throw new RangeError(`fine-tune: ${trainIndices.length} labelled train images give no full batch of ${b}; lower the batch size`);
  const testIndices = labelledIndices(o.test.source);
  const testLabels = Int32Array.from(testIndices, (i) => o.test.source.labels[i]);
  for (const i of trainIndices) {
    if (train.labels[i] >= numClasses) throw new RangeError(`fine-tune: train label ${train.labels[i]} of image ${i} is outside 0..${numClasses - 1}`);
  }

  const mixing = o.mixing ?? { mixupAlpha: 0, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0 };
  const soft = usesSoftTargets(mixing);
  const host = o.hostTransform ?? null;
  if (host) checkHostTransform(host, preset, train);
  const head = new Linear(dim, numClasses);
  const headParams = head.parameters(PROBE_PREFIX).map((p) => ({ ...p, decay: false }));
  const allBackboneParams = backbone.parameters(prefix);
  const frozenNames = new Set(o.freezeClassToken ? classTokenNames(backbone, prefix) : []);
  const backboneParams = allBackboneParams.filter((p) => !frozenNames.has(p.name));
  const frozenParams = allBackboneParams.filter((p) => frozenNames.has(p.name));
  const backboneBuffers = backbone.buffers(prefix);
  const lrGroups = learningRateGroups(backbone, prefix, backboneParams, headParams, o);
  const viewSize = host ? host.size : preset.views[0].size;
  const viewChannels = host ? train.channels : preset.outputChannels;
  const stepModel = buildTrainStep({
    name: 'finetune',
    trainable: [...backboneParams, ...headParams],
    frozen: frozenParams,
    buffers: backboneBuffers,
    optimizer: o.optimizer ?? sgd({ momentum: 0.9 }),
    excludeNormBiasFromWd: o.excludeNormBiasFromWd ?? false,
    groups: lrGroups.map((g): ParamGroupInputs => ({ name: g.name, params: g.params, lr: true })),
    build(step) {
      let view = host
        ? step.input('views', [b, viewChannels, viewSize, viewSize])
        : applyViews(step.graph, step.input('images', [b, train.height, train.width, train.channels], 'uint8'), [step.input('augment.view0', [b, VIEW_PARAMS])], preset)[0];
      if (mixes(mixing)) view = mixWithFlippedBatch(step.graph, view, step.input('mix_mask', [1, 1, viewSize, viewSize]));
      const features = backbone.forward(step.forward(backbone, { prefix, training: true }), view);
      const logits = head.forward(step.forward(head, { prefix: PROBE_PREFIX }), features);
      const target = soft ? step.input('targets', [b, numClasses]) : step.input('labels', [b], 'int32');
      return { loss: crossEntropy(logits, target) };
    },
  });
  const initial = new Map<string, HostData>(initParameters(headParams, new Rng(o.seed).fork('finetune-init')));
  for (const s of [...allBackboneParams, ...backboneBuffers]) {
    const v = o.backboneValues.get(s.name);
    if (!v) throw new RangeError(`fine-tune: backboneValues has no '${s.name}'`);
    // The runner swaps in new tensors each step; a copy keeps the caller's pretrained weights intact.
    initial.set(s.name, v.slice());
  }
  const device = o.device ?? 'cpu';
  const runner = await TrainStepRunner.create(stepModel, initial, { device, threads: o.threads });
  const embedModel = evalInferenceModel(backbone, o.test, preset.normalization, { prefix });
  const headModel = buildClassifierEvalModel(head, PROBE_PREFIX, dim, numClasses);
  const [{ session: embedSession }, { session: headSession }] = await Promise.all([
    createSession(embedModel.modelBytes, runner.device, { threads: o.threads }),
    createSession(headModel.modelBytes, runner.device, { threads: o.threads }),
  ]);

  const pool = host ? new TimmTransformPool(o.transformWorkers ?? 0) : null;
  try {
    const sampler = new EpochSampler({ n: trainIndices.length, batchSize: b, seed: o.seed, shuffle: true, dropLast: true, stream: 'finetune' });
    const schedule = new LrSchedule(o.schedule ?? PROBE_SCHEDULE, epochs, sampler.batchesPerEpoch);
    const augmentRng = new Rng(o.seed).fork('finetune-augment');
    const mixRng = new Rng(o.seed).fork('finetune-mixup');
    const sourceIndices = new Int32Array(b);
    // Two batch slots: with the host transform, batch s + 1 is made on the workers during step s.
    const slots = (pool ? [0, 1] : [0]).map(() => {
      const buffers: TimmBatchBuffers = pool
        ? pool.allocate(b, train.height, train.width, train.channels, viewSize)
        : { pixels: new Uint8Array(b * train.height * train.width * train.channels), views: new Float32Array(0) };
      const labels = new Int32Array(b);
      return { buffers, labels, labelsTensor: new ort.Tensor('int32', labels, [b]), ready: Promise.resolve(), viewParams: new Float32Array(0) as Float32Array };
    });
    const imagesTensor = new ort.Tensor('uint8', slots[0].buffers.pixels, [b, train.height, train.width, train.channels]);
    // onnxruntime-node refuses shared memory as input ("Invalid argument"): the workers' views are copied once per step.
    const views = pool ? new Float32Array(b * viewChannels * viewSize * viewSize) : null;
    const viewsTensor = views ? new ort.Tensor('float32', views, [b, viewChannels, viewSize, viewSize]) : null;
    const load = (batch: Int32Array, slot: (typeof slots)[number]): void => {
      for (let k = 0; k < b; k++) {
        sourceIndices[k] = trainIndices[batch[k]];
        slot.labels[k] = train.labels[sourceIndices[k]];
      }
      train.readBatch(sourceIndices, slot.buffers.pixels);
      if (pool && host) {
        const draws = sampleTimmTrainDraws(augmentRng, host, b, train.height, train.width);
        slot.ready = pool.run(slot.buffers, draws, train.height, train.width, train.channels, host);
        // A step that throws leaves the next batch in flight: its rejection when the pool closes is not the error.
        slot.ready.catch(() => undefined);
      } else {
        slot.viewParams = sampleViews(augmentRng, preset, b, train.height, train.width)[0].params;
      }
    };
    const history: FinetuneEpoch[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      let lossSum = 0;
      let steps = 0;
      let lrFirst = 0;
      let lrLast = 0;
      const batches = [...sampler.epochBatches()];
      if (pool) load(batches[0], slots[0]);
      for (const batch of batches) {
        const slot = slots[pool ? steps % 2 : 0];
        if (pool) {
          await slot.ready;
          if (steps + 1 < batches.length) load(batches[steps + 1], slots[(steps + 1) % 2]);
        } else {
          load(batch, slot);
        }
        const labels = slot.labels;
        const factor = schedule.factor({ epoch, stepInEpoch: steps });
        const lr = o.lr * factor;
        if (steps === 0) lrFirst = lr;
        lrLast = lr;
        if (views) views.set(slot.buffers.views);
        const feeds: Record<string, ort.Tensor> = viewsTensor
          ? { views: viewsTensor }
          : { images: imagesTensor, 'augment.view0': new ort.Tensor('float32', slot.viewParams, [b, VIEW_PARAMS]) };
        if (soft) {
          const mix = sampleBatchMix(mixRng, mixing, labels, numClasses, viewSize, viewSize);
          feeds.targets = new ort.Tensor('float32', mix.targets, [b, numClasses]);
          if (mixes(mixing)) feeds.mix_mask = new ort.Tensor('float32', mix.mask, [1, 1, viewSize, viewSize]);
        } else {
          feeds.labels = slot.labelsTensor;
        }
        const values: Record<string, number> = {};
        for (const g of lrGroups) values[groupScalarName(g.name, 'lr')] = (g.baseLr ?? o.lr) * g.scale * factor;
        const r = await runner.step(feeds, { lr, weightDecay: o.weightDecay ?? 0, values });
        if (!Number.isFinite(r.loss)) throw new Error(`fine-tune: the loss became ${r.loss} at epoch ${epoch} step ${steps}; lower lr (${o.lr})`);
        lossSum += r.loss;
        steps++;
      }
      const features = await embedEvalImages(embedSession, embedModel, o.test, testIndices, b, runner.state);
      const test = await evaluateClassifier(headSession, headModel, (name) => runner.state.get(name), features, testLabels);
      const record: FinetuneEpoch = { epoch, loss: lossSum / steps, lrFirst, lrLast, test };
      history.push(record);
      o.onEpoch?.(record);
    }
    const state = new Map<string, HostData>();
    for (const s of [...allBackboneParams, ...backboneBuffers, ...headParams]) state.set(s.name, runner.state.data(s.name).slice());
    return {
      maxOverEpochs: { top1: Math.max(...history.map((h) => h.test.top1)), top5: Math.max(...history.map((h) => h.test.top5)) },
      final: history[history.length - 1].test,
      epochs: history,
      state,
    };
  } finally {
    await Promise.all([runner.release(), embedSession.release(), headSession.release(), pool?.close()]);
  }
}

/** A parameter group fed its own LR each step: (baseLr ?? lr) · scale · schedule factor. */
export interface LearningRateGroup {
  name: string;
  params: string[];
  scale: number;
  /** null: the run's peak LR. */
  baseLr: number | null;
}

/**
 * The fine-tune's LR groups: with `layerDecay`, one group per ViT layer id (layer-decay.ts); with
 * `headLr`, the head in a group of its own at that LR. None without either (every parameter at lr).
 */
export function learningRateGroups(backbone: Module, prefix: string, backboneParams: readonly ParamSpec[], headParams: readonly ParamSpec[], o: Pick<FinetuneOptions, 'layerDecay' | 'headLr'>): LearningRateGroup[] {
  const groups: LearningRateGroup[] = [];
  if (o.layerDecay != null) {
    if (!(backbone instanceof VisionTransformer)) throw new RangeError(`fine-tune: layer-wise LR decay needs a ViT backbone (blocks.<i> parameters), got ${backbone.constructor.name}`);
    const names = [...backboneParams, ...(o.headLr == null ? headParams : [])].map((p) => p.name);
    for (const g of layerDecayGroups(names, prefix, backbone.config.depth, o.layerDecay)) groups.push({ name: g.name, params: g.params, scale: g.scale, baseLr: null });
  }
  if (o.headLr != null) {
    if (!(Number.isFinite(o.headLr) && o.headLr >= 0)) throw new RangeError(`fine-tune: headLr ${o.headLr} must be >= 0`);
    groups.push({ name: 'head', params: headParams.map((p) => p.name), scale: 1, baseLr: o.headLr });
  }
  return groups;
}

/** Names of a ViT's token parameters: the class token and a learned position embedding. */
function classTokenNames(backbone: Module, prefix: string): string[] {
  if (!(backbone instanceof VisionTransformer)) throw new RangeError(`fine-tune: freezing the class token needs a ViT backbone, got ${backbone.constructor.name}`);
  return backbone.parameters(prefix).map((p) => p.name).filter((n) => n === `${prefix}.cls_token` || n === `${prefix}.pos_embed`);
}

function checkHostTransform(t: TimmTrainTransform, preset: AugmentPreset, train: ImageSource): void {
  if (t.mean.length !== train.channels || t.std.length !== train.channels || t.fill.length < train.channels) {
    throw new RangeError(`fine-tune: the host transform normalises ${t.mean.length} channels, ${train.name}/${train.split} has ${train.channels}`);
  }
  const n = preset.normalization;
  if (n.mean.length !== t.mean.length || n.mean.some((m, i) => m !== t.mean[i] || n.std[i] !== t.std[i])) {
    throw new RangeError('fine-tune: the host transform and the eval transform must normalise alike');
  }
}
