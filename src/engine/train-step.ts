import { Graph, GraphError, formatShape, grad, stopGradient, toOnnx, type DType, type Shape, type Tensor } from '../graph';
import { GraphForwardContext, type BufferSpec, type Module, type ParamSpec } from '../nn/module';
import { clipGradNorm, decays, emaUpdate, type OptimizerRule } from '../optim';

/** A value the training step carries from one run to the next. */
export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int64';
  /**
   * param: trained by the optimizer; frozen: read, never changed; ema: a teacher parameter updated by
   * EMA; optim: optimizer state (zero-initialised); buffer: module buffer (BN running statistics).
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
   * linear classifier, METHODS.md §5.2; under LARS this also means no trust-ratio scaling).
   */
  noWeightDecay?: readonly string[];
  /** Teacher parameters: target ← m·target + (1−m)·source before the forward pass (lightly's order). */
  emaPairs?: readonly { target: ParamSpec; source: string }[];
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
 * Builds the whole training step as one ONNX model: EMA of teacher parameters, the method's
 * forward pass and loss, reverse-mode gradients of the trainable parameters, optional global-norm
 * clipping and the optimizer update. Inputs: data tensors, scalars (lr, weight_decay,
 * ema_momentum when there are EMA pairs) and every state entry; outputs: loss, metrics and the
 * next value of every state entry. Trainable parameters the loss does not reach keep their value
 * and state (torch skips parameters without a gradient).
 */
export function buildTrainStep(spec: TrainStepSpec): TrainStepModel {
  const g = new Graph(spec.name);
  const state: StateEntry[] = [];
  const inputs = new Map<string, Tensor>();
  const declare = (name: string, shape: readonly number[], dtype: 'float32' | 'int64', role: StateEntry['role']): Tensor => {
    if (inputs.has(name)) throw new GraphError(`train step '${spec.name}': state entry '${name}' is declared twice`);
    const t = g.input(name, shape, dtype);
    inputs.set(name, t);
    state.push({ name, shape: [...shape], dtype, role });
    return t;
  };
  const lr = g.input(SCALAR.lr, []);
  const wd = g.input(SCALAR.weightDecay, []);
  const scalarNames: string[] = [SCALAR.lr, SCALAR.weightDecay];
  const emaPairs = spec.emaPairs ?? [];
  const emaM = emaPairs.length ? g.input(SCALAR.emaMomentum, []) : null;
  if (emaM) scalarNames.push(SCALAR.emaMomentum);

  const params = spec.trainable.map((p) => declare(p.name, p.shape, 'float32', 'param'));
  const optimState = spec.trainable.map((p) => spec.optimizer.stateFor(p).map((s) => declare(s.name, s.shape, s.dtype, 'optim')));
  for (const p of spec.frozen ?? []) declare(p.name, p.shape, 'float32', 'frozen');
  for (const { target } of emaPairs) declare(target.name, target.shape, 'float32', 'ema');
  for (const b of spec.buffers) declare(b.name, b.shape, b.dtype, 'buffer');

  // What module code sees for each state entry: trainable parameters as they are (gradients flow),
  // frozen ones behind stopGradient, teacher parameters already EMA-updated.
  const next = new Map<string, Tensor>();
  const visible = new Map<string, Tensor>();
  for (const e of state) visible.set(e.name, e.role === 'frozen' ? stopGradient(inputs.get(e.name)!) : inputs.get(e.name)!);
  g.scope('ema', () => {
    for (const { target, source } of emaPairs) {
      const src = inputs.get(source);
      if (!src || state.find((e) => e.name === source)?.role !== 'param') {
        throw new GraphError(`train step '${spec.name}': EMA source '${source}' of '${target.name}' is not a trainable parameter`);
      }
      if (formatShape(src.shape) !== formatShape(target.shape)) {
        throw new GraphError(`train step '${spec.name}': EMA target '${target.name}' ${formatShape(target.shape)} vs source '${source}' ${formatShape(src.shape)}`);
      }
      const updated = emaUpdate(inputs.get(target.name)!, src, emaM!);
      visible.set(target.name, updated);
      next.set(target.name, updated);
    }
  });

  const contexts: GraphForwardContext[] = [];
  const lookup = (name: string, what: string): Tensor => {
    const t = visible.get(name);
    if (!t) throw new GraphError(`train step '${spec.name}': ${what} '${name}' is not a state entry; declare it in trainable, frozen, emaPairs or buffers`);
    return t;
  };
  const dataInputs: DataInput[] = [];
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
      if (!e || e.role !== 'buffer') throw new GraphError(`train step '${spec.name}': setState '${name}': only buffer entries can be set`);
      if (formatShape(value.shape) !== formatShape(e.shape) || value.dtype !== e.dtype) {
        throw new GraphError(`train step '${spec.name}': setState '${name}': ${value.dtype}${formatShape(value.shape)} vs ${e.dtype}${formatShape(e.shape)}`);
      }
      next.set(name, stopGradient(value));
    },
  };
  const { loss, metrics = {} } = spec.build(builder);
  if (loss.shape.length !== 0 || loss.dtype !== 'float32') {
    throw new GraphError(`train step '${spec.name}': loss must be a float32 scalar, got ${loss.dtype}${formatShape(loss.shape)}`);
  }
  for (const ctx of contexts) {
    for (const [name, value] of ctx.bufferUpdates) {
      if (next.has(name)) throw new GraphError(`train step '${spec.name}': buffer '${name}' is updated by two networks`);
      next.set(name, stopGradient(value));
    }
  }

  const rawGrads = grad(loss, params, { unreached: 'null' });
  const reached = rawGrads.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  const metricTensors: Record<string, Tensor> = { ...metrics };
  let grads = rawGrads;
  if (spec.gradClipNorm) {
    const clipped = g.scope('clip', () => clipGradNorm(reached.map((i) => rawGrads[i]!), spec.gradClipNorm!));
    grads = rawGrads.map(() => null);
    reached.forEach((i, k) => { grads[i] = clipped.grads[k]; });
    metricTensors.grad_norm = clipped.totalNorm;
  }
  const noDecay = new Set(spec.noWeightDecay ?? []);
  g.scope('optimizer', () => {
    for (const i of reached) {
      const p = spec.trainable[i];
      const r = g.scope(p.name, () => spec.optimizer.update({
        spec: p, param: params[i], grad: grads[i]!, state: optimState[i], lr,
        weightDecay: decays(p, spec.excludeNormBiasFromWd ?? false) && !noDecay.has(p.name) ? wd : null,
      }));
      next.set(p.name, r.param);
      optimState[i].forEach((s, k) => next.set(s.name, r.state[k]));
    }
  });

  g.output('loss', loss);
  const metricNames = Object.keys(metricTensors);
  for (const m of metricNames) {
    if (m === 'loss' || inputs.has(m) || m.endsWith(':next') || m.startsWith('grad:')) throw new GraphError(`train step '${spec.name}': metric name '${m}' collides with a model input or output`);
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
    scalarNames,
    metricNames,
    state,
    stateNames: state.map((e) => e.name),
    updatedNames: updated.map((e) => e.name),
    gradientNames,
  };
}
