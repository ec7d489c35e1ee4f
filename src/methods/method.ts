/**
 * The contract every self-supervised method implements: a `Method` reads like the paper's
 * algorithm box — which networks exist and which of them train, how many views it consumes, the
 * loss over those views, the teacher's momentum schedule, the state it carries between steps, and
 * which backbone the kNN evaluation embeds with (METHODS.md §4, §5.1).
 *
 * A method never touches data, optimizers, sessions or files: src/runner/pretrain.ts assembles it
 * with the backbone, the augmentation views and the optimizer into one training-step graph.
 *
 *   export const simclr: Method = {
 *     id: 'simclr', section: '§4.12',
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
 * How the building blocks of the other methods map onto it:
 *  - momentum encoder (MoCo, BYOL, TiCo, SMoG, DINO teacher): a network with role 'ema' whose
 *    `emaOf` names the trained network it follows (parameter by parameter, same torch names under
 *    another prefix) and, for a deep copy, `initFrom` the same prefix; leave `initFrom` out for an
 *    "independently initialised" teacher head. The EMA update runs in the graph before the
 *    forward pass (lightly's order) with the momentum `emaMomentum(at)` returns. EMA networks run in
 *    training mode (batch statistics, their own running statistics), as in the reference.
 *  - the same backbone definition serves online and momentum encoders: Modules are stateless
 *    descriptions, so a method passes `backbone.module` again under another prefix.
 *  - queues and memory banks (MoCo negatives, NNCLR support set, SMoG bank), TiCo's running C,
 *    DINO's centre: `state` entries with their initial values; read them with step.state(name),
 *    write the next value with step.setState(name, value) (detached). Two enqueues in one step
 *    (MoCo symmetric) are two chained updates inside buildLoss.
 *  - per-step inputs the graph needs: randomness (MoCo's shuffle-BN permutation, MAE masks), drawn
 *    in TypeScript from the run's seeded 'method' stream (checkpointed), and schedule-dependent
 *    scalars (DINO's teacher-temperature warmup; a 0/1 "prototypes train" flag for SwaV/DINO's
 *    frozen epochs, applied as w' = f·w + (1 − f)·sg(w), which scales w's gradient by f): `sampleInputs`
 *    returns them by name and the graph declares the matching step.input(...).
 *  - SplitBatchNorm (MoCo CIFAR): comes with the backbone (`backbone.split_bn` in the config).
 *  - views: the method says how many views it consumes; the augmentation preset must produce
 *    exactly that many (FastSiam 4, SwaV/DINO multi-crop: global views first, as the presets order them).
 *  - views go through the networks as separate batches (the docs scripts' order): call the
 *    network once per view on the same forward context, so BN running statistics update per call.
 */
import type { ResolvedConfig, ParamValue } from '../config';
import type { Rng } from '../data/rng';
import type { StepBuilder } from '../engine/train-step';
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
  /** trained: updated by the optimizer; ema: teacher following `emaOf`; frozen: read only. */
  role: 'trained' | 'ema' | 'frozen';
  /** role 'ema': prefix of the trained network whose parameters this one follows. */
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

export interface MethodInstance {
  /** Augmentation views the loss consumes, in the preset's order. */
  readonly views: number;
  readonly networks: readonly MethodNetwork[];
  readonly state?: readonly MethodState[];
  /** Prefix of the backbone kNN and the export use (METHODS.md §5.1: online, student or target). */
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

export interface Method {
  /** Config id (`method.name`). */
  readonly id: string;
  /** The METHODS.md section the implementation follows. */
  readonly section: string;
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
