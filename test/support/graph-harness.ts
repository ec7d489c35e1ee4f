import * as ort from 'onnxruntime-node';
import { Graph, Tensor, add, grad, mul, reduceSum, toOnnx, type DType, type OnnxOptions } from '../../src/graph';

export type HostArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface Feed {
  data: HostArray;
  shape: readonly number[];
}

export interface Output {
  data: HostArray;
  dims: readonly number[];
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', uint8: 'uint8',
};

function ortTensor(dtype: DType, feed: Feed): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[dtype], feed.data as never, [...feed.shape]);
}

/** An ORT session on the serialised graph (CPU EP, one thread: tests share two busy cores). */
export async function sessionFor(graph: Graph, opts?: OnnxOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(toOnnx(graph, opts), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

export async function runSession(session: ort.InferenceSession, graph: Graph, feeds: Record<string, Feed>): Promise<Record<string, Output>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const t of graph.inputs) {
    const f = feeds[t.name];
    if (!f) throw new Error(`no feed for input '${t.name}'`);
    ortFeeds[t.name] = ortTensor(t.dtype, f);
  }
  const res = await session.run(ortFeeds);
  const out: Record<string, Output> = {};
  for (const [k, v] of Object.entries(res)) out[k] = { data: v.data as HostArray, dims: v.dims };
  return out;
}

/** Serialises `graph`, runs it once in ORT with `feeds` and returns every output by name. */
export async function runGraph(graph: Graph, feeds: Record<string, Feed>, opts?: OnnxOptions): Promise<Record<string, Output>> {
  return runSession(await sessionFor(graph, opts), graph, feeds);
}

// Jest runs tests in a vm context where each global lookup in a hot loop is slow (randn(2e6):
// 8.7 s under jest, 0.3 s in node): local bindings of the Math functions avoid it.
const { imul, sqrt, log, cos, PI } = Math;

/** Deterministic normal samples (mulberry32 + Box-Muller) for test data. */
export function randn(n: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * sqrt(-2 * log(uniform() + 1e-12)) * cos(2 * PI * uniform());
  return out;
}

export function toDtype(values: ArrayLike<number>, dtype: DType): HostArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'bool':
    case 'uint8': return Uint8Array.from(values);
  }
}

export interface CheckInput {
  shape: readonly number[];
  dtype?: DType;
  /** Values (default: seeded normal samples). */
  data?: ArrayLike<number>;
  /** Differentiate with respect to this input (default: true for float inputs). */
  wrt?: boolean;
}

export interface GradientCheck {
  /**
   * Largest |fd - analytic| / max(|fd|, |analytic|, ||grad||₂, floor) over inputs and directions.
   * ||grad||₂ is the typical size of a directional derivative along a standard-normal direction, so
   * a direction nearly orthogonal to the gradient does not turn rounding into a large relative error.
   */
  maxRelErr: number;
  pairs: { input: number; fd: number; analytic: number }[];
}

/**
 * Compares graph-computed gradients with central finite differences along random directions.
 * The built outputs are contracted with fixed random weights into a scalar loss, so every output
 * element matters (a plain sum would hide e.g. softmax gradients). Float64 where ORT has double
 * kernels; for float32-only ops (Conv, Gelu, ...) use eps ~1e-2..1e-3 and a looser tolerance.
 */
export async function checkGradient(
  build: (g: Graph, inputs: Tensor[]) => Tensor | Tensor[],
  inputs: readonly CheckInput[],
  opts: { eps?: number; directions?: number; seed?: number; floor?: number } = {},
): Promise<GradientCheck> {
  const eps = opts.eps ?? 1e-5;
  const seed = opts.seed ?? 1;
  const g = new Graph('gradcheck');
  const ts = inputs.map((spec, i) => g.input(`x${i}`, spec.shape, spec.dtype ?? 'float64'));
  const built = build(g, ts);
  const outs = Array.isArray(built) ? built : [built];
  let loss: Tensor | null = null;
  outs.forEach((o, k) => {
    const n = o.shape.reduce<number>((a, d) => a * (d as number), 1);
    const weights = g.constant(toDtype(randn(n, seed * 7919 + k), o.dtype) as Float32Array, o.shape);
    const term = reduceSum(mul(o, weights));
    loss = loss ? add(loss, term) : term;
  });
  const wrtIdx = inputs.map((s, i) => ((s.wrt ?? ((s.dtype ?? 'float64').startsWith('float'))) ? i : -1)).filter((i) => i >= 0);
  const grads = grad(loss!, wrtIdx.map((i) => ts[i]));
  g.output('loss', loss!);
  grads.forEach((gt, k) => g.output(`grad${k}`, gt));
  const session = await sessionFor(g);

  const base = inputs.map((spec, i) => Array.from(spec.data ?? randn(spec.shape.reduce((a, d) => a * d, 1), seed * 31 + i)));
  const feedsAt = (shift: (i: number) => number[] | null) => {
    const feeds: Record<string, Feed> = {};
    inputs.forEach((spec, i) => {
      const delta = shift(i);
      const vals = delta ? base[i].map((v, j) => v + delta[j]) : base[i];
      feeds[`x${i}`] = { data: toDtype(vals, spec.dtype ?? 'float64'), shape: spec.shape };
    });
    return feeds;
  };
  const at0 = await runSession(session, g, feedsAt(() => null));
  const pairs: { input: number; fd: number; analytic: number }[] = [];
  let maxRelErr = 0;
  // Each differentiated input on its own, so a wrong gradient for a small input (a bias) cannot
  // hide behind a large one.
  for (const [k, i] of wrtIdx.entries()) {
    for (let d = 0; d < (opts.directions ?? 3); d++) {
      const v = randn(base[i].length, seed * 1000 + d * 17 + i);
      const gdata = at0[`grad${k}`].data as Float64Array;
      let analytic = 0;
      let gradNorm2 = 0;
      for (let j = 0; j < v.length; j++) {
        analytic += gdata[j] * v[j];
        gradNorm2 += gdata[j] * gdata[j];
      }
      const lossAt = async (sign: number) => {
        const r = await runSession(session, g, feedsAt((m) => (m === i ? Array.from(v, (x) => sign * eps * x) : null)));
        return Number(r.loss.data[0]);
      };
      const fd = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
      pairs.push({ input: i, fd, analytic });
      const scale = Math.max(Math.abs(fd), Math.abs(analytic), Math.sqrt(gradNorm2), opts.floor ?? 1e-6);
      maxRelErr = Math.max(maxRelErr, Math.abs(fd - analytic) / scale);
    }
  }
  return { maxRelErr, pairs };
}
