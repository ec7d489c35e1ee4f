import { broadcastShapes } from '../broadcast';
import { formatShape, isFloat, type Tensor } from '../graph';
import { applyOp, defineOp, fail } from '../op';
import { add } from './elementwise';
import { sumToShape } from './reduce';
import { reshape, transpose } from './shape';

type NoAttrs = Record<string, never>;

/** Swaps the last two axes. */
export function matrixTranspose(x: Tensor): Tensor {
  const perm = [...x.shape.keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

const MatMul = defineOp<NoAttrs>({
  name: 'matmul',
  inferShape([a, b]) {
    if (a.dtype !== b.dtype || !isFloat(a.dtype)) fail(`needs two float tensors of one dtype, got ${a.dtype} and ${b.dtype}`);
    if (a.shape.length < 2 || b.shape.length < 2) fail('operands need rank >= 2 (reshape vectors to matrices)');
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) fail(`${formatShape(a.shape)} x ${formatShape(b.shape)}: inner dims ${k} != ${k2}`);
    return [{ shape: [...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n], dtype: a.dtype }];
  },
  emit(ctx, ins, outs) {
    ctx.node('MatMul', ins, outs);
  },
  grad: (ctx, [g], [a, b]) => {
    const staticShapes = [a, b, g!].every((t) => t.shape.every((d) => typeof d === 'number'));
    let gb: Tensor | null = null;
    if (ctx.needsGrad[1]) {
      // A shared 2-D weight: one GEMM over all rows instead of a batched MatMul and a ReduceSum.
      gb = b.rank === 2 && a.rank > 2 && staticShapes
        ? gemm(reshape(a, [-1, a.shape[a.rank - 1]]), reshape(g!, [-1, g!.shape[g!.rank - 1]]), undefined, { transA: true })
        : sumToShape(matmul(matrixTranspose(a), g!), b.shape);
    }
    return [ctx.needsGrad[0] ? sumToShape(matmul(g!, matrixTranspose(b)), a.shape) : null, gb];
  },
});
/** numpy matmul for rank >= 2 with broadcast batch dims: [..., m, k] x [..., k, n]. */
export const matmul = (a: Tensor, b: Tensor): Tensor => applyOp(MatMul, [a, b], {})[0];

interface GemmAttrs { transA: boolean; transB: boolean }
const Gemm = defineOp<GemmAttrs>({
  name: 'gemm',
  inferShape([a, b, c], { transA, transB }) {
    if (a.dtype !== b.dtype || !isFloat(a.dtype) || (c && c.dtype !== a.dtype)) fail('needs float tensors of one dtype');
    if (a.shape.length !== 2 || b.shape.length !== 2) fail(`operands need rank 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
    const [k2, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
    if (k !== k2) fail(`${formatShape(a.shape)}${transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}: inner dims ${k} != ${k2}`);
    if (c) broadcastShapes([m, n], c.shape);
    return [{ shape: [m, n], dtype: a.dtype }];
  },
  emit(ctx, ins, outs, { transA, transB }) {
    ctx.node('Gemm', ins, outs, { transA: transA ? 1 : 0, transB: transB ? 1 : 0 });
  },
  grad: (ctx, [g], [a, b, c], _y, { transA, transB }) => {
    const G = g!;
    const ga = !ctx.needsGrad[0] ? null : transA ? gemm(b, G, undefined, { transA: transB, transB: true }) : gemm(G, b, undefined, { transB: !transB });
    const gb = !ctx.needsGrad[1] ? null : transB ? gemm(G, a, undefined, { transA: true, transB: transA }) : gemm(a, G, undefined, { transA: !transA });
    return [ga, gb, c && ctx.needsGrad[2] ? sumToShape(G, c.shape) : null];
  },
});
/** ONNX Gemm with alpha = beta = 1: op(a) x op(b) + c, where op transposes when asked. */
export function gemm(a: Tensor, b: Tensor, c?: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  return applyOp(Gemm, c ? [a, b, c] : [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false })[0];
}

/**
 * torch.nn.functional.linear: x [..., in] with weight [out, in] and bias [out] → [..., out].
 * Rank 2 is one Gemm; higher ranks (tokens) are a MatMul against the transposed weight.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (x.rank === 2) return gemm(x, weight, bias, { transB: true });
  const y = matmul(x, transpose(weight));
  return bias ? add(y, bias) : y;
}
