/**
 * nn/module — modules that declare PyTorch-named parameters and buffers and record their forward
 * pass into a src/graph Graph.
 *
 * A Module registers its own parameters/buffers and child modules in the order torch's
 * `named_parameters()` / `named_buffers()` visits them (own entries first, then children depth
 * first), so `parameters(prefix)` yields the dotted names PyTorch gives the equivalent model
 * (`conv1.weight`, `layer1.0.bn1.running_mean`, `layers.0.weight`). `num_batches_tracked` is not
 * declared: momentum-0.1 batch norm never reads it.
 *
 * A forward pass runs against a ForwardContext: `ctx.param('weight')` resolves the name against
 * the current scope path, `ctx.scope('conv1', fn)` enters a child, and `ctx.setBuffer` records the
 * next value of a buffer (BatchNorm running statistics in training mode).
 */
import { Graph, GraphError, type Tensor } from '../graph';

/** How a parameter or buffer is initialised (see init.ts; all names follow torch.nn.init). */
export type InitSpec =
  | { readonly type: 'constant'; readonly value: number }
  /** U(−bound, bound), e.g. torch's Linear/Conv bias: bound = 1/√fan_in. */
  | { readonly type: 'uniform'; readonly bound: number }
  /** kaiming_uniform_(a, mode='fan_in', leaky_relu): U(±gain·√(3/fan_in)), gain = √(2/(1+a²)). */
  | { readonly type: 'kaimingUniform'; readonly fanIn: number; readonly a: number }
  /** kaiming_normal_(mode='fan_out', nonlinearity='relu'): N(0, 2/fan_out) (torchvision ResNet convs). */
  | { readonly type: 'kaimingNormal'; readonly fanOut: number }
  /** xavier_uniform_: U(±√(6/(fan_in+fan_out))). */
  | { readonly type: 'xavierUniform'; readonly fanIn: number; readonly fanOut: number }
  | { readonly type: 'normal'; readonly std: number }
  /** trunc_normal_(std, a=lower, b=upper): N(0, std²) restricted to [lower, upper] (absolute bounds, as timm). */
  | { readonly type: 'truncNormal'; readonly std: number; readonly lower: number; readonly upper: number }
  /** Fixed 2-D sin-cos position embedding (MAE layout) over a gridH × gridW grid, zero rows for prefix tokens. */
  | { readonly type: 'sincos2d'; readonly gridH: number; readonly gridW: number; readonly dim: number; readonly prefixTokens: number };

/**
 * kind: 'norm' for BatchNorm/LayerNorm affine parameters, 'bias' for every other parameter whose
 * name ends in "bias", 'weight' for the rest. decay: whether the ImageNet scripts' weight-decay
 * exclusion (norm layers and biases get wd 0; docs/methods.md §4.0) keeps decay on this parameter.
 */
export type ParamKind = 'weight' | 'bias' | 'norm';
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: InitSpec;
  readonly decay: boolean;
  readonly kind: ParamKind;
}

export interface BufferSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int64';
  readonly init: InitSpec;
}

/** What a module's forward pass sees: parameters and buffers by local name, scoped children, mode. */
export interface ForwardContext {
  readonly graph: Graph;
  /** Training mode: batch norm uses batch statistics and updates its running statistics. */
  readonly training: boolean;
  /** Dotted path of the module being run ('' at the root, 'layer1.0.bn1' inside a block). */
  readonly path: string;
  param(name: string): Tensor;
  /** The buffer's current value: its input, or the last value given to setBuffer in this graph. */
  buffer(name: string): Tensor;
  /** Records the buffer's next value (the engine outputs the last one set per buffer). */
  setBuffer(name: string, value: Tensor): void;
  /** Runs `fn` inside child module `name` (dotted names and graph node scopes compose). */
  scope<T>(name: string, fn: () => T): T;
}

function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

export abstract class Module {
  private readonly ownParams: ParamSpec[] = [];
  private readonly ownBuffers: BufferSpec[] = [];
  private readonly children: [string, Module][] = [];

  /** Records this module's forward pass; `x` is its (main) input. */
  abstract forward(ctx: ForwardContext, x: Tensor): Tensor;

  protected registerParameter(name: string, shape: readonly number[], init: InitSpec, kind: ParamKind): void {
    this.checkFreeName(name);
    this.ownParams.push({ name, shape: [...shape], init, kind, decay: kind === 'weight' });
  }

  protected registerBuffer(name: string, shape: readonly number[], init: InitSpec, dtype: 'float32' | 'int64' = 'float32'): void {
    this.checkFreeName(name);
    this.ownBuffers.push({ name, shape: [...shape], init, dtype });
  }

  /** Adds a child module under `name` (torch's attribute name or Sequential index); returns it. */
  protected addModule<M extends Module>(name: string, module: M): M {
    this.checkFreeName(name);
    this.children.push([name, module]);
    return module;
  }

  /** Runs child `name` on `x` inside its scope. */
  protected call(ctx: ForwardContext, name: string, x: Tensor): Tensor {
    return ctx.scope(name, () => this.child(name).forward(ctx, x));
  }

  child(name: string): Module {
    const found = this.children.find(([n]) => n === name);
    if (!found) throw new Error(`${this.constructor.name} has no child module '${name}'`);
    return found[1];
  }

  namedChildren(): readonly (readonly [string, Module])[] {
    return this.children;
  }

  /** Every parameter of this module and its children with full dotted names, in torch's order. */
  parameters(prefix = ''): ParamSpec[] {
    const out = this.ownParams.map((p) => ({ ...p, name: joinName(prefix, p.name) }));
    for (const [name, m] of this.children) out.push(...m.parameters(joinName(prefix, name)));
    return out;
  }

  buffers(prefix = ''): BufferSpec[] {
    const out = this.ownBuffers.map((b) => ({ ...b, name: joinName(prefix, b.name) }));
    for (const [name, m] of this.children) out.push(...m.buffers(joinName(prefix, name)));
    return out;
  }

  /** Number of parameter elements (buffers excluded), as sum(p.numel() for p in m.parameters()). */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
  }

  private checkFreeName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${this.constructor.name}: invalid member name '${name}'`);
    if (this.ownParams.some((p) => p.name === name) || this.ownBuffers.some((b) => b.name === name) || this.children.some(([n]) => n === name)) {
      throw new Error(`${this.constructor.name}: member '${name}' is declared twice`);
    }
  }
}

export interface GraphForwardOptions {
  training: boolean;
  /** Prefix of every name of the module (e.g. 'backbone' or 'momentum_backbone'). */
  prefix?: string;
  /**
   * Makes the tensor for a parameter/buffer on first use. Default: a graph input named by the
   * full dotted name. An exporter can return initializers instead.
   */
  source?: (spec: ParamSpec | BufferSpec) => Tensor;
}

/** Per-network state shared by a context and its `withTraining` views. */
interface ContextState {
  readonly params: Map<string, ParamSpec>;
  readonly buffers: Map<string, BufferSpec>;
  readonly paramTensors: Map<string, Tensor>;
  readonly bufferInputs: Map<string, Tensor>;
  readonly bufferNext: Map<string, Tensor>;
  readonly source: (spec: ParamSpec | BufferSpec) => Tensor;
  /** Graph scope path when the context was made; node scopes are '<rootScope>/<dotted path>'. */
  readonly rootScope: string;
}

/**
 * A ForwardContext over one Graph for one network. Graph nodes get the module's dotted path as
 * scope ('backbone.layer2.0.conv1'), below the graph scope active when the context was made, so
 * shape errors read "resnet18-cifar/layer2.0.conv1: conv2d: ...". Parameters and buffers become
 * graph inputs on first use, named by their full dotted name, so the engine feeds them by name;
 * reusing the network (two views) reuses the same inputs. `bufferUpdates` holds the final value of every
 * buffer set during the pass(es), for the engine to output as the buffer's next value.
 */
export class GraphForwardContext implements ForwardContext {
  readonly graph: Graph;
  readonly training: boolean;
  private currentPath: string;
  private readonly state: ContextState;

  constructor(graph: Graph, module: Module, opts: GraphForwardOptions);
  /** @internal a view sharing `state` (withTraining). */
  constructor(graph: Graph, module: null, opts: GraphForwardOptions, state: ContextState, path: string);
  constructor(graph: Graph, module: Module | null, opts: GraphForwardOptions, state?: ContextState, path?: string) {
    this.graph = graph;
    this.training = opts.training;
    if (state) {
      this.state = state;
      this.currentPath = path ?? '';
      return;
    }
    const prefix = opts.prefix ?? '';
    const m = module as Module;
    this.currentPath = prefix;
    this.state = {
      params: new Map(m.parameters(prefix).map((p) => [p.name, p])),
      buffers: new Map(m.buffers(prefix).map((b) => [b.name, b])),
      paramTensors: new Map(),
      bufferInputs: new Map(),
      bufferNext: new Map(),
      source: opts.source ?? ((spec) => graph.input(spec.name, spec.shape, 'dtype' in spec ? spec.dtype : 'float32')),
      rootScope: graph.scopePath,
    };
  }

  get path(): string {
    return this.currentPath;
  }

  /** The same network, parameters, inputs and buffer updates, run in the other mode. */
  withTraining(training: boolean): GraphForwardContext {
    return new GraphForwardContext(this.graph, null, { training }, this.state, this.path);
  }

  param(name: string): Tensor {
    const full = joinName(this.path, name);
    let t = this.state.paramTensors.get(full);
    if (!t) {
      const spec = this.state.params.get(full);
      if (!spec) throw new GraphError(`${this.graph.where()}no parameter '${full}' is declared by the module`);
      t = this.state.source(spec);
      this.state.paramTensors.set(full, t);
    }
    return t;
  }

  buffer(name: string): Tensor {
    const full = joinName(this.path, name);
    return this.state.bufferNext.get(full) ?? this.bufferInput(full);
  }

  setBuffer(name: string, value: Tensor): void {
    const full = joinName(this.path, name);
    const spec = this.state.buffers.get(full);
    if (!spec) throw new GraphError(`${this.graph.where()}no buffer '${full}' is declared by the module`);
    if (value.shape.length !== spec.shape.length || value.shape.some((d, i) => d !== spec.shape[i])) {
      throw new GraphError(`${this.graph.where()}setBuffer '${full}': value [${value.shape.join(',')}] vs buffer [${spec.shape.join(',')}]`);
    }
    this.bufferInput(full);
    this.state.bufferNext.set(full, value);
  }

  scope<T>(name: string, fn: () => T): T {
    const saved = this.currentPath;
    this.currentPath = joinName(saved, name);
    try {
      const scope = this.state.rootScope === '' ? this.currentPath : `${this.state.rootScope}/${this.currentPath}`;
      return this.graph.atScopePath(scope, fn);
    } finally {
      this.currentPath = saved;
    }
  }

  /** Tensors of the parameters used so far, by full name. */
  get parameterTensors(): ReadonlyMap<string, Tensor> {
    return this.state.paramTensors;
  }

  /** Input tensors of the buffers used so far, by full name. */
  get bufferInputs(): ReadonlyMap<string, Tensor> {
    return this.state.bufferInputs;
  }

  /** Last value set per buffer, by full name (absent: the buffer keeps its value). */
  get bufferUpdates(): ReadonlyMap<string, Tensor> {
    return this.state.bufferNext;
  }

  private bufferInput(full: string): Tensor {
    let t = this.state.bufferInputs.get(full);
    if (!t) {
      const spec = this.state.buffers.get(full);
      if (!spec) throw new GraphError(`${this.graph.where()}no buffer '${full}' is declared by the module`);
      t = this.state.source(spec);
      this.state.bufferInputs.set(full, t);
    }
    return t;
  }
}
