import { Graph, GraphError, formatShape, grad, greater, stopGradient, toOnnx, where, type DType, type Shape, type Tensor } from '../graph';
import { GraphForwardContext, type BufferSpec, type Module, type ParamSpec } from '../nn/module';
import { clipGradNorm, decays, emaUpdate, type OptimizerRule } from '../optim';

/** A value the training step carries from one run to the next. */
export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int64';
  /**
   * param: trained by the optimizer; frozen: read, never changed; ema: a teacher parameter, changed
   * only by transforms (the EMA of its online counterpart, host hooks); optim: optimizer state
   * (zero-initialised); buffer: module buffer (BN running statistics) or method state.
   */
  readonly role: 'param' | 'frozen' | 'ema' | 'optim' | 'buffer';
}

export interface DataInput {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** Graph output that carries the next value of state entry `name`. */
export function nextName(name: string): string {
  return `${name}:next`;
}

/** Graph output that carries the gradient of parameter `name` (exposeGradients). */
export function gradName(name: string): string {
  return `grad:${name}`;
}

export const SCALAR = { lr: 'lr', weightDecay: 'weight_decay', emaMomentum: 'ema_momentum' } as const;

/** Scalar inputs of a parameter group: its LR, its weight decay, its 0/1 update mask. */
export function groupScalarName(group: string, what: 'lr' | 'weight_decay' | 'update'): string {
  return `group.${group}.${what}`;
}

/**
 * Trainable parameters whose per-step optimizer scalars are graph inputs of their own (torch's
 * param_groups, plus requires_grad switched per step). Parameters in no group use `lr` and
 * `weight_decay`. `lr`/`weightDecay` true: the group's own inputs replace the run's (a norm/bias
 * parameter excluded from decay stays undecayed). `update` true: input 'group.<name>.update'
 * (0 or 1); at 0 the group's parameters are left exactly as requires_grad=False leaves them in
 * torch: no update, no weight decay, optimizer state unchanged, no share in gradient clipping.
 */
export interface ParamGroupInputs {
  readonly name: string;
  readonly params: readonly string[];
  readonly lr?: boolean;
  readonly weightDecay?: boolean;
  readonly update?: boolean;
  /**
   * While masked, the group's gradients still count in the clip norm (lightly's DINO clips the
   * gradients and only then cancels the frozen last layer's, `cancel_last_layer_gradients`).
   */
  readonly clippedWhileFrozen?: boolean;
}

/** What a transform may read while it builds the next value of one state entry. */
export interface TransformContext {
  readonly graph: Graph;
  /** The entry being transformed. */
  readonly name: string;
  /**
   * Another entry's value at this stage: for a pre-forward transform as the forward pass sees it
   * (after the transforms declared before), for a post-update transform its next value.
   */
  read(name: string): Tensor;
  /** A per-step scalar input (declared in TrainStepSpec.scalars, or lr / weight_decay / ema_momentum). */
  scalar(name: string): Tensor;
}

/**
 * A value rewrite of state entries inside the step. 'pre-forward': the rewritten value is what the
 * forward pass uses, what the gradient is taken with respect to and what the optimizer updates
 * (torch's in-place `w.data = f(w.data)` before the step: SwaV's prototype normalisation; the EMA
 * teacher update). 'post-update': rewrites the next value after the optimizer update. No gradient
 * flows through a transform. Targets may be param, ema or buffer entries.
 */
export interface StateTransform {
  readonly name: string;
  readonly stage: 'pre-forward' | 'post-update';
  readonly targets: readonly string[];
  apply(value: Tensor, ctx: TransformContext): Tensor;
}

/**
 * The EMA teacher update θ_t ← m·θ_t + (1−m)·θ (lightly's update_momentum) as a pre-forward
 * transform: `sourceOf(target)` names the online parameter, `m` is the scalar 'ema_momentum'.
 */
export function emaTransform(pairs: readonly { target: string; source: string }[]): StateTransform {
  const sources = new Map(pairs.map((p) => [p.target, p.source]));
  return {
    name: 'ema',
    stage: 'pre-forward',
    targets: pairs.map((p) => p.target),
    apply: (value, ctx) => emaUpdate(value, ctx.read(sources.get(ctx.name)!), ctx.scalar(SCALAR.emaMomentum)),
  };
}

/** What the method's `build` function uses to record its forward pass and loss. */
export interface StepBuilder {
  readonly graph: Graph;
  /** A per-step data input (images, augmentation parameters, labels ...). */
  input(name: string, shape: Shape, dtype?: DType): Tensor;
  /**
   * A forward context for `module` whose parameters and buffers are this step's state entries
   * named `<prefix>.<torch name>`. One context per network; call the module several times on it
   * for several views (BN running statistics then update once per call, as in torch).
   */
  forward(module: Module, opts?: { prefix?: string; training?: boolean }): GraphForwardContext;
  /** The step's value of a state entry (a parameter or buffer not owned by a module, e.g. a queue). */
  state(name: string): Tensor;
  /** The next value of a buffer state entry that no module sets (e.g. a memory-bank queue). */
  setState(name: string, value: Tensor): void;
  /** A per-step float32 scalar input declared in TrainStepSpec.scalars (e.g. a temperature schedule). */
  scalar(name: string): Tensor;
}

export interface TrainStepSpec {
  name: string;
  /** Parameters the optimizer trains. */
  trainable: readonly ParamSpec[];
  /** Parameters that are read but never updated (e.g. a frozen layer). */
  frozen?: readonly ParamSpec[];
  buffers: readonly BufferSpec[];
  optimizer: OptimizerRule;
  /** ImageNet scripts: norm-layer parameters and biases get no weight decay. */
  excludeNormBiasFromWd?: boolean;
  /**
   * Parameters in a weight-decay-0 group whatever excludeNormBiasFromWd says (lightly's online
   * linear classifier, docs/methods.md §5.2; under LARS this also means no trust-ratio scaling).
   */
  noWeightDecay?: readonly string[];
  /** Teacher parameters (role 'ema'): changed only by transforms and host hooks. */
  teachers?: readonly ParamSpec[];
  /**
   * Shorthand for teachers + emaTransform: target ← m·target + (1−m)·source before the forward
   * pass (lightly's order), m the scalar 'ema_momentum'. Applied before `transforms`.
   */
  emaPairs?: readonly { target: ParamSpec; source: string }[];
  /** Parameter groups with their own per-step scalars (a parameter in at most one). */
  groups?: readonly ParamGroupInputs[];
  /** Value rewrites in declaration order (after the emaPairs update). */
  transforms?: readonly StateTransform[];
  /** Extra float32 scalar inputs fed every step (schedules), read with step.scalar / ctx.scalar. */
  scalars?: readonly string[];
  /** Clip the global gradient norm (torch clip_grad_norm_); adds the metric 'grad_norm'. */
  gradClipNorm?: number | null;
  /** Also output every trainable parameter's gradient (before clipping) as 'grad:<name>' (cross-checks). */
  exposeGradients?: boolean;
  build(step: StepBuilder): { loss: Tensor; metrics?: Record<string, Tensor> };
}

export interface TrainStepModel {
  readonly modelBytes: Uint8Array;
  /** Every model input, in the model's order. */
  readonly inputNames: string[];
  /** 'loss', the metric names, then nextName(entry) for every entry in updatedNames. */
  readonly outputNames: string[];
  readonly dataInputs: DataInput[];
  readonly scalarNames: string[];
  readonly metricNames: string[];
  readonly state: StateEntry[];
  /** Names of the state entries (inputs), in order. */
  readonly stateNames: string[];
  /** State entries the step changes (each has output nextName(name)); the others keep their value. */
  readonly updatedNames: string[];
  /** Outputs 'grad:<param>' when built with exposeGradients (parameters the loss reaches). */
  readonly gradientNames: string[];
}

/**
 * Builds the whole training step as one ONNX model: pre-forward transforms (the EMA of teacher
 * parameters first), the method's forward pass and loss, reverse-mode gradients of the trainable
 * parameters, optional global-norm clipping, the optimizer update per parameter group and the
 * post-update transforms. Inputs: data tensors, scalars (lr, weight_decay, ema_momentum when there
 * are EMA pairs, the groups' and the spec's own) and every state entry; outputs: loss, metrics
 * and the next value of every state entry that changes. Trainable parameters the loss does not
 * reach keep their value and state (torch skips parameters without a gradient).
 */
export function buildTrainStep(spec: TrainStepSpec): TrainStepModel {
  const g = new Graph(spec.name);
  const fail = (message: string): never => {
    throw new GraphError(`train step '${spec.name}': ${message}`);
  };
  const state: StateEntry[] = [];
  const roles = new Map<string, StateEntry['role']>();
  const inputs = new Map<string, Tensor>();
  const declare = (name: string, shape: readonly number[], dtype: 'float32' | 'int64', role: StateEntry['role']): Tensor => {
    if (inputs.has(name)) fail(`state entry '${name}' is declared twice`);
    const t = g.input(name, shape, dtype);
    inputs.set(name, t);
    roles.set(name, role);
    state.push({ name, shape: [...shape], dtype, role });
    return t;
  };
  const scalars = new Map<string, Tensor>();
  const scalarInput = (name: string): Tensor => {
    if (scalars.has(name)) fail(`scalar input '${name}' is declared twice`);
    const t = g.input(name, []);
    scalars.set(name, t);
    return t;
  };
  const lr = scalarInput(SCALAR.lr);
  const wd = scalarInput(SCALAR.weightDecay);
  const emaPairs = spec.emaPairs ?? [];
  if (emaPairs.length) scalarInput(SCALAR.emaMomentum);

  const trainableNames = new Set(spec.trainable.map((p) => p.name));
  const groupOf = new Map<string, { spec: ParamGroupInputs; lr: Tensor | null; wd: Tensor | null; update: Tensor | null }>();
  for (const group of spec.groups ?? []) {
    const entry = {
      spec: group,
      lr: group.lr ? scalarInput(groupScalarName(group.name, 'lr')) : null,
      wd: group.weightDecay ? scalarInput(groupScalarName(group.name, 'weight_decay')) : null,
      update: group.update ? scalarInput(groupScalarName(group.name, 'update')) : null,
    };
    for (const name of group.params) {
      if (!trainableNames.has(name)) fail(`group '${group.name}': '${name}' is not a trainable parameter`);
      if (groupOf.has(name)) fail(`parameter '${name}' is in groups '${groupOf.get(name)!.spec.name}' and '${group.name}'`);
      groupOf.set(name, entry);
    }
  }
  for (const name of spec.scalars ?? []) scalarInput(name);

  spec.trainable.forEach((p) => declare(p.name, p.shape, 'float32', 'param'));
  const optimState = spec.trainable.map((p) => spec.optimizer.stateFor(p).map((s) => declare(s.name, s.shape, s.dtype, 'optim')));
  for (const p of spec.frozen ?? []) declare(p.name, p.shape, 'float32', 'frozen');
  for (const { target } of emaPairs) declare(target.name, target.shape, 'float32', 'ema');
  for (const p of spec.teachers ?? []) declare(p.name, p.shape, 'float32', 'ema');
  for (const b of spec.buffers) declare(b.name, b.shape, b.dtype, 'buffer');

  // What module code sees for each state entry: trainable parameters as they are (gradients flow),
  // frozen ones behind stopGradient, transformed entries as their transform left them.
  const next = new Map<string, Tensor>();
  const visible = new Map<string, Tensor>();
  for (const e of state) visible.set(e.name, e.role === 'frozen' ? stopGradient(inputs.get(e.name)!) : inputs.get(e.name)!);

  const transforms: StateTransform[] = [];
  if (emaPairs.length) {
    for (const { target, source } of emaPairs) {
      const src = inputs.get(source);
      if (!src || roles.get(source) !== 'param') fail(`EMA source '${source}' of '${target.name}' is not a trainable parameter`);
      if (formatShape(src!.shape) !== formatShape(target.shape)) {
        fail(`EMA target '${target.name}' ${formatShape(target.shape)} vs source '${source}' ${formatShape(src!.shape)}`);
      }
    }
    transforms.push(emaTransform(emaPairs.map((p) => ({ target: p.target.name, source: p.source }))));
  }
  transforms.push(...(spec.transforms ?? []));
  for (const t of transforms) {
    for (const name of t.targets) {
      const role = roles.get(name);
      if (role !== 'param' && role !== 'ema' && role !== 'buffer') fail(`transform '${t.name}': target '${name}' ${role ? `has role ${role}` : 'is not a state entry'}; param, ema and buffer entries can be transformed`);
    }
  }
  const scalar = (name: string): Tensor => scalars.get(name) ?? fail(`scalar '${name}' is not an input; declare it in TrainStepSpec.scalars`);
  const runTransforms = (stage: StateTransform['stage'], current: (name: string) => Tensor) => {
    for (const t of transforms.filter((x) => x.stage === stage)) {
      g.scope(t.name, () => {
        for (const name of t.targets) {
          const ctx: TransformContext = {
            graph: g, name, scalar,
            read: (other) => (roles.has(other) ? current(other) : fail(`transform '${t.name}': read '${other}': not a state entry`)),
          };
          const value = current(name);
          const out = t.apply(value, ctx);
          if (formatShape(out.shape) !== formatShape(value.shape) || out.dtype !== value.dtype) {
            fail(`transform '${t.name}' of '${name}': ${out.dtype}${formatShape(out.shape)} vs ${value.dtype}${formatShape(value.shape)}`);
          }
          const stopped = stopGradient(out);
          if (stage === 'pre-forward') visible.set(name, stopped);
          next.set(name, stopped);
        }
      });
    }
  };
  runTransforms('pre-forward', (name) => visible.get(name)!);
  // The tensors the gradient is taken with respect to and the optimizer updates: a pre-forward
  // transform's output when there is one (torch differentiates the rewritten leaf).
  const params = spec.trainable.map((p) => visible.get(p.name)!);

  const contexts: GraphForwardContext[] = [];
  const lookup = (name: string, what: string): Tensor => visible.get(name) ?? fail(`${what} '${name}' is not a state entry; declare it in trainable, frozen, emaPairs, teachers or buffers`);
  const dataInputs: DataInput[] = [];
  const setByStep = new Set<string>();
  const builder: StepBuilder = {
    graph: g,
    input(name, shape, dtype = 'float32') {
      dataInputs.push({ name, shape: [...shape], dtype });
      return g.input(name, shape, dtype);
    },
    forward(module, opts = {}) {
      const ctx = new GraphForwardContext(g, module, {
        training: opts.training ?? true,
        prefix: opts.prefix,
        source: (s) => lookup(s.name, 'dtype' in s ? 'buffer' : 'parameter'),
      });
      contexts.push(ctx);
      return ctx;
    },
    state: (name) => lookup(name, 'state'),
    setState(name, value) {
      const e = state.find((s) => s.name === name);
      if (!e || e.role !== 'buffer') fail(`setState '${name}': only buffer entries can be set`);
      if (formatShape(value.shape) !== formatShape(e!.shape) || value.dtype !== e!.dtype) {
        fail(`setState '${name}': ${value.dtype}${formatShape(value.shape)} vs ${e!.dtype}${formatShape(e!.shape)}`);
      }
      setByStep.add(name);
      next.set(name, stopGradient(value));
    },
    scalar,
  };
  const { loss, metrics = {} } = spec.build(builder);
  if (loss.shape.length !== 0 || loss.dtype !== 'float32') {
    fail(`loss must be a float32 scalar, got ${loss.dtype}${formatShape(loss.shape)}`);
  }
  for (const ctx of contexts) {
    for (const [name, value] of ctx.bufferUpdates) {
      if (setByStep.has(name)) fail(`buffer '${name}' is updated by two networks`);
      setByStep.add(name);
      next.set(name, stopGradient(value));
    }
  }

  const rawGrads = grad(loss, params, { unreached: 'null' });
  const reached = rawGrads.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  const metricTensors: Record<string, Tensor> = { ...metrics };
  const trains = new Map<Tensor, Tensor>();
  const trainsNow = (update: Tensor): Tensor => {
    if (!trains.has(update)) trains.set(update, greater(update, 0));
    return trains.get(update)!;
  };
  let grads = rawGrads;
  if (spec.gradClipNorm) {
    // A parameter frozen this step has no gradient in torch, so it has no share in the norm
    // (unless its gradient is cancelled only after clipping: clippedWhileFrozen).
    const counted = reached.map((i) => {
      const group = groupOf.get(spec.trainable[i].name);
      return group?.update && !group.spec.clippedWhileFrozen ? where(trainsNow(group.update), rawGrads[i]!, 0) : rawGrads[i]!;
    });
    const clipped = g.scope('clip', () => clipGradNorm(counted, spec.gradClipNorm!));
    grads = rawGrads.map(() => null);
    reached.forEach((i, k) => { grads[i] = clipped.grads[k]; });
    metricTensors.grad_norm = clipped.totalNorm;
  }
  const noDecay = new Set(spec.noWeightDecay ?? []);
  g.scope('optimizer', () => {
    for (const i of reached) {
      const p = spec.trainable[i];
      const group = groupOf.get(p.name);
      const r = g.scope(p.name, () => spec.optimizer.update({
        spec: p, param: params[i], grad: grads[i]!, state: optimState[i], lr: group?.lr ?? lr,
        weightDecay: decays(p, spec.excludeNormBiasFromWd ?? false) && !noDecay.has(p.name) ? (group?.wd ?? wd) : null,
      }));
      if (group?.update) {
        const cond = trainsNow(group.update);
        next.set(p.name, where(cond, r.param, params[i]));
        optimState[i].forEach((s, k) => next.set(s.name, where(cond, r.state[k], s)));
      } else {
        next.set(p.name, r.param);
        optimState[i].forEach((s, k) => next.set(s.name, r.state[k]));
      }
    }
  });
  runTransforms('post-update', (name) => next.get(name) ?? visible.get(name)!);

  g.output('loss', loss);
  const metricNames = Object.keys(metricTensors);
  for (const m of metricNames) {
    if (m === 'loss' || inputs.has(m) || scalars.has(m) || m.endsWith(':next') || m.startsWith('grad:')) fail(`metric name '${m}' collides with a model input or output`);
    g.output(m, metricTensors[m]);
  }
  // Entries that keep their value are not outputs: the runner keeps their tensors (no copy).
  const updated = state.filter((e) => next.has(e.name));
  for (const e of updated) g.output(nextName(e.name), next.get(e.name)!);
  const gradientNames: string[] = [];
  if (spec.exposeGradients) {
    for (const i of reached) {
      gradientNames.push(gradName(spec.trainable[i].name));
      g.output(gradName(spec.trainable[i].name), rawGrads[i]!);
    }
  }
  return {
    modelBytes: toOnnx(g),
    inputNames: g.inputs.map((t) => t.name),
    outputNames: g.outputs.map((o) => o.name),
    dataInputs,
    scalarNames: [...scalars.keys()],
    metricNames,
    state,
    stateNames: state.map((e) => e.name),
    updatedNames: updated.map((e) => e.name),
    gradientNames,
  };
}
