import { ObjectSpec, ValuesOf, obj, int, num, bool, oneOf, prob, tuple } from './spec';

/**
 * Allowed `method.params` per method, with the CIFAR-10 docs-script values as defaults where the
 * method is part of that benchmark (otherwise its Imagenette values). Sources: docs/methods.md §4.
 * Batch-size-dependent choices (e.g. the 8192 bank of the starred bs-512 rows) are set in configs.
 */

const positive = { exclusiveMinimum: 0 };
const atLeast1 = { minimum: 1 };

function dim(what: string, def: number) {
  return int(`${what} (features)`, def, atLeast1);
}

function temperature(def: number, what = 'softmax temperature of the loss') {
  return num(what, def, positive);
}

function ema(what: string, def: number) {
  return num(what, def, { minimum: 0, maximum: 1 });
}

const projectionLayers = (def: number) => int('linear layers in the projection head', def, { minimum: 2, maximum: 3 });

const simclrHead = {
  projection_hidden_dim: dim('projection head hidden size', 512),
  projection_out_dim: dim('projection head output size', 128),
};

const dclNegatives = oneOf(
  'log-sum-exp over the negatives: joint (one over same-view and cross-view negatives) or separate (one per set, as every published row, docs/methods.md §4.21)',
  ['joint', 'separate'], 'joint',
);

const pairViewBatches = oneOf(
  'separate: one forward batch per view (docs scripts); grouped: both views as one batch through backbone and projection head (ImageNet1k scripts), which changes batch-norm statistics',
  ['separate', 'grouped'], 'separate',
);

const simsiamNets = {
  projection_hidden_dim: dim('projection head hidden size', 2048),
  projection_out_dim: dim('projection head output size', 2048),
  projection_layers: projectionLayers(2),
  prediction_hidden_dim: dim('prediction head hidden size', 512),
};

const msnParams = {
  mask_ratio: num('fraction of anchor patch tokens masked', 0.15, { minimum: 0, exclusiveMaximum: 1 }),
  prototypes: int('number of prototypes', 1024, atLeast1),
  temperature: temperature(0.1, 'temperature of anchor and target prototype softmax'),
  sharpen_temperature: num('target sharpening temperature', 0.25, positive),
  sinkhorn_iterations: int('Sinkhorn-Knopp iterations on target assignments', 3, { minimum: 0 }),
  regularization_weight: num('weight of the prototype regulariser', 1.0, { minimum: 0 }),
  momentum: ema('EMA momentum of the target encoder', 0.996),
  projection_hidden_dim: dim('projection head hidden size', 2048),
  projection_out_dim: dim('projection head output size', 256),
};

const swavNets = {
  temperature: temperature(0.1, 'temperature of the swapped-prediction softmax'),
  sinkhorn_epsilon: num('Sinkhorn entropy regularisation epsilon', 0.05, positive),
  sinkhorn_iterations: int('Sinkhorn-Knopp iterations', 3, atLeast1),
};

export const METHOD_PARAMS = {
  none: obj('no pretraining: the backbone is evaluated as initialised (floor rows); no parameters', {}),
  barlowtwins: obj('Barlow Twins (docs/methods.md §4.1)', {
    lambda: num('weight of the off-diagonal redundancy term', 0.005, { minimum: 0 }),
    projection_hidden_dim: dim('projection head hidden size', 2048),
    projection_out_dim: dim('projection head output size', 2048),
    projection_layers: projectionLayers(2),
    normalisation: oneOf('per_view: standardise each view over its own batch; joint: both views over their stacked 2N rows (the published ImageNet1k R50 row, docs/methods.md §4.21)', ['per_view', 'joint'], 'per_view'),
    view_batches: pairViewBatches,
  }),
  byol: obj('BYOL (docs/methods.md §4.2)', {
    projection_hidden_dim: dim('projection head hidden size', 1024),
    projection_out_dim: dim('projection head output size', 256),
    prediction_hidden_dim: dim('prediction head hidden size', 1024),
    momentum_start: ema('EMA momentum of the target network at the first step', 0.99),
    momentum_end: ema('EMA momentum at the last step (cosine schedule; equal to start = constant)', 0.99),
  }),
  dcl: obj('DCL (docs/methods.md §4.3)', {
    temperature: temperature(0.1),
    negatives: dclNegatives,
    ...simclrHead,
    view_batches: pairViewBatches,
  }),
  dclw: obj('DCLW (docs/methods.md §4.4)', {
    temperature: temperature(0.1),
    sigma: num('temperature of the von Mises-Fisher positive weighting', 0.5, positive),
    negatives: dclNegatives,
    ...simclrHead,
    view_batches: pairViewBatches,
  }),
  dino: obj('DINO (docs/methods.md §4.5)', {
    projection_hidden_dim: dim('projection head hidden size', 2048),
    bottleneck_dim: dim('projection head bottleneck size before the last layer', 256),
    output_dim: dim('prototype (output) dimension', 2048),
    projection_layers: projectionLayers(2),
    batch_norm: bool('batch norm in the projection head', true),
    norm_last_layer: bool('freeze the weight-norm magnitude of the last layer at 1', true),
    freeze_last_layer_epochs: int('epochs during which the last layer gets no gradient', 0, { minimum: 0 }),
    student_temperature: temperature(0.1, 'student softmax temperature'),
    teacher_temperature: temperature(0.04, 'teacher softmax temperature after warmup'),
    warmup_teacher_temperature: temperature(0.04, 'teacher softmax temperature at epoch 0'),
    warmup_teacher_temperature_epochs: int('epochs of linear teacher-temperature warmup', 30, { minimum: 0 }),
    center_momentum: ema('EMA momentum of the teacher output centre', 0.9),
    momentum_start: ema('EMA momentum of the teacher at the first step', 0.99),
    momentum_end: ema('EMA momentum of the teacher at the last step', 0.99),
    head_init: oneOf('init of the head MLP: torch (nn.Linear default; the CIFAR-10 script rebuilds the MLP) or trunc_normal (DINOProjectionHead._init_weights, zero bias)', ['torch', 'trunc_normal'], 'torch'),
    head_trunc_normal_std: num('std of the trunc_normal head init: 0.02 today, 0.2 in lightly before 2025-05-12 (every published row with DINOProjectionHead, docs/methods.md §4.21)', 0.02, positive),
    head_shared_batch_norm: bool('one BatchNorm1d shared by both hidden blocks of a 3-layer head with batch norm, as lightly before 2024-11-08 (the published Imagenette and ImageNet100 rows)', false),
    teacher_backbone_init: oneOf('teacher backbone: copy of the student (docs scripts, ImageNet1k R50) or independent init (ImageNet1k ViT); the teacher head is always built separately', ['copy', 'independent'], 'copy'),
    eval_backbone: oneOf('backbone kNN and the export use: student (docs scripts) or teacher (ImageNet1k)', ['student', 'teacher'], 'student'),
    view_batches: oneOf('separate: one forward batch per view (docs scripts); grouped: the global views as one batch and the local views as another (ImageNet1k scripts), which changes batch-norm statistics', ['separate', 'grouped'], 'separate'),
    weight_decay_end: num('weight decay at the last step of a cosine schedule from train.optimizer.weight_decay (ImageNet1k ViT: 0.04 -> 0.4); null: constant', null, { minimum: 0, nullable: true }),
  }),
  fastsiam: obj('FastSiam (docs/methods.md §4.6)', { ...simsiamNets }),
  mae: obj('MAE (docs/methods.md §4.7)', {
    mask_ratio: num('fraction of patch tokens masked', 0.75, { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    decoder_dim: dim('decoder width', 512),
    decoder_depth: int('decoder transformer blocks', 1, atLeast1),
    decoder_heads: int('decoder attention heads', 16, atLeast1),
  }),
  msn: obj('MSN (docs/methods.md §4.8)', { ...msnParams }),
  moco: obj('MoCo v2 (docs/methods.md §4.9)', {
    temperature: temperature(0.1),
    memory_bank_size: int('negatives queue length (8192 for the starred bs-512 rows)', 4096, atLeast1),
    momentum: ema('EMA momentum of the key encoder', 0.99),
    projection_hidden_dim: dim('projection head hidden size', 512),
    projection_out_dim: dim('projection head output size', 128),
    symmetric: bool('average the loss over both query/key assignments', true),
    shuffle_bn: bool('shuffle the key batch around the momentum encoder', true),
  }),
  nnclr: obj('NNCLR (docs/methods.md §4.10)', {
    temperature: temperature(0.5),
    memory_bank_size: int('support set size (8192 for the starred bs-512 rows)', 4096, atLeast1),
    projection_hidden_dim: dim('projection head hidden size', 2048),
    projection_out_dim: dim('projection head output size', 256),
    projection_layers: projectionLayers(2),
    prediction_hidden_dim: dim('prediction head hidden size', 4096),
  }),
  pmsn: obj('PMSN (docs/methods.md §4.11)', {
    ...msnParams,
    power_law_exponent: num('exponent of the power-law prototype prior k^(-exponent)', 0.25, positive),
  }),
  simclr: obj('SimCLR (docs/methods.md §4.12)', {
    temperature: temperature(0.5),
    ...simclrHead,
    view_batches: pairViewBatches,
  }),
  simmim: obj('SimMIM (docs/methods.md §4.13)', {
    mask_ratio: num('fraction of patch tokens masked', 0.75, { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  }),
  simsiam: obj('SimSiam (docs/methods.md §4.14)', { ...simsiamNets }),
  swav: obj('SwaV (docs/methods.md §4.15)', {
    prototypes: int('number of prototypes', 512, atLeast1),
    projection_hidden_dim: dim('projection head hidden size', 512),
    projection_out_dim: dim('projection head output size', 128),
    ...swavNets,
    freeze_prototypes_epochs: int('epochs during which the prototypes get no gradient', 0, { minimum: 0 }),
  }),
  swavqueue: obj('SwaV with queue (docs/methods.md §4.16)', {
    prototypes: int('number of prototypes', 3000, atLeast1),
    projection_hidden_dim: dim('projection head hidden size', 2048),
    projection_out_dim: dim('projection head output size', 128),
    ...swavNets,
    freeze_prototypes_epochs: int('epochs during which the prototypes get no gradient', 1, { minimum: 0 }),
    queue_length: int('entries per high-resolution crop queue', 384, atLeast1),
    queue_start_epoch: int('epoch from which queue scores join the Sinkhorn step', 15, { minimum: 0 }),
    queue_fill_start_epoch: int('epoch from which the queues are filled (ImageNet1k R50 script: 15, as the scores)', 0, { minimum: 0 }),
    queue_after_batch: int('queue scores are used only when the batch index within the epoch exceeds this (ImageNet1k R50 script: 15); null: every batch', null, { minimum: 0, nullable: true }),
  }),
  smog: obj('SMoG (docs/methods.md §4.17)', {
    groups: int('number of groups (prototypes)', 300, atLeast1),
    group_momentum: ema('momentum of the group feature update', 0.99),
    temperature: temperature(0.1),
    memory_bank_size: int('entries of the k-means memory bank', 10000, atLeast1),
    reset_interval: int('global steps between k-means resets of the groups', 300, atLeast1),
    kmeans_n_init: int('k-means++ starts per re-clustering, the lowest inertia kept (scikit-learn 1.2 KMeans default 10)', 10, atLeast1),
    momentum: ema('EMA momentum of the momentum encoder', 0.99),
    projection_hidden_dim: dim('projection head hidden size', 2048),
    projection_out_dim: dim('projection head output size', 128),
    prediction_hidden_dim: dim('prediction head hidden size', 2048),
  }),
  tico: obj('TiCo (docs/methods.md §4.18)', {
    beta: ema('momentum of the running covariance estimate', 0.9),
    rho: num('weight of the covariance contrast term', 8, { minimum: 0 }),
    detach_batch_covariance: bool('stop the gradient through this batch\'s covariance z_aᵀz_a/N (false: the published Imagenette and ImageNet1k rows, docs/methods.md §4.21)', true),
    projection_hidden_dim: dim('projection head hidden size', 1024),
    projection_out_dim: dim('projection head output size', 256),
    momentum_start: ema('EMA momentum of the target network at epoch 0', 0.996),
    momentum_end: ema('EMA momentum at the last epoch (cosine schedule)', 1.0),
  }),
  vicreg: obj('VICReg (docs/methods.md §4.19)', {
    lambda: num('weight of the invariance term', 25, { minimum: 0 }),
    mu: num('weight of the variance term', 25, { minimum: 0 }),
    nu: num('weight of the covariance term', 1, { minimum: 0 }),
    eps: num('epsilon inside the standard deviation', 1e-4, positive),
    projection_hidden_dim: dim('projection head hidden size', 2048),
    projection_out_dim: dim('projection head output size', 2048),
    projection_layers: projectionLayers(3),
    view_batches: pairViewBatches,
  }),
  vicregl: obj('VICRegL (docs/methods.md §4.20)', {
    alpha: prob('weight of the global loss (1 - alpha for the local loss)', 0.75),
    lambda: num('weight of the invariance term', 25, { minimum: 0 }),
    mu: num('weight of the variance term', 25, { minimum: 0 }),
    nu: num('weight of the covariance term', 1, { minimum: 0 }),
    num_matches: tuple('local matches kept (A to B, B to A)', int('', 0, atLeast1), [16, 4]),
    projection_hidden_dim: dim('global projection head hidden size', 2048),
    projection_out_dim: dim('global projection head output size', 2048),
    local_projection_hidden_dim: dim('local projection head hidden size', 128),
    local_projection_out_dim: dim('local projection head output size', 128),
  }),
} satisfies Record<string, ObjectSpec>;

export type MethodId = keyof typeof METHOD_PARAMS;

/** The resolved `method.params` of one method, e.g. `MethodParams<'moco'>['memory_bank_size']`. */
export type MethodParams<M extends MethodId> = ValuesOf<(typeof METHOD_PARAMS)[M]>;
