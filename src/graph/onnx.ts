import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { GraphError, typedArrayFor, type ConstantData, type DType, type Graph, type Shape, type Tensor } from './graph';
import type { AttrValue, EmitContext } from './op';
import { convNchwcBlockSize, hasNchwcCandidates, rememberNchwcRebuild, withConvNchwcBlockSize } from './ops/conv';

/** Opset 20: Gelu and the axes-as-input reductions; onnxruntime-node 1.30 runs it. */
export const DEFAULT_OPSET = 20;
export const DEFAULT_IR_VERSION = 10;

export interface OnnxOptions {
  /** Model inputs in this order (default: every graph input, in declaration order). */
  inputs?: readonly Tensor[];
  /** Model outputs (default: those declared with graph.output), in this order. */
  outputs?: readonly { name: string; tensor: Tensor }[];
  opset?: number;
  irVersion?: number;
  /** Keep graph inputs that no output depends on (default true, so feeds stay the same). */
  keepUnusedInputs?: boolean;
}

export const ONNX_DTYPE: Record<DType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  int64: TensorProto_DataType.INT64,
  int32: TensorProto_DataType.INT32,
  bool: TensorProto_DataType.BOOL,
  uint8: TensorProto_DataType.UINT8,
};

export function tensorProto(name: string, data: ConstantData, dims: readonly number[], dtype: DType): TensorProto {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: ONNX_DTYPE[dtype], rawData: bytes });
}

function valueInfo(name: string, shape: Shape, dtype: DType): ValueInfoProto {
  const dim = shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: ONNX_DTYPE[dtype], shape: create(TensorShapeProtoSchema, { dim }) }) },
    }),
  });
}

const utf8 = new TextEncoder();

function attribute(name: string, v: AttrValue): AttributeProto {
  const A = AttributeProto_AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v}: integers only; wrap floats as {float}`);
    return create(AttributeProtoSchema, { name, type: A.INT, i: BigInt(v) });
  }
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: A.STRING, s: utf8.encode(v) });
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: A.INTS, ints: (v as number[]).map((x) => BigInt(x)) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: A.FLOAT, f: v.float });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: A.FLOATS, floats: [...v.floats] });
  return create(AttributeProtoSchema, { name, type: A.TENSOR, t: (v as { tensor: TensorProto }).tensor });
}

/** Builds the ModelProto: only nodes that some output depends on are emitted (dead-node elimination). */
export function toModelProto(graph: Graph, opts: OnnxOptions = {}): ModelProto {
  const opset = opts.opset ?? DEFAULT_OPSET;
  // Reductions and Split take axes/sizes as inputs from opset 18 on.
  if (!Number.isInteger(opset) || opset < 18) throw new GraphError(`toOnnx: opset ${opset} is not supported; 18 or later`);
  const outputs = opts.outputs ?? graph.outputs;
  if (outputs.length === 0) throw new GraphError(`graph '${graph.name}': no outputs; declare some with graph.output(name, tensor)`);
  const liveTensors = new Set<number>(outputs.map((o) => o.tensor.id));
  const liveNodes: boolean[] = new Array(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (node.outputs.some((t) => liveTensors.has(t.id))) {
      liveNodes[i] = true;
      for (const t of node.inputs) liveTensors.add(t.id);
    }
  }
  // Output names replace the producing node's value name where that is unambiguous; otherwise an
  // Identity carries the value to the output name.
  const valueName = new Map<number, string>();
  const identities: NodeProto[] = [];
  for (const o of outputs) {
    const t = o.tensor;
    if (t.name === o.name) continue;
    if (t.source.kind === 'node' && !valueName.has(t.id)) valueName.set(t.id, o.name);
    else identities.push(create(NodeProtoSchema, { name: `output/${o.name}`, opType: 'Identity', input: [valueName.get(t.id) ?? t.name], output: [o.name] }));
  }
  const nameOf = (t: Tensor) => valueName.get(t.id) ?? t.name;

  const nodes: NodeProto[] = [];
  // Non-standard domains used (e.g. ORT's com.microsoft.nchwc), each imported at version 1.
  const domains = new Set<string>();
  const initializers: TensorProto[] = [];
  const sharedConstants = new Map<string, string>();
  const shared = (key: string, make: () => TensorProto): string => {
    let name = sharedConstants.get(key);
    if (!name) {
      name = key;
      sharedConstants.set(key, name);
      initializers.push(make());
    }
    return name;
  };
  for (const t of graph.tensors) {
    if (t.source.kind === 'constant' && liveTensors.has(t.id)) {
      initializers.push(tensorProto(t.name, t.source.data, t.shape as number[], t.dtype));
    }
  }
  for (const node of graph.nodes) {
    if (!liveNodes[node.id]) continue;
    let emitted = 0;
    let tmp = 0;
    const ctx: EmitContext = {
      opset,
      inputTypes: node.inputs,
      outputTypes: node.outputs,
      node(opType, inputs, outs, attrs = {}, domain = '') {
        if (domain) domains.add(domain);
        nodes.push(
          create(NodeProtoSchema, {
            name: emitted++ === 0 ? node.name : `${node.name}#${emitted - 1}`,
            opType,
            domain,
            input: [...inputs],
            output: [...outs],
            attribute: Object.keys(attrs).map((k) => attribute(k, attrs[k])),
          }),
        );
      },
      tmpName: (hint) => `${node.name}/${hint}_${tmp++}`,
      int64s: (values, dims) =>
        shared(`const:int64[${values.join(',')}]${dims ? `@[${dims.join(',')}]` : ''}`, () =>
          tensorProto(`const:int64[${values.join(',')}]${dims ? `@[${dims.join(',')}]` : ''}`, typedArrayFor('int64', values), dims ?? [values.length], 'int64'),
        ),
      scalar: (value, dtype) => shared(`const:${dtype}(${value})`, () => tensorProto(`const:${dtype}(${value})`, typedArrayFor(dtype, [value]), [], dtype)),
    };
    node.op.emit(ctx, node.inputs.map(nameOf), node.outputs.map(nameOf), node.attrs);
  }
  nodes.push(...identities);
  const keepUnused = opts.keepUnusedInputs ?? true;
  if (opts.inputs) {
    const listed = new Set(opts.inputs.map((t) => t.id));
    for (const t of opts.inputs) if (t.source.kind !== 'input' || t.graph !== graph) throw new GraphError(`toOnnx: ${t.name} is not an input of graph '${graph.name}'`);
    const missing = graph.inputs.filter((t) => liveTensors.has(t.id) && !listed.has(t.id));
    if (missing.length) throw new GraphError(`toOnnx: the outputs need inputs that are not listed: ${missing.map((t) => t.name).join(', ')}`);
  }
  const inputs = (opts.inputs ?? graph.inputs).filter((t) => keepUnused || liveTensors.has(t.id));
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(opts.irVersion ?? DEFAULT_IR_VERSION),
    producerName: 'ssl-bench',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) }), ...[...domains].sort().map((domain) => create(OperatorSetIdProtoSchema, { domain, version: 1n }))],
    graph: create(GraphProtoSchema, {
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: inputs.map((t) => valueInfo(t.name, t.shape, t.dtype)),
      output: outputs.map((o) => valueInfo(o.name, o.tensor.shape, o.tensor.dtype)),
    }),
  });
  return model;
}

/**
 * Serialises the graph as an ONNX model; the same graph always gives the same bytes. Bytes with
 * plain convs that ORT's NCHWc convs could run remember how to re-emit them (ops/conv.ts
 * nchwcRebuildOf; engine/session.ts uses it on the CPU EP).
 */
export function toOnnx(graph: Graph, opts: OnnxOptions = {}): Uint8Array {
  const bytes = toBinary(ModelProtoSchema, toModelProto(graph, opts));
  if (convNchwcBlockSize() === 0 && hasNchwcCandidates(graph)) {
    rememberNchwcRebuild(bytes, (block) => withConvNchwcBlockSize(block, () => toBinary(ModelProtoSchema, toModelProto(graph, opts))));
  }
  return bytes;
}
