import { UserError } from '../errors';
import type { OpDef } from './op';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';
/** A dimension: a static size, or a named symbolic size (e.g. 'N', the batch of an inference graph). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export type ConstantData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * A graph that cannot be built: shape mismatch, wrong dtype, unknown op, missing gradient rule.
 * It is a UserError because a config (widths, heads, image size) can cause it; the message is one
 * line naming the module scope, the op and the shapes.
 */
export class GraphError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'GraphError';
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** A recorded application of an op: inputs and outputs are tensors of the same graph. */
export interface Node {
  readonly id: number;
  readonly op: OpDef<any>;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: unknown;
  /** Module path active when the node was recorded, e.g. 'resnet18-cifar/layer1.0.conv1'. */
  readonly scope: string;
  /** Stable, readable ONNX node name: scope + op + graph-wide counter. */
  readonly name: string;
}

export type TensorSource =
  | { kind: 'input' }
  | { kind: 'constant'; data: ConstantData }
  | { kind: 'node'; node: Node; index: number };

/** A symbolic tensor: a value in a Graph with a static shape (one symbolic dim allowed) and dtype. */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly name: string,
    readonly source: TensorSource,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (typeof d === 'number' ? !(Number.isInteger(d) && d >= 0) : d.length === 0) {
      throw new GraphError(`${what}: invalid shape ${formatShape(shape)}; dims are integers >= 0 or symbolic names`);
    }
  }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') throw new GraphError(`size of shape ${formatShape(shape)} is symbolic; a static shape is needed here`);
    n *= d;
  }
  return n;
}

const CONSTANT_DTYPE: Record<DType, (data: ConstantData) => boolean> = {
  float32: (d) => d instanceof Float32Array,
  float64: (d) => d instanceof Float64Array,
  int32: (d) => d instanceof Int32Array,
  int64: (d) => d instanceof BigInt64Array,
  bool: (d) => d instanceof Uint8Array,
  uint8: (d) => d instanceof Uint8Array,
};

export function typedArrayFor(dtype: DType, values: readonly number[]): ConstantData {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int64': return BigInt64Array.from(values.map((v) => BigInt(v)));
    case 'bool': return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    case 'uint8': return Uint8Array.from(values);
  }
}

/**
 * Records tensors and nodes. Nodes are appended in creation order, which is a topological order:
 * an op can only consume tensors that already exist.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly tensors: Tensor[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: { name: string; tensor: Tensor }[] = [];
  private scopeStack: string[];
  private readonly usedNames = new Set<string>();
  private counter = 0;
  private readonly scalarCache = new Map<string, Tensor>();

  /** `name` becomes the root scope (e.g. the model name) that prefixes every error and node name. */
  constructor(readonly name = 'graph') {
    this.scopeStack = [];
  }

  /** Current module path, e.g. 'resnet18-cifar/layer1.0.conv1' ('' at top level). */
  get scopePath(): string {
    return this.scopeStack.join('/');
  }

  /** Runs `fn` with `name` pushed on the module scope stack; errors and node names carry the path. */
  scope<T>(name: string, fn: () => T): T {
    this.scopeStack.push(name);
    try {
      return fn();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** Runs `fn` with the scope path replaced by `path` (autodiff records gradient nodes this way). */
  atScopePath<T>(path: string, fn: () => T): T {
    const saved = this.scopeStack;
    this.scopeStack = path === '' ? [] : [path];
    try {
      return fn();
    } finally {
      this.scopeStack = saved;
    }
  }

  /** A graph input (fed per run). Names must be unique across inputs, constants and outputs. */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    checkShape(shape, `input '${name}'`);
    if (shape.filter((d) => typeof d === 'string').length > 1) {
      throw new GraphError(`input '${name}': shape ${formatShape(shape)} has more than one symbolic dim; one is allowed`);
    }
    const t = this.newTensor(this.claimName(name), shape, dtype, { kind: 'input' });
    this.inputs.push(t);
    return t;
  }

  /**
   * A constant, serialised as an ONNX initializer. A plain number makes a scalar (shape []);
   * an array of numbers is converted to `dtype`.
   */
  constant(value: number | readonly number[] | ConstantData, shape?: Shape, dtype?: DType, name?: string): Tensor {
    let data: ConstantData;
    let dt: DType;
    if (typeof value === 'number' || Array.isArray(value)) {
      dt = dtype ?? 'float32';
      data = typedArrayFor(dt, typeof value === 'number' ? [value] : (value as number[]));
    } else {
      data = value as ConstantData;
      dt = dtype ?? inferDtype(data);
      if (!CONSTANT_DTYPE[dt](data)) throw new GraphError(`constant${name ? ` '${name}'` : ''}: ${data.constructor.name} does not hold ${dt}`);
    }
    const shp = shape ?? (typeof value === 'number' ? [] : [data.length]);
    checkShape(shp, 'constant');
    if (numel(shp) !== data.length) {
      throw new GraphError(`${this.where()}constant: ${data.length} values do not fill shape ${formatShape(shp)}`);
    }
    const nm = name ? this.claimName(name) : this.autoName('const');
    return this.newTensor(nm, shp, dt, { kind: 'constant', data });
  }

  /** A shared scalar constant of the given dtype (one initializer per distinct value). */
  scalar(value: number, dtype: DType): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.atScopePath('', () => this.constant(typedArrayFor(dtype, [value]), [], dtype));
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** Marks `tensor` as a model output called `name`. */
  output(name: string, tensor: Tensor): void {
    if (tensor.graph !== this) throw new GraphError(`output '${name}': tensor ${tensor.name} belongs to another graph`);
    if (this.outputs.some((o) => o.name === name)) throw new GraphError(`output '${name}' is declared twice`);
    if (tensor.name !== name) this.claimName(name);
    this.outputs.push({ name, tensor });
  }

  /** Records a node. Used by applyOp; ops are applied through their public functions. */
  addNode(op: OpDef<any>, inputs: readonly Tensor[], outTypes: readonly { shape: Shape; dtype: DType }[], attrs: unknown): Node {
    const scope = this.scopePath;
    const name = this.autoName(op.name);
    const outputs: Tensor[] = [];
    const node: Node = { id: this.nodes.length, op, inputs, outputs, attrs, scope, name };
    outTypes.forEach((o, index) => {
      const tname = outTypes.length === 1 ? name : this.claimName(`${name}:${index}`);
      outputs.push(this.newTensor(tname, o.shape, o.dtype, { kind: 'node', node, index }));
    });
    this.nodes.push(node);
    return node;
  }

  /** Scope prefix for error messages: 'model/layer1: ' or ''. */
  where(): string {
    const p = this.scopePath;
    return p ? `${p}: ` : '';
  }

  private newTensor(name: string, shape: Shape, dtype: DType, source: TensorSource): Tensor {
    const t = new Tensor(this, this.tensors.length, Object.freeze([...shape]), dtype, name, source);
    this.tensors.push(t);
    return t;
  }

  private autoName(base: string): string {
    const p = this.scopePath;
    return this.claimName(`${p ? `${p}/` : ''}${base}_${this.counter++}`);
  }

  private claimName(name: string): string {
    if (this.usedNames.has(name)) throw new GraphError(`${this.where()}name '${name}' is already used in graph '${this.name}'`);
    this.usedNames.add(name);
    return name;
  }
}

function inferDtype(data: ConstantData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}
