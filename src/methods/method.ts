/**
 * The contract every self-supervised method implements: a `Method` reads like the paper's
 * algorithm box — which networks exist and which of them train, how many views it consumes, the
 * loss over those views, the teacher's momentum schedule, the state it carries between steps, and
 * which backbone the kNN evaluation embeds with (docs/methods.md §4, §5.1) — and carries its own
 * catalogue entry (label, description, parameter schema, default preset; see `Method`).
 *
 * A method never touches data, optimizers, sessions or files: src/runner/pretrain.ts assembles it
 * with the backbone, the augmentation views and the optimizer into one training-step graph.
 *
 *   export const simclr: Method = {
 *     id: 'simclr', label: 'SimCLR', description: '…', section: '§4.12',
 *     params: METHOD_PARAMS.simclr, defaultPreset: 'simclr',
 *     create({ backbone, params }) {
 *       const projection = simclrProjectionHead(backbone.featureDim, hidden, out);
 *       return {
 *         views: 2,
 *         networks: [{ prefix: 'backbone', module: backbone.module, role: 'trained' },
 *                    { prefix: 'projection_head', module: projection, role: 'trained' }],
 *         evalBackbone: 'backbone',
 *         buildLoss(step, [x0, x1]) { ... return { loss: ntXentLoss(z0, z1, τ) }; },
 *       };
 *     },
 *   };
 *
 * How the building blocks of the methods map onto it (src/runner/assembled-method.ts assembles them):
 *  - momentum encoder (MoCo, BYOL, TiCo, SMoG, DINO teacher): a network with role 'ema' whose
 *    `emaOf` names the trained network it follows (parameter by parameter, same torch names under
 *    another prefix) and, for a deep copy, `initFrom` the same prefix; leave `initFrom` out for an
 *    "independently initialised" teacher head. The EMA update is a pre-forward transform that runs
 *    before every other transform and the forward pass (lightly's order) with the momentum
 *    `emaMomentum(at)` returns (m = 1 leaves the teacher bitwise unchanged). EMA networks run in
 *    training mode (batch statistics, their own running statistics), as in the reference. A
 *    role-'ema' network without `emaOf` is a teacher changed only by transforms and `beforeStep`.
 *  - the same backbone definition serves online and momentum encoders: Modules are stateless
 *    descriptions, so a method passes `backbone.module` again under another prefix.
 *  - queues and memory banks (MoCo negatives, NNCLR support set, SMoG bank), TiCo's running C,
 *    DINO's centre: `state` entries with their initial values; read them with step.state(name),
 *    write the next value with step.setState(name, value) (detached). Two enqueues in one step
 *    (MoCo symmetric) are two chained updates inside buildLoss.
 *  - per-step scalars (DINO's teacher-temperature warmup, a loss weight schedule): `scalars`, one
 *    function of the SchedulePoint per name, read in buildLoss with step.scalar(name).
 *  - per-step random inputs (MoCo's shuffle-BN permutation, MAE masks): `sampleInputs`, drawn in
 *    TypeScript from the run's seeded 'method' stream (checkpointed); the graph declares the
 *    matching step.input(...).
 *  - optimizer settings per parameter and step (torch param_groups; requires_grad switched by
 *    epoch): `paramGroups`. DINO's last layer frozen in epoch 0 and SwaV's prototypes frozen in the
 *    first epochs are `trains: (at) => at.epoch >= k` — a frozen parameter gets no update, no
 *    weight decay, no momentum/Adam-state change and no share in gradient clipping, exactly as a
 *    parameter whose grad is None; DINO's weight-decay schedule is `weightDecay: (at) => …`.
 *  - in-place rewrites of parameters or state (SwaV's prototypes.normalize() at the start of every
 *    step; a clamp after the update): `transforms` with stage 'pre-forward' (the value the forward
 *    sees, the gradient is taken at and the optimizer updates; stored back even when frozen) or
 *    'post-update' (applied to the next value).
 *  - work a graph cannot do (SMoG's k-means of the bank and reset of the momentum networks every
 *    300 steps): `beforeStep(at, host)`, called on the host before each step with read/write access
 *    to every state entry by name and the run's 'method' stream. Whatever it must remember lives in
 *    state entries (declare them in `state`), so checkpoints carry it and a resumed run repeats
 *    the uninterrupted one bit for bit.
 *  - SplitBatchNorm (MoCo CIFAR): comes with the backbone (`backbone.split_bn` in the config).
 *  - views: the method says how many views it consumes; the augmentation preset must produce
 *    exactly that many (FastSiam 4, SwaV/DINO multi-crop: global views first, as the presets order them).
 *  - views go through the networks as separate batches (the docs scripts' order): call the
 *    network once per view on the same forward context, so BN running statistics update per call.
 *    Where a reference script concatenates views (ImageNet1k), the method param `view_batches:
 *    grouped` forwards them as one batch and splits the output (dino.ts, projected-pair.ts).
 *
 * Example (SwaV-like prototypes: normalised before every step, frozen in epoch 0, a temperature
 * schedule, a host hook):
 *
 *   paramGroups: [{ name: 'prototypes', params: (n) => n.startsWith('prototypes.'), trains: (at) => at.epoch >= 1 }],
 *   transforms: [{ name: 'normalize-prototypes', stage: 'pre-forward',
 *                  targets: (n) => n === 'prototypes.weight', apply: (w) => l2NormalizeRows(w) }],
 *   scalars: { 'swav.temperature': (at) => 0.1 },          // step.scalar('swav.temperature') in buildLoss
 *   beforeStep(at, host) { if (at.globalStep % 300 === 0) host.write('bank', kmeans(host.read('bank'), host.rng)); },
 */
import type { ResolvedConfig, ParamValue } from '../config';
import type { ObjectSpec } from '../config/spec';
import type { Rng } from '../data/rng';
import type { StepBuilder, TransformContext } from '../engine/train-step';
import type { HostData } from '../engine/state-store';
import type { Tensor } from '../graph';
import type { Module } from '../nn/module';
import type { Backbone } from '../nn/backbones';

/** Where the training stands when a schedule is evaluated (all 0-based). */
export interface SchedulePoint {
  epoch: number;
  totalEpochs: number;
  globalStep: number;
  totalSteps: number;
}

export interface MethodNetwork {
  /** Name prefix of the network's parameters and buffers in the training state, e.g. 'backbone'. */
  prefix: string;
  module: Module;
  /** trained: updated by the optimizer; ema: teacher (following `emaOf` when given); frozen: read only. */
  role: 'trained' | 'ema' | 'frozen';
  /** role 'ema': prefix of the trained network whose parameters this one follows by EMA. */
  emaOf?: string;
  /** Start from a copy of this network's initial values (deep copy) instead of a fresh init. */
  initFrom?: string;
}

/** A value the method carries from step to step outside any module (queue, pointer, running statistic). */
export interface MethodState {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int64';
  /** Initial value; `rng` is a stream of its own for this entry (derived from the run seed). */
  initial(rng: Rng): HostData;
}

/** Host data for one per-step graph input computed in TypeScript. */
export interface SampledInput {
  dtype: 'float32' | 'int64' | 'int32';
  data: Float32Array | BigInt64Array | Int32Array;
  dims: number[];
}

/**
 * Trained parameters with optimizer scalars of their own, set per step (torch's param_groups, plus
 * requires_grad switched by schedule). Only the method's trained networks' parameters are matched;
 * the first group whose `params` accepts a parameter holds it; unmatched ones use the run's LR and
 * weight decay.
 */
export interface ParamGroup {
  /** Group id: graph inputs 'group.<name>.lr|weight_decay|update'. */
  readonly name: string;
  /** Membership by state name '<prefix>.<torch name>', e.g. (n) => n.startsWith('projection_head.last_layer.'). */
  params(name: string): boolean;
  /** Factor on the run's scheduled LR. */
  readonly lrScale?: number | ((at: SchedulePoint) => number);
  /**
   * Weight decay of the group's decaying parameters instead of train.optimizer.weight_decay
   * (`configured`); parameters the run excludes from decay (norm/bias) stay undecayed.
   */
  readonly weightDecay?: number | ((at: SchedulePoint, configured: number) => number);
  /** Whether the group trains at this step; false leaves it as torch leaves a parameter whose grad is None. */
  trains?(at: SchedulePoint): boolean;
  /**
   * While `trains` is false the group's gradients still count in train.grad_clip_norm's global norm:
   * the reference computes them, clips, and only then drops them (lightly's DINO
   * `cancel_last_layer_gradients` after `clip_gradients`). Default false (grad None: no share).
   */
  readonly clippedWhileFrozen?: boolean;
}

/** An in-graph rewrite of state entries (see the header and engine/train-step.ts StateTransform). */
export interface ParamTransform {
  readonly name: string;
  readonly stage: 'pre-forward' | 'post-update';
  /** Which entries it rewrites, by state name: parameters of trained or ema networks, buffers, method state. */
  targets(name: string): boolean;
  /** The rewritten value (no gradient flows through it); ctx.scalar reads the method's `scalars`. */
  apply(value: Tensor, ctx: TransformContext): Tensor;
}

/** What `beforeStep` may touch: every state entry by name, and the run's 'method' random stream. */
export interface HostStepAccess {
  /** Names of every state entry (parameters, teachers, optimizer state, buffers, method state). */
  readonly names: readonly string[];
  /** A copy of an entry's current value. */
  read(name: string): HostData;
  /** Replaces an entry's value (same dtype and size). */
  write(name: string, data: HostData): void;
  /** The run's seeded 'method' stream (also sampleInputs'; checkpointed). */
  readonly rng: Rng;
}

export interface MethodInstance {
  /** Augmentation views the loss consumes, in the preset's order. */
  readonly views: number;
  readonly networks: readonly MethodNetwork[];
  readonly state?: readonly MethodState[];
  /** Prefix of the backbone kNN and the export use (docs/methods.md §5.1: online, student or target). */
  readonly evalBackbone: string;
  /**
   * Records the forward passes and the loss into the step graph. `views` are normalised float32
   * [B, C, S, S] tensors, one per view. Metrics are extra scalar outputs (logged, not optimised).
   */
  buildLoss(step: StepBuilder, views: readonly Tensor[]): { loss: Tensor; metrics?: Record<string, Tensor> };
  /** Teacher EMA momentum at `at`; required when a network has role 'ema'. */
  emaMomentum?(at: SchedulePoint): number;
   /**
   * Per-step graph inputs (names as declared with step.input in buildLoss). The pretraining always
   * passes `at`, the position of the step they feed.
   */
  sampleInputs?(rng: Rng, batchSize: number, at?: SchedulePoint): Record<string, SampledInput>;
  /** Per-step float32 scalar inputs by name, read with step.scalar(name); e.g. a temperature schedule. */
  readonly scalars?: Readonly<Record<string, (at: SchedulePoint) => number>>;
  /** Parameter groups with per-step LR scale, weight decay and update switch. */
  readonly paramGroups?: readonly ParamGroup[];
  /** In-graph rewrites of parameters or state, after the EMA update, in this order. */
  readonly transforms?: readonly ParamTransform[];
  /**
   * Host-side work before the step at `at` (after the previous step's state is stored, before
   * sampleInputs draws for this step).
   */
  beforeStep?(at: SchedulePoint, host: HostStepAccess): void | Promise<void>;
}

export interface MethodContext {
  config: ResolvedConfig;
  /** `method.params` of the config, every default filled (src/config/method-params.ts). */
  params: Record<string, ParamValue>;
  /** The configured backbone (width, input channels and SplitBN already applied). */
  backbone: Backbone;
  /** Training batch size (static in the graph). */
  batchSize: number;
}

/**
 * A method's spec: everything the rest of the tool knows about it comes from here — the config's
 * `method.name` values and `method.params` schema (and so the JSON Schema), the table label, the
 * `ssl-bench list` line, the preset a config gets by default, and the implementation that
 * `validate` and the run both call. Registering it is one line in src/methods/registry.ts.
 */
export interface Method {
  /** Config id (`method.name`). */
  readonly id: string;
  /** Model name as printed in the published tables (docs/methods.md §1). */
  readonly label: string;
  /** One line for `ssl-bench list`. */
  readonly description: string;
  /** The docs/methods.md section the implementation follows. */
  readonly section: string;
  /** Allowed `method.params` with their defaults (src/config/method-params.ts holds the specs). */
  readonly params: ObjectSpec;
  /** `augmentation.preset` of a config that sets none: the method's own transform. */
  readonly defaultPreset: string;
  /**
   * What the online linear classifier (eval.online_linear, docs/methods.md §5.2) trains on:
   * 'first' (default) the eval backbone's training-mode pass on view 0; 'all' every training-mode
   * pass of the eval backbone in the step, rows concatenated in call order, the batch labels
   * repeated to match (the ImageNet1k R50 scripts of SimCLR, DCL, DCLW, BarlowTwins and VICReg:
   * `features.detach()` of the concatenated views with `targets.repeat(len(views))`).
   */
  readonly onlineClassifierViews?: 'first' | 'all';
  /**
   * The networks, views and loss for one run. Throw a UserError (one line naming the config field)
   * for a config it cannot train — `validate` calls this on every config before any data loads.
   */
  create(ctx: MethodContext): MethodInstance;
}

/** A numeric method parameter (validated by the config schema, so only the type is asserted). */
export function numberParam(params: Record<string, ParamValue>, name: string): number {
  const v = params[name];
  if (typeof v !== 'number') throw new Error(`method.params.${name}: expected a number after config resolution, got ${JSON.stringify(v)}`);
  return v;
}

/** A boolean method parameter. */
export function booleanParam(params: Record<string, ParamValue>, name: string): boolean {
  const v = params[name];
  if (typeof v !== 'boolean') throw new Error(`method.params.${name}: expected a boolean after config resolution, got ${JSON.stringify(v)}`);
  return v;
}
