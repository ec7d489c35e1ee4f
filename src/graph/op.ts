import type { TensorProto } from 'onnx-buf';
import { GraphError, Tensor, formatShape, type DType, type Graph, type Node, type Shape } from './graph';

export interface TensorType {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** An ONNX attribute value: number → INT, number[] → INTS, string → STRING, {float}/{floats}/{tensor}. */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: TensorProto };

/** What an op's `emit` uses to write ONNX nodes for one recorded node. */
export interface EmitContext {
  /** The ONNX opset being written (>= 18). */
  readonly opset: number;
  /** Shapes and dtypes of the recorded node's inputs and outputs. */
  readonly inputTypes: readonly TensorType[];
  readonly outputTypes: readonly TensorType[];
  /** Appends an ONNX node (name derived from the recorded node's name); `domain` '' is the standard one. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, AttrValue>, domain?: string): void;
  /** A fresh value name for an intermediate of a multi-node emission. */
  tmpName(hint: string): string;
  /** An int64 initializer (shared across the model when the values repeat), e.g. axes or shapes. */
  int64s(values: readonly number[], dims?: readonly number[]): string;
  /** A scalar initializer of the given dtype (shared across the model). */
  scalar(value: number, dtype: DType): string;
}

/** What a gradient rule gets besides the node's tensors. */
export interface GradContext {
  readonly graph: Graph;
  readonly node: Node;
  /** needsGrad[i]: input i is float and depends on a differentiated tensor. Return null for the others. */
  readonly needsGrad: readonly boolean[];
}

/**
 * One op, in one place: its shape rule, its ONNX emission and its vector-Jacobian product.
 * `inferShape` throws via `fail(detail)`; applyOp prefixes the module scope and op name.
 * `grad` gets one gradient per output (null where nothing downstream needs it) and returns one
 * per input (null: none), written with the public tensor functions so it records more nodes.
 */
export interface OpDef<A> {
  readonly name: string;
  inferShape(inputs: readonly TensorType[], attrs: A): TensorType[];
  emit(ctx: EmitContext, inputs: readonly string[], outputs: readonly string[], attrs: A): void;
  grad?(ctx: GradContext, gradsOut: readonly (Tensor | null)[], inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: A): readonly (Tensor | null)[];
}

/** Thrown by shape rules; applyOp turns it into a GraphError naming scope, op and shapes. */
export class OpCheckError extends Error {}

export function fail(detail: string): never {
  throw new OpCheckError(detail);
}

const registry = new Map<string, OpDef<any>>();

export function defineOp<A = Record<string, never>>(def: OpDef<A>): OpDef<A> {
  if (registry.has(def.name)) throw new Error(`op '${def.name}' is defined twice`);
  registry.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef<any> {
  const op = registry.get(name);
  if (!op) throw new GraphError(`unknown op '${name}'; known ops: ${[...registry.keys()].sort().join(', ')}`);
  return op;
}

export function registeredOps(): string[] {
  return [...registry.keys()].sort();
}

function describe(inputs: readonly Tensor[]): string {
  return inputs.map((t) => `${t.dtype}${formatShape(t.shape)}`).join(', ');
}

/** Records `op` applied to `inputs`; shape/dtype errors surface here, at build time. */
export function applyOp<A>(op: OpDef<A> | string, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const def: OpDef<A> = typeof op === 'string' ? getOp(op) : op;
  if (inputs.length === 0) throw new GraphError(`${def.name}: needs at least one input tensor`);
  const graph = inputs[0].graph;
  for (const t of inputs) {
    if (!(t instanceof Tensor)) throw new GraphError(`${graph.where()}${def.name}: input is not a Tensor (${String(t)})`);
    if (t.graph !== graph) throw new GraphError(`${graph.where()}${def.name}: inputs come from different graphs`);
  }
  const types = guard(def.name, inputs, () => def.inferShape(inputs, attrs));
  return graph.addNode(def, inputs, types, attrs).outputs as Tensor[];
}

/**
 * Runs argument checks of a public op function (axis normalisation and such) so that a `fail`
 * inside reports like a shape error: module scope, op name, input shapes.
 */
export function guard<T>(opName: string, inputs: readonly Tensor[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OpCheckError) throw new GraphError(`${inputs[0].graph.where()}${opName}: ${e.message} (inputs ${describe(inputs)})`);
    throw e;
  }
}

/** `x` itself, or the scalar `x` as a constant of `like`'s dtype (for `mul(t, 2)` and friends). */
export function asTensor(x: Tensor | number, like: Tensor): Tensor {
  return typeof x === 'number' ? like.graph.scalar(x, like.dtype) : x;
}
