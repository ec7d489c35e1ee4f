/**
 * The evaluations that follow pretraining (METHODS.md §5.3, §5.4), run as a config asks for them
 * and returned as summary metrics whose protocol strings say exactly how each number was measured.
 *
 *   eval.linear   → linear_top1 / linear_top5 (+ _final): frozen backbone in eval mode, features
 *                   of the train and test images under the eval transform computed once, then the
 *                   linear head trained on them (linear.ts). This is the CPU-friendly variant: the
 *                   reference re-embeds RandomResizedCrop + hflip train views every epoch, which
 *                   costs a full backbone pass per epoch (90 of them); the label says which.
 *   eval.finetune → finetune_top1 / finetune_top5 (+ _final): every parameter trains from the
 *                   pretrained weights with RandomResizedCrop + hflip + normalise (finetune.ts).
 *
 * Both: batch = `batch_size` (null: train.batch_size), LR = optimizer.lr · batch/256 (the
 * reference's linear scaling), the configured schedule, the test split scored after every epoch;
 * `<name>` is the maximum over epochs (the published protocol) and `<name>_final` the last epoch.
 */
import type { ProbeConfig, ResolvedConfig } from '../config';
import type { ImageSource } from '../data/image-source';
import { createSession, type Device } from '../engine/session';
import type { HostData } from '../engine/state-store';
import { UserError } from '../errors';
import type { Module } from '../nn/module';
import { createOptimizer, scaleLr, type ScheduleSpec } from '../optim';
import type { MetricValue } from '../report/summary';
import type { Accuracy } from './classifier-eval';
import { embedEvalImages, evalInferenceModel, finetune, finetuneAugmentation, labelledIndices, type EvalImages } from './finetune';
import { linearProbe, type ProbeHead } from './linear';

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
  device: Device;
  seed: number;
  threads?: number;
  /** One line per finished epoch of each evaluation (progress for long runs). */
  log?: (line: string) => void;
}

export type PostTrainingMetrics = Record<string, MetricValue>;

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
  const bestEpoch = (k: keyof Accuracy) => r.epochs.findIndex((e) => e.test[k] === r.maxOverEpochs[k]);
  for (const k of ['top1', 'top5'] as const) {
    out[`${name}_${k}`] = { value: r.maxOverEpochs[k], protocol: `${protocol}, ${k}, max over epochs (published protocol; best at epoch ${bestEpoch(k)})` };
    out[`${name}_${k}_final`] = { value: r.final[k], protocol: `${protocol}, ${k}, final epoch (epoch ${r.epochs.length - 1})` };
  }
}

/**
 * Runs the post-training evaluations `config.eval` enables, in order linear probe, fine-tune;
 * returns their metrics (none when both are disabled). `values` is never modified.
 */
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
    const evalTrain: EvalImages = { source: evalSource.train, centerCrop: evalSource.crop };
    const trainIndices = labelledIndices(evalTrain.source);
    checkBatch('eval.linear.batch_size', batch, trainIndices.length, config.data.train_split);
    const testIndices = labelledIndices(evalTest.source);
    const model = evalInferenceModel(backbone, evalTrain, augmentation.normalization, { prefix, weights: values });
    const { session } = await createSession(model.modelBytes, device, { threads });
    let trainFeatures: Float32Array;
    let testFeatures: Float32Array;
    try {
      trainFeatures = await embedEvalImages(session, model, evalTrain, trainIndices, batch);
      testFeatures = await embedEvalImages(session, model, evalTest, testIndices, batch);
    } finally {
      await session.release();
    }
    const lr = scaleLr(linear.optimizer.lr, batch, PROBE_REFERENCE_BATCH, 'linear');
    // The ViT default protocol ("mae") puts a non-affine BatchNorm before the linear layer.
    const head: ProbeHead = config.backbone.name.startsWith('vit') ? 'bn-linear' : 'linear';
    const r = await linearProbe({
      featureDim, numClasses, epochs: linear.epochs, batchSize: batch, lr,
      train: { features: trainFeatures, labels: Int32Array.from(trainIndices, (i) => evalTrain.source.labels[i]) },
      test: { features: testFeatures, labels: Int32Array.from(testIndices, (i) => evalTest.source.labels[i]) },
      optimizer: createOptimizer(linear.optimizer), weightDecay: linear.optimizer.weight_decay, schedule: linear.schedule,
      head, seed, device, threads,
      onEpoch: (e) => log(`linear probe epoch ${e.epoch + 1}/${linear.epochs}: loss ${e.loss.toFixed(4)}, top-1 ${(100 * e.test.top1).toFixed(2)}%`),
    });
    const protocol = [
      'linear probe', 'frozen backbone (eval mode)',
      `train features from the ${evalTransform} computed once (CPU-friendly variant; the reference re-embeds RandomResizedCrop + hflip views each epoch)`,
      head === 'linear' ? 'Linear head' : 'BatchNorm (no affine) + Linear head',
      describeOptimizer(linear.optimizer, batch, lr), `${linear.epochs} epochs`, describeSchedule(linear.schedule), split,
    ].join(', ');
    addMetrics(out, 'linear', protocol, r);
  }

  if (ft.enabled) {
    const batch = batchOf(ft, config);
    checkBatch('eval.finetune.batch_size', batch, labelledIndices(train).length, config.data.train_split);
    const lr = scaleLr(ft.optimizer.lr, batch, PROBE_REFERENCE_BATCH, 'linear');
    const r = await finetune({
      backbone, backboneValues: values, prefix, featureDim, numClasses, train, test: evalTest, augmentation,
      epochs: ft.epochs, batchSize: batch, lr, optimizer: createOptimizer(ft.optimizer), weightDecay: ft.optimizer.weight_decay,
      excludeNormBiasFromWd: ft.optimizer.exclude_norm_bias_from_wd, schedule: ft.schedule, seed, device, threads,
      onEpoch: (e) => log(`fine-tune epoch ${e.epoch + 1}/${ft.epochs}: loss ${e.loss.toFixed(4)}, top-1 ${(100 * e.test.top1).toFixed(2)}%`),
    });
    const view = augmentation.views[0];
    const protocol = [
      'fine-tune', 'all parameters train (backbone in training mode, batch-norm batch statistics) + Linear head',
      `RandomResizedCrop ${view.size} scale (${view.scale.join(', ')}) + hflip 0.5 + normalise`,
      describeOptimizer(ft.optimizer, batch, lr), `${ft.epochs} epochs`, describeSchedule(ft.schedule),
      `test images through the backbone in eval mode with the ${evalTransform}`, split,
    ].join(', ');
    addMetrics(out, 'finetune', protocol, r);
  }
  return out;
}
