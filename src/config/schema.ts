import * as path from 'node:path';
import { METHODS, BACKBONES, DATASETS, PRESETS, ids, findEntry, methodSpec } from '../registry';
import { parseRandAugment } from '../augment/rand-augment';
import { PRESET_PARAMS } from './preset-params';
import { FieldRule, ObjectSpec, ResolveContext, DependentDefault, obj, str, oneOf, int, num, bool, prob, tuple } from './spec';

/**
 * Every field of an experiment config (README "Configs"; JSON Schema in
 * schema/ssl-bench.config.schema.json), in resolution order: a field's dependent default may only
 * read fields listed before it.
 */

function fromRoot(ctx: ResolveContext, dotted: string): unknown {
  let v: unknown = ctx.root;
  for (const k of dotted.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

function dependent<T>(describe: string, compute: (ctx: ResolveContext) => T): DependentDefault<T> {
  return { describe, compute };
}

function datasetDefault<T>(describe: string, pick: (d: (typeof DATASETS)[number]) => T): DependentDefault<T> {
  return dependent(describe, (ctx) => pick(findEntry(DATASETS, String(fromRoot(ctx, 'data.dataset')))!));
}

/** Why a RandAugment string is wrong (parseRandAugment's message), or null. */
function randAugmentProblem(value: string): string | null {
  try {
    parseRandAugment(value);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const OPTIMIZERS = ['sgd', 'lars', 'adam', 'adamw'] as const;
const SCHEDULES = ['cosine', 'cosine-warmup', 'constant'] as const;

function optimizer(description: string, d: { lr: number; momentum: number; weightDecay: number }): ObjectSpec {
  return obj(description, {
    name: oneOf('optimizer', OPTIMIZERS, 'sgd'),
    lr: num('base learning rate before batch-size scaling', d.lr, { exclusiveMinimum: 0 }),
    momentum: num('momentum (SGD, LARS)', d.momentum, { minimum: 0, exclusiveMaximum: 1 }),
    nesterov: bool('Nesterov momentum (SGD)', false),
    weight_decay: num('weight decay (coupled L2 for sgd/lars/adam, decoupled for adamw)', d.weightDecay, { minimum: 0 }),
    betas: tuple('Adam/AdamW moment decay rates', num('', 0, { minimum: 0, exclusiveMaximum: 1 }), [0.9, 0.999]),
    eps: num('Adam/AdamW/LARS epsilon', 1e-8, { exclusiveMinimum: 0 }),
    exclude_norm_bias_from_wd: bool('put norm-layer and bias parameters in a group without weight decay', false),
    trust_coefficient: num('LARS trust coefficient', 0.001, { exclusiveMinimum: 0 }),
  });
}

function schedule(description: string, d: { interval: 'epoch' | 'step'; endFactor: number }): ObjectSpec {
  return obj(description, {
    name: oneOf('learning-rate schedule', SCHEDULES, 'cosine'),
    interval: oneOf('whether the schedule advances per epoch or per optimizer step', ['epoch', 'step'], d.interval),
    warmup_epochs: num('linear warmup length in epochs (cosine-warmup)', 0, { minimum: 0 }),
    end_factor: num('final lr = lr * end_factor', d.endFactor, { minimum: 0, maximum: 1 }),
  });
}

function probe(description: string, d: { epochs: number; lr: number }): ObjectSpec {
  return obj(description, {
    enabled: bool('run this evaluation', false),
    epochs: int('training epochs', d.epochs, { minimum: 1 }),
    batch_size: int('batch size; null = train.batch_size', null, { minimum: 1, nullable: true }),
    optimizer: optimizer('optimizer of the evaluation head', { lr: d.lr, momentum: 0.9, weightDecay: 0 }),
    schedule: schedule('learning-rate schedule of the evaluation', { interval: 'step', endFactor: 0.001 }),
  });
}

export const CONFIG_SCHEMA: ObjectSpec = obj('An ssl-bench experiment: one method trained and evaluated on one dataset.', {
  name: str('run name, used for the run directory', dependent('the config file name without extension', (ctx) => path.basename(ctx.file).replace(/\.ya?ml$/i, '')), {
    pattern: { regex: '^[A-Za-z0-9][A-Za-z0-9._+-]*$', describe: 'letters, digits, ".", "_", "+", "-" (starting with a letter or digit)' },
  }),
  seed: int('random seed of run 0', 0, { minimum: 0 }),
  n_runs: int('number of runs; run r uses seed + r', 1, { minimum: 1 }),
  device: oneOf('execution provider', ['cpu', 'cuda', 'webgpu', 'auto'], 'cpu'),
  output: str('folder that receives run directories (relative to the working directory); not part of the config hash', 'results'),
  method: obj('the self-supervised method', {
    name: oneOf('method id', ids(METHODS), 'simclr'),
    label: str('model name in result tables', dependent("the method's registry label", (ctx) => findEntry(METHODS, String(fromRoot(ctx, 'method.name')))!.label)),
    marker: str('footnote marker appended to the label in tables, e.g. "*"', ''),
    params: {
      type: 'choice',
      description: 'method hyperparameters; allowed keys depend on method.name',
      selector: 'method.name',
      noun: 'parameter of method',
      choices: Object.fromEntries(Array.from(METHODS, (m) => [m.id, methodSpec(m.id)!.params])),
    },
  }),
  backbone: obj('the network whose features are evaluated', {
    name: oneOf('backbone id', ids(BACKBONES), 'resnet18-cifar'),
    label: str('backbone name in result tables', dependent("the backbone's registry label", (ctx) => findEntry(BACKBONES, String(fromRoot(ctx, 'backbone.name')))!.label)),
    width: num('channel width multiplier (CPU-sized runs)', 1.0, { exclusiveMinimum: 0 }),
    split_bn: int('SplitBatchNorm splits (0 = plain batch norm; 8 = MoCo CIFAR)', 0, { minimum: 0 }),
    patch_size: int("ViT patch size in pixels; null = the backbone's (16 or 32)", null, { minimum: 1, nullable: true }),
    depth: int('ViT transformer blocks; null = 12', null, { minimum: 1, nullable: true }),
    image_size: int('ViT image size the position-embedding table is built for (other sizes get it resampled); null = augmentation.input_size', null, { minimum: 1, nullable: true }),
  }),
  data: obj('the dataset', {
    dataset: oneOf('dataset id', ids(DATASETS), 'cifar10'),
    root: str('dataset folder; ${VAR:-default} interpolation applies', datasetDefault("the dataset's registry root", (d) => d.root)),
    train_split: str('split used for self-supervised training and the kNN bank', datasetDefault("the dataset's train split", (d) => d.trainSplit)),
    test_split: str('split used for evaluation', datasetDefault("the dataset's test split", (d) => d.testSplit)),
    image_size: int('pixels after the decode/resize cache (shorter side for image folders)', datasetDefault("the dataset's image size", (d) => d.imageSize), { minimum: 1 }),
    subset: obj('optional class-balanced, seeded subset', {
      per_class: int('training images per class', null, { minimum: 1, nullable: true }),
      fraction: num('fraction of training images', null, { exclusiveMinimum: 0, maximum: 1, nullable: true }),
      test_per_class: int('cap on test images per class', null, { minimum: 1, nullable: true }),
    }),
    cache_dir: str('folder for decoded/resized image caches', '${SSL_BENCH_CACHE:-.cache/ssl-bench}'),
    workers: int("decode worker threads; also the fine-tune's timm train transform workers (0 = on the main thread)", 2, { minimum: 0 }),
    prefetch: bool("read the next training batch on a worker thread during each step (raw file-backed images: decoded caches, resized binaries); results are identical either way", true),
  }),
  augmentation: obj('view generation for self-supervised training', {
    preset: oneOf('augmentation preset (transform class of docs/methods.md §3.2)', ids(PRESETS), dependent("the method's own transform", (ctx) => findEntry(METHODS, String(fromRoot(ctx, 'method.name')))!.defaultPreset)),
    input_size: int('crop output size of global views (pixels)', datasetDefault("the dataset's input size", (d) => d.inputSize), { minimum: 1 }),
    overrides: {
      type: 'choice',
      description: 'preset fields to override; allowed keys depend on augmentation.preset',
      selector: 'augmentation.preset',
      noun: 'field of preset',
      choices: PRESET_PARAMS,
    },
    eval_transform: oneOf('transform of kNN bank and test images', ['normalize', 'resize-center-crop'], 'normalize'),
    eval_resize: int('resize shorter side to this before the centre crop (resize-center-crop)', null, { minimum: 1, nullable: true }),
  }),
  train: obj('self-supervised training', {
    epochs: int('training epochs; 0 with method none (no pretraining: the floor rows)', 200, { minimum: 0 }),
    batch_size: int('images per optimizer step', 128, { minimum: 2 }),
    max_steps: int('stop after this many optimizer steps (smoke tests)', null, { minimum: 1, nullable: true }),
    optimizer: optimizer('optimizer', { lr: 0.06, momentum: 0.9, weightDecay: 5e-4 }),
    lr_scaling: obj('batch-size scaling of the learning rate', {
      rule: oneOf('lr = base * (batch_size / reference) for linear, sqrt of that ratio for sqrt', ['linear', 'sqrt', 'none'], 'linear'),
      reference_batch_size: int('batch size at which lr is the base lr', 128, { minimum: 1 }),
    }),
    schedule: schedule('learning-rate schedule', { interval: 'epoch', endFactor: 0 }),
    grad_clip_norm: num('clip gradients to this global L2 norm', null, { exclusiveMinimum: 0, nullable: true }),
    checkpoint_every: int('epochs between checkpoints', 1, { minimum: 1 }),
  }),
  eval: obj('evaluation protocols', {
    knn: obj('weighted kNN classifier on frozen features (docs/methods.md §5.1)', {
      enabled: bool('run the kNN evaluation', true),
      k: int('neighbours', 200, { minimum: 1 }),
      temperature: num('similarity temperature of the neighbour weights', 0.1, { exclusiveMinimum: 0 }),
      every: int('epochs between evaluations', 1, { minimum: 1 }),
      feature: oneOf('which backbone output is the feature', ['default', 'pooled', 'class-token'], 'default'),
    }),
    linear: obj('linear probe on frozen features (docs/methods.md §5.3)', {
      ...probe('', { epochs: 90, lr: 0.1 }).fields,
      train_features: oneOf(
        "the probe's train features: eval-features (the eval transform's, computed once; CPU-friendly) or augmented (RandomResizedCrop + hflip views embedded afresh every epoch, as the ImageNet1k reference)",
        ['eval-features', 'augmented'], 'eval-features',
      ),
    }),
    finetune: obj('fine-tuning of the whole network (docs/methods.md §5.4)', {
      ...probe('', { epochs: 30, lr: 0.05 }).fields,
      // The ViT recipe's timm extras (ImageNet1k MAE row); 0 = off, as the ResNet recipe.
      label_smoothing: num('label smoothing of the (soft) targets', 0, { minimum: 0, exclusiveMaximum: 1 }),
      mixup_alpha: num('Mixup Beta(alpha, alpha), one lambda per batch, mixed with the batch reversed; 0 = off', 0, { minimum: 0 }),
      cutmix_alpha: num('CutMix Beta(alpha, alpha), box area corrected lambda; 0 = off', 0, { minimum: 0 }),
      mixup_switch_prob: prob('probability of CutMix instead of Mixup when both alphas are > 0', 0.5),
      // timm's train transform (create_transform is_training) when rand_augment or random_erasing is on; else in-graph views.
      interpolation: oneOf("resampling of the train crop (and of RandAugment's rotate/shear/translate)", ['bilinear', 'bicubic'], 'bilinear'),
      rand_augment: str("timm RandAugment config string (timm rand_augment_transform), e.g. 'rand-m9-mstd0.5-inc1'; null = none", null, {
        nullable: true,
        pattern: { regex: '^rand(-[a-z]+[0-9][0-9.eE]*)*$', describe: "a timm RandAugment string such as 'rand-m9-mstd0.5-inc1'" },
        check: randAugmentProblem,
      }),
      random_erasing: prob('timm RandomErasing probability after normalisation (pixel mode: N(0, 1) per value, one rectangle); 0 = off', 0),
      layer_decay: num('layer-wise LR decay, ViT only: block i trains at lr * decay^(depth - i), the embeddings at lr * decay^(depth + 1), final norm and head at lr (BEiT/MAE); null = off', null, { exclusiveMinimum: 0, maximum: 1, nullable: true }),
      head_lr: num('peak LR of the classification head, used as written (no batch-size scaling); null = the backbone LR', null, { minimum: 0, nullable: true }),
      freeze_class_token: bool("keep a ViT's class token (and a learned position embedding) at its pretrained value", false),
    }),
    online_linear: bool('train an online linear classifier on detached features (docs/methods.md §5.2)', false),
  }),
  report: obj('how results appear in tables', {
    links: { type: 'map', description: 'link cells for ImageNet1k tables, e.g. {tensorboard: url, checkpoint: url}', values: str('URL', '') },
  }),
});

/** Backbones with parameters, which a pretraining method can train. */
const TRAINABLE_BACKBONES = ids(BACKBONES).filter((id) => id !== 'pixels');

/**
 * Method `none` (no pretraining) is the only one with zero epochs and the only one the parameter-free
 * `pixels` backbone makes sense with; these rules keep a floor config from silently training, and a
 * method config from silently skipping its training.
 */
export const CONFIG_RULES: readonly FieldRule[] = [
  {
    when: { field: 'backbone.name', equals: 'pixels' },
    then: { field: 'method.name', equals: 'none' },
    message: (method) => `"pixels" has no parameters to train, so it needs method.name: none, got method.name ${JSON.stringify(method)}; allowed with method ${String(method)}: ${TRAINABLE_BACKBONES.join(', ')}`,
  },
  {
    when: { field: 'train.epochs', equals: 0 },
    then: { field: 'method.name', equals: 'none' },
    message: (method) => `0 means no pretraining, which is method.name: none, got method.name ${JSON.stringify(method)}; allowed with method ${String(method)}: integer >= 1`,
  },
  {
    when: { field: 'method.name', equals: 'none' },
    then: { field: 'train.epochs', equals: 0 },
    message: (epochs) => `"none" evaluates the backbone as initialised without training, got train.epochs ${String(epochs)}; allowed with method none: train.epochs: 0`,
  },
];
