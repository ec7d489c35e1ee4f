/**
 * Offline linear probe on a frozen backbone (docs/methods.md §5.3, lightly's LinearClassifier with the
 * SimCLR protocol): a Linear(D → C) head — or BN*(D, eps 1e-6) → Linear for the ViT "mae"
 * protocol — trained with cross-entropy by momentum SGD (wd 0, base LR 0.1·bs/256 chosen by the
 * caller), per-step cosine from 1 to 0.001× without warmup, 90 epochs, train batches with
 * drop_last; evaluated on the test features after every epoch. Reported as the maximum top-1 /
 * top-5 over epochs (the published protocol) and the final epoch's, each labelled.
 *
 * Train features come from one of two sources:
 *   - features mode: `train` is precomputed features of the frozen backbone in eval mode (no
 *     augmentation). Fast; what the CPU suites use.
 *   - augmented protocol: `train` is a function `embed(epoch)` returning that epoch's train features,
 *     e.g. the backbone applied to RandomResizedCrop + horizontal-flip views drawn for the epoch (the
 *     reference re-augments every epoch). It must return the same number of samples every epoch.
 * The head's training step is one ONNX model (forward, backward, SGD update); batches are drawn by
 * a seeded EpochSampler, so a probe is reproducible from its seed.
 */
import * as ort from 'onnxruntime-node';
import { crossEntropy } from '../graph';
import { EpochSampler } from '../data/sampler';
import { Rng } from '../data/rng';
import { createSession, type Device } from '../engine/session';
import { TrainStepRunner } from '../engine/runner';
import { buildTrainStep } from '../engine/train-step';
import type { HostData } from '../engine/state-store';
import { BatchNorm1d } from '../nn/batchnorm';
import { initParameters } from '../nn/init';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { LrSchedule, sgd, type OptimizerRule, type ScheduleSpec } from '../optim';
import { buildClassifierEvalModel, evaluateClassifier, type Accuracy } from './classifier-eval';
import type { FeatureBank } from './knn';

export interface LabelledFeatures {
  /** [n, featureDim] row-major, in memory or as a FeatureBank (a features file for ImageNet-sized sets). */
  features: Float32Array | FeatureBank;
  /** n labels, 0..numClasses-1. */
  labels: Int32Array;
}

/** Train features of epoch `epoch` (0-based): the seam for the augmented protocol. */
export type EmbedTrainFeatures = (epoch: number) => Promise<LabelledFeatures>;

/** 'linear': Linear(D → C) (ResNets); 'bn-linear': BatchNorm1d(D, affine=False, eps 1e-6) → Linear (ViT "mae"). */
export type ProbeHead = 'linear' | 'bn-linear';

/** lightly's LinearClassifier: CosineWarmupScheduler per step, no warmup, to 0.001×. */
export const PROBE_SCHEDULE: ScheduleSpec = { name: 'cosine-warmup', interval: 'step', warmup_epochs: 0, end_factor: 0.001 };

export interface LinearProbeOptions {
  featureDim: number;
  numClasses: number;
  train: LabelledFeatures | EmbedTrainFeatures;
  /** Test features stay in memory (ImageNet's 50 000 x 2048 val features: 400 MB). */
  test: LabelledFeatures & { features: Float32Array };
  epochs: number;
  batchSize: number;
  /** Peak learning rate (already scaled for the batch size, e.g. 0.1·bs/256). */
  lr: number;
  /** SGD momentum (default 0.9); ignored when `optimizer` is given. */
  momentum?: number;
  weightDecay?: number;
  /** Default PROBE_SCHEDULE. */
  schedule?: ScheduleSpec;
  /** Default momentum SGD. */
  optimizer?: OptimizerRule;
  head?: ProbeHead;
  /** Drop the last incomplete train batch (default true, as the reference's train loader). */
  dropLast?: boolean;
  /** Seeds the head's initialisation and the batch order. */
  seed: number;
  /** Initial head parameters/buffers by name (default: torch's Linear/BN init drawn from `seed`). */
  init?: ReadonlyMap<string, Float32Array>;
  device?: Device;
  threads?: number;
  /** Test samples per evaluation run (default 4096). */
  evalChunk?: number;
  onEpoch?: (epoch: ProbeEpoch) => void;
}

export interface ProbeEpoch {
  /** 0-based. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Learning rate of the epoch's first and last step. */
  lrFirst: number;
  lrLast: number;
  test: Accuracy;
}

export interface LinearProbeResult {
  /** Max over epochs of the test top-1 / top-5 (each maximised separately, as the reference prints them). */
  maxOverEpochs: Accuracy;
  /** After the last epoch. */
  final: Accuracy;
  epochs: ProbeEpoch[];
  /** The trained head's parameters and buffers by torch name (`classification_head.weight` ...). */
  state: Map<string, Float32Array>;
}

/** lightly's LinearClassifier attribute name, so the head's weights carry torch's names. */
export const PROBE_PREFIX = 'classification_head';

export function probeHead(kind: ProbeHead, featureDim: number, numClasses: number): Module {
  const linear = new Linear(featureDim, numClasses);
  return kind === 'linear' ? linear : new Sequential([new BatchNorm1d(featureDim, { affine: false, eps: 1e-6 }), linear]);
}

function checkData(what: string, data: LabelledFeatures, dim: number, numClasses: number): void {
  const n = data.labels.length;
  const values = data.features instanceof Float32Array ? data.features.length : data.features.size * data.features.dim;
  if (values !== n * dim || !(data.features instanceof Float32Array || data.features.dim === dim)) {
    throw new RangeError(`linear probe: ${what}: ${values} feature values for ${n} labels x featureDim ${dim}`);
  }
  for (let i = 0; i < n; i++) {
    const y = data.labels[i];
    if (!(y >= 0 && y < numClasses)) throw new RangeError(`linear probe: ${what}: label[${i}] = ${y} is outside 0..${numClasses - 1}`);
  }
}

function checkPositiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`linear probe: ${name} ${v} must be an integer >= 1`);
}

export async function linearProbe(o: LinearProbeOptions): Promise<LinearProbeResult> {
  const { featureDim: dim, numClasses, batchSize, epochs } = o;
  checkPositiveInt('featureDim', dim);
  checkPositiveInt('numClasses', numClasses);
  checkPositiveInt('epochs', epochs);
  checkPositiveInt('batchSize', batchSize);
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) throw new RangeError(`linear probe: lr ${o.lr} must be >= 0`);
  checkData('test', o.test, dim, numClasses);
  const embed: EmbedTrainFeatures = typeof o.train === 'function' ? o.train : (() => { const t = o.train as LabelledFeatures; return async () => t; })();

  const head = probeHead(o.head ?? 'linear', dim, numClasses);
  const trainable = head.parameters(PROBE_PREFIX);
  const buffers = head.buffers(PROBE_PREFIX);
  // The train step has a static batch: the last incomplete batch is dropped (as the reference) or,
  // with dropLast false, filled by wrapping to the start of the epoch's order.
  const stepModel = buildTrainStep({
    name: 'linear-probe',
    trainable,
    buffers,
    optimizer: o.optimizer ?? sgd({ momentum: o.momentum ?? 0.9 }),
    build(step) {
      const ctx = step.forward(head, { prefix: PROBE_PREFIX });
      const logits = head.forward(ctx, step.input('features', [batchSize, dim]));
      return { loss: crossEntropy(logits, step.input('labels', [batchSize], 'int32')) };
    },
  });
  const initial = initParameters([...trainable, ...buffers], new Rng(o.seed).fork('linear-probe-init')) as Map<string, HostData>;
  for (const [name, value] of o.init ?? []) {
    if (!initial.has(name)) throw new RangeError(`linear probe: init '${name}' is not a head entry; entries: ${[...initial.keys()].join(', ')}`);
    initial.set(name, value);
  }
  const runner = await TrainStepRunner.create(stepModel, initial, { device: o.device ?? 'cpu', threads: o.threads });
  const evalModel = buildClassifierEvalModel(head, PROBE_PREFIX, dim, numClasses);
  const { session: evalSession } = await createSession(evalModel.modelBytes, o.device ?? 'cpu', { threads: o.threads });

  try {
    const dropLast = o.dropLast ?? true;
    const history: ProbeEpoch[] = [];
    let schedule: LrSchedule | null = null;
    let trainSize = -1;
    let sampler: EpochSampler | null = null;
    const batchFeatures = new Float32Array(batchSize * dim);
    const rowScratch = new Float32Array(dim);
    const batchLabels = new Int32Array(batchSize);
    const featuresTensor = new ort.Tensor('float32', batchFeatures, [batchSize, dim]);
    const labelsTensor = new ort.Tensor('int32', batchLabels, [batchSize]);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const train = await embed(epoch);
      checkData(`train (epoch ${epoch})`, train, dim, numClasses);
      const n = train.labels.length;
      if (trainSize === -1) {
        if (dropLast ? n < batchSize : n === 0) {
          throw new RangeError(`linear probe: ${n} train samples give no ${dropLast ? 'full ' : ''}batch of ${batchSize}; lower the batch size`);
        }
        trainSize = n;
        sampler = new EpochSampler({ n, batchSize, seed: o.seed, shuffle: true, dropLast, stream: 'linear-probe' });
        schedule = new LrSchedule(o.schedule ?? PROBE_SCHEDULE, epochs, sampler.batchesPerEpoch);
      } else if (n !== trainSize) {
        throw new RangeError(`linear probe: embed(${epoch}) returned ${n} train samples, epoch 0 had ${trainSize}; every epoch must have the same count`);
      }
      let lossSum = 0;
      let steps = 0;
      let lrFirst = 0;
      let lrLast = 0;
      const order = sampler!.permutation(epoch);
      for (const batch of sampler!.epochBatches()) {
        const features = train.features;
        for (let i = 0; i < batchSize; i++) {
          // A short last batch (dropLast false) wraps around the epoch's order.
          const idx = i < batch.length ? batch[i] : order[i - batch.length];
          const row = features instanceof Float32Array ? features.subarray(idx * dim, (idx + 1) * dim) : features.rows(idx, 1, rowScratch);
          batchFeatures.set(row, i * dim);
          batchLabels[i] = train.labels[idx];
        }
        const lr = o.lr * schedule!.factor({ epoch, stepInEpoch: steps });
        if (steps === 0) lrFirst = lr;
        lrLast = lr;
        const r = await runner.step({ features: featuresTensor, labels: labelsTensor }, { lr, weightDecay: o.weightDecay ?? 0 });
        if (!Number.isFinite(r.loss)) throw new Error(`linear probe: the loss became ${r.loss} at epoch ${epoch} step ${steps}; lower lr (${o.lr})`);
        lossSum += r.loss;
        steps++;
      }
      const test = await evaluateClassifier(evalSession, evalModel, (name) => runner.state.get(name), o.test.features, o.test.labels, o.evalChunk);
      const record: ProbeEpoch = { epoch, loss: lossSum / steps, lrFirst, lrLast, test };
      history.push(record);
      o.onEpoch?.(record);
    }
    const state = new Map<string, Float32Array>();
    for (const name of [...trainable, ...buffers].map((s) => s.name)) state.set(name, Float32Array.from(runner.state.data(name) as Float32Array));
    return {
      maxOverEpochs: { top1: Math.max(...history.map((h) => h.test.top1)), top5: Math.max(...history.map((h) => h.test.top5)) },
      final: history[history.length - 1].test,
      epochs: history,
      state,
    };
  } finally {
    await Promise.all([runner.release(), evalSession.release()]);
  }
}
