import { normAxis } from '../broadcast';
import { GraphError, formatShape, isFloat, type Dim, type Graph, type Shape, type Tensor } from '../graph';
import { applyOp, defineOp, fail, type TensorType } from '../op';
import { add, div, mul, reciprocal, sqrt, sub } from './elementwise';
import { reduceMean, reduceSum, sumToShape } from './reduce';
import { reshape, zerosLike } from './shape';

/** Per-channel vectors of a [N, C, ...] tensor broadcast as [1, C, 1, ...]. */
function channelShape(x: Shape): Dim[] {
  return x.map((d, i) => (i === 1 ? d : 1));
}

function statAxes(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

function checkChannelInputs(x: TensorType, vectors: readonly TensorType[], names: readonly string[]): void {
  if (!isFloat(x.dtype)) fail(`needs a float input, got ${x.dtype}`);
  if (x.shape.length < 2) fail(`input ${formatShape(x.shape)} needs rank >= 2 ([N, C, ...])`);
  vectors.forEach((v, i) => {
    if (v.dtype !== x.dtype) fail(`${names[i]} ${v.dtype} vs input ${x.dtype}`);
    if (v.shape.length !== 1 || v.shape[0] !== x.shape[1]) fail(`input ${formatShape(x.shape)} vs ${names[i]} ${formatShape(v.shape)}: expected [${x.shape[1]}]`);
  });
}

/**
 * x·a + b with per-channel a, b [C] over [N, C, ...], as ONNX BatchNormalization in inference mode
 * with mean 0, variance 1 and ε 0 (inputs 3 and 4 are those constants): one pass over x where Mul +
 * Add take two. Measured in the batch-norm gradient on [128, 16, 32, 32], 1 thread: A·g + B·(x − μ) + C
 * 2.0 ms vs 3.5 ms for Mul, Mul, Add, Add.
 */
const ChannelAffine = defineOp<Record<string, never>>({
  name: 'channelAffine',
  inferShape([x, a, b, zeros, ones]) {
    checkChannelInputs(x, [a, b, zeros, ones], ['scale', 'shift', 'zeros', 'ones']);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs) {
    ctx.node('BatchNormalization', ins, outs, { epsilon: { float: 0 } });
  },
  grad: (ctx, [g], [x, a]) => {
    const axes = statAxes(x.rank);
    const a4 = reshape(a, channelShape(x.shape));
    return [
      ctx.needsGrad[0] ? mul(g!, a4) : null,
      ctx.needsGrad[1] ? reshape(reduceSum(mul(g!, x), axes), a.shape) : null,
      ctx.needsGrad[2] ? reshape(reduceSum(g!, axes), a.shape) : null,
      null,
      null,
    ];
  },
});
/** x·a + b with a, b of shape [C] broadcast over the channel axis 1 of x [N, C, ...] (one pass). */
export function channelAffine(x: Tensor, a: Tensor, b: Tensor): Tensor {
  const c = x.shape[1];
  if (typeof c !== 'number') throw new GraphError(`${x.graph.where()}channelAffine: channel dim of ${formatShape(x.shape)} must be static`);
  return applyOp(ChannelAffine, [x, a, b, filledVector(x.graph, c, 0, x.dtype), filledVector(x.graph, c, 1, x.dtype)], {})[0];
}

const filledVectors = new WeakMap<Graph, Map<string, Tensor>>();
/** A [c] constant of `value`, one initializer per graph, length, value and dtype. */
function filledVector(graph: Graph, c: number, value: number, dtype: Tensor['dtype']): Tensor {
  const cache = filledVectors.get(graph) ?? new Map<string, Tensor>();
  filledVectors.set(graph, cache);
  const key = `${dtype}:${c}:${value}`;
  let t = cache.get(key);
  if (!t) {
    t = graph.atScopePath('', () => graph.constant(dtype === 'float64' ? new Float64Array(c).fill(value) : new Float32Array(c).fill(value), [c], dtype));
    cache.set(key, t);
  }
  return t;
}

interface BatchNormTrainAttrs { eps: number; affine: boolean }

/**
 * Training-mode batch norm: y = γ (x − μ_B) / √(σ²_B + ε) + β with biased batch statistics, which are
 * also outputs (for the running-statistic update). Statistics come from ReduceMean because ONNX
 * BatchNormalization(training_mode=1) overwrites its input_mean/input_var buffers in ORT
 * (even constants; measured with onnxruntime-node 1.30).
 * The gradient is the closed form, reusing the two reductions dβ = Σg and Σg·(x − μ).
 */
const BatchNormTrain = defineOp<BatchNormTrainAttrs>({
  name: 'batchNormTrain',
  inferShape([x, gamma, beta], { affine }) {
    checkChannelInputs(x, affine ? [gamma, beta] : [], ['gamma', 'beta']);
    const c = x.shape[1];
    if (x.shape.some((d) => typeof d !== 'number')) fail(`input ${formatShape(x.shape)}: batch statistics need a static shape`);
    // The fourth output, x − μ, is kept for the gradient instead of x (no recomputation).
    return [{ shape: x.shape, dtype: x.dtype }, { shape: [c], dtype: x.dtype }, { shape: [c], dtype: x.dtype }, { shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, [x, gamma, beta], [y, mean, variance, d], { eps, affine }) {
    const xt = ctx.inputTypes[0];
    const axes = ctx.int64s(statAxes(xt.shape.length));
    const m = ctx.tmpName('mean');
    const ss = ctx.tmpName('sum_sq');
    const v = ctx.tmpName('var');
    ctx.node('ReduceMean', [x, axes], [m], { keepdims: 1 });
    ctx.node('Sub', [x, m], [d]);
    // Mul + ReduceSum, not ReduceSumSquare: ORT's ReduceSumSquare has no fast path for the
    // [N, C, H, W] → C pattern (measured on [128, 8, 32, 32], 1 thread: 0.62 ms vs 0.10 ms for
    // ReduceSum, 0.20 ms for Mul + ReduceSum).
    const count = statAxes(xt.shape.length).reduce((n, a) => n * (xt.shape[a] as number), 1);
    const sq = ctx.tmpName('sq');
    ctx.node('Mul', [d, d], [sq]);
    ctx.node('ReduceSum', [sq, axes], [ss], { keepdims: 1 });
    ctx.node('Mul', [ss, ctx.scalar(1 / count, xt.dtype)], [v]);
    const c = ctx.int64s([xt.shape[1] as number]);
    ctx.node('Reshape', [m, c], [mean]);
    ctx.node('Reshape', [v, c], [variance]);
    const ve = ctx.tmpName('var_eps');
    ctx.node('Add', [v, ctx.scalar(eps, xt.dtype)], [ve]);
    if (affine) {
      // y = γ (x − μ)/√(σ² + ε) + β in one pass: inference-mode BatchNormalization (it never writes
      // its inputs) on x − μ with mean input 0 and variance input σ² + ε (its epsilon attribute is
      // a float32, so ε stays in the input for float64 graphs). Measured on [128, 16, 32, 32],
      // 1 thread: 0.70 ms vs 1.46 ms for Mul + Add.
      const zero = ctx.tmpName('zero');
      const ve1 = ctx.tmpName('var_eps');
      ctx.node('Sub', [mean, mean], [zero]);
      ctx.node('Reshape', [ve, c], [ve1]);
      ctx.node('BatchNormalization', [d, gamma, beta, zero, ve1], [y], { epsilon: { float: 0 } });
    } else {
      const sd = ctx.tmpName('std');
      ctx.node('Sqrt', [ve], [sd]);
      ctx.node('Div', [d, sd], [y]);
    }
  },
  grad: (ctx, [gy, gMean, gVar], [x, gamma], [, , variance, centered], { eps, affine }) => {
    // dx = γ/σ (g − mean(g) − x̂ mean(g x̂)) written as A·g + B·(x − μ) + C with per-channel A, B, C,
    // so the big tensors are touched by few elementwise ops.
    const axes = statAxes(x.rank);
    const bshape = channelShape(x.shape);
    const c = [x.shape[1]];
    const count = axes.reduce((n, a) => n * (x.shape[a] as number), 1);
    const invStd = reciprocal(sqrt(add(reshape(variance, bshape), eps)));
    const g = gy ?? zerosLike(x);
    const sumG = reduceSum(g, axes, true);
    const sumGC = reduceSum(mul(g, centered), axes, true);
    let dx: Tensor | null = null;
    if (ctx.needsGrad[0]) {
      const A = affine ? mul(reshape(gamma, bshape), invStd) : invStd;
      let B = mul(A, mul(mul(invStd, invStd), -1 / count));
      let C = mul(A, mul(sumG, -1 / count));
      B = mul(B, sumGC);
      if (gMean) C = add(C, div(reshape(gMean, bshape), count));
      if (gVar) B = add(B, mul(reshape(gVar, bshape), 2 / count));
      dx = add(mul(A, g), channelAffine(centered, reshape(B, c), reshape(C, c)));
    }
    return [
      dx,
      affine && ctx.needsGrad[1] ? reshape(mul(sumGC, invStd), c) : null,
      affine && ctx.needsGrad[2] ? reshape(sumG, c) : null,
    ];
  },
});

export interface BatchNormTrainResult {
  y: Tensor;
  /** Batch mean per channel [C]. */
  mean: Tensor;
  /** Biased batch variance per channel [C] (multiply by M/(M−1) for torch's running_var update). */
  variance: Tensor;
}

/** Batch norm in training mode over [N, C, ...] (statistics over every axis but 1). */
export function batchNormTrain(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps = 1e-5): BatchNormTrainResult {
  const affine = gamma !== null && beta !== null;
  const [y, mean, variance] = applyOp(BatchNormTrain, affine ? [x, gamma, beta] : [x], { eps, affine });
  return { y, mean, variance };
}

/**
 * Eval-mode batch norm with running statistics: ONNX BatchNormalization (training_mode 0, safe),
 * which ORT folds into a preceding Conv in exported inference models.
 */
const BatchNormEval = defineOp<{ eps: number }>({
  name: 'batchNormEval',
  inferShape([x, gamma, beta, runningMean, runningVar]) {
    checkChannelInputs(x, [gamma, beta, runningMean, runningVar], ['gamma', 'beta', 'runningMean', 'runningVar']);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { eps }) {
    ctx.node('BatchNormalization', ins, outs, { epsilon: { float: eps } });
  },
  grad: (ctx, [g], [x, gamma, , runningMean, runningVar], _y, { eps }) => {
    const axes = statAxes(x.rank);
    const bshape = channelShape(x.shape);
    const c = [x.shape[1]];
    const invStd = reciprocal(sqrt(add(reshape(runningVar, bshape), eps)));
    const gamma4 = reshape(gamma, bshape);
    const centered = sub(x, reshape(runningMean, bshape));
    const sumG = ctx.needsGrad[2] || ctx.needsGrad[3] ? reduceSum(g!, axes, true) : null;
    const sumGC = ctx.needsGrad[1] || ctx.needsGrad[4] ? reduceSum(mul(g!, centered), axes, true) : null;
    return [
      ctx.needsGrad[0] ? mul(g!, mul(gamma4, invStd)) : null,
      ctx.needsGrad[1] ? reshape(mul(sumGC!, invStd), c) : null,
      ctx.needsGrad[2] ? reshape(sumG!, c) : null,
      ctx.needsGrad[3] ? reshape(mul(sumG!, mul(gamma4, mul(invStd, -1))), c) : null,
      ctx.needsGrad[4] ? reshape(mul(sumGC!, mul(gamma4, mul(mul(invStd, mul(invStd, invStd)), -0.5))), c) : null,
    ];
  },
});
export function batchNormEval(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, eps = 1e-5): Tensor {
  return applyOp(BatchNormEval, [x, gamma, beta, runningMean, runningVar], { eps })[0];
}

interface LayerNormAttrs { axis: number; eps: number }

/** ONNX LayerNormalization over the trailing axes from `axis`; its Mean/InvStdDev outputs feed the closed-form gradient. */
const LayerNorm = defineOp<LayerNormAttrs>({
  name: 'layerNorm',
  inferShape([x, gamma, beta], { axis }) {
    if (!isFloat(x.dtype)) fail(`needs a float input, got ${x.dtype}`);
    const a = normAxis(axis, x.shape.length);
    const normShape = x.shape.slice(a);
    for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
      if (t.dtype !== x.dtype) fail(`${name} ${t.dtype} vs input ${x.dtype}`);
      if (formatShape(t.shape) !== formatShape(normShape)) fail(`input ${formatShape(x.shape)} vs ${name} ${formatShape(t.shape)}: expected ${formatShape(normShape)}`);
    }
    const statShape = x.shape.map((d, i) => (i < a ? d : 1));
    return [{ shape: x.shape, dtype: x.dtype }, { shape: statShape, dtype: x.dtype }, { shape: statShape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { axis, eps }) {
    ctx.node('LayerNormalization', ins, outs, { axis, epsilon: { float: eps }, stash_type: ctx.inputTypes[0].dtype === 'float64' ? 11 : 1 });
  },
  grad: (ctx, [g], [x, gamma, beta], [, mean, invStd], { axis }) => {
    const a = normAxis(axis, x.rank);
    const axes = Array.from({ length: x.rank - a }, (_, i) => a + i);
    const xhat = mul(sub(x, mean), invStd);
    let dx: Tensor | null = null;
    if (ctx.needsGrad[0]) {
      const gx = mul(g!, gamma);
      dx = mul(invStd, sub(sub(gx, reduceMean(gx, axes, true)), mul(xhat, reduceMean(mul(gx, xhat), axes, true))));
    }
    return [
      dx,
      ctx.needsGrad[1] ? sumToShape(mul(g!, xhat), gamma.shape) : null,
      ctx.needsGrad[2] ? sumToShape(g!, beta.shape) : null,
    ];
  },
});
/** torch.nn.functional.layer_norm over the trailing axes from `axis` (default: last axis). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5, axis = -1): Tensor {
  return applyOp(LayerNorm, [x, gamma, beta], { axis, eps })[0];
}
