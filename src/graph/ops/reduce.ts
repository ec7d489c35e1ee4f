import { broadcastAxes, normAxis, sameShape } from '../broadcast';
import { isFloat, type Dim, type Shape, type Tensor } from '../graph';
import { applyOp, defineOp, fail, guard, type OpDef } from '../op';
import { cast, div, equal, mul } from './elementwise';
import { expand, reshape } from './shape';

interface ReduceAttrs { axes: readonly number[]; keepdims: boolean }

function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): Dim[] {
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function normAxes(axes: readonly number[] | undefined, rank: number): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : axes.map((a) => normAxis(a, rank));
  if (new Set(list).size !== list.length) fail(`axes [${axes}] repeat an axis`);
  return list.sort((a, b) => a - b);
}

/** Broadcasts a reduced gradient back over the reduced axes of `x`. */
function unreduce(g: Tensor, x: Tensor, { axes }: ReduceAttrs): Tensor {
  return expand(reshape(g, reducedShape(x.shape, axes, true)), x.shape);
}

function reduction(name: string, onnx: string, floatOnly: boolean, rule?: OpDef<ReduceAttrs>['grad']): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name,
    inferShape([x], attrs) {
      if (floatOnly && !isFloat(x.dtype)) fail(`needs a float tensor, got ${x.dtype}`);
      if (x.dtype === 'bool') fail('cannot reduce bool');
      for (const a of attrs.axes) if (typeof x.shape[a] !== 'number') fail(`axis ${a} is symbolic (${x.shape[a]}); reduce static axes only`);
      return [{ shape: reducedShape(x.shape, attrs.axes, attrs.keepdims), dtype: x.dtype }];
    },
    emit(ctx, [x], [y], { axes, keepdims }) {
      ctx.node(onnx, [x, ctx.int64s(axes)], [y], { keepdims: keepdims ? 1 : 0 });
    },
    grad: rule,
  });
}

function extremumGrad(_ctx: unknown, [g]: readonly (Tensor | null)[], [x]: readonly Tensor[], [y]: readonly Tensor[], attrs: ReduceAttrs) {
  // Ties share the gradient equally, as torch.amax does.
  const mask = cast(equal(x, unreduce(y, x, attrs)), x.dtype);
  const count = reduceSum(mask, attrs.axes, true);
  return [mul(unreduce(g!, x, attrs), div(mask, count))];
}

const ReduceSum = reduction('reduceSum', 'ReduceSum', false, (_c, [g], [x], _y, a) => [unreduce(g!, x, a)]);
const ReduceMean = reduction('reduceMean', 'ReduceMean', true, (_c, [g], [x], _y, a) => [
  div(unreduce(g!, x, a), a.axes.reduce((n, ax) => n * (x.shape[ax] as number), 1)),
]);
const ReduceMax = reduction('reduceMax', 'ReduceMax', false, extremumGrad);
const ReduceMin = reduction('reduceMin', 'ReduceMin', false, extremumGrad);

function reducer(op: OpDef<ReduceAttrs>) {
  /** Reduces over `axes` (all axes if omitted); negative axes count from the end. */
  return (x: Tensor, axes?: readonly number[], keepdims = false): Tensor =>
    applyOp(op, [x], { axes: guard(op.name, [x], () => normAxes(axes, x.rank)), keepdims })[0];
}


export const reduceSum = reducer(ReduceSum);
export const reduceMean = reducer(ReduceMean);
export const reduceMax = reducer(ReduceMax);
export const reduceMin = reducer(ReduceMin);

const ArgMax = defineOp<{ axis: number; keepdims: boolean }>({
  name: 'argmax',
  inferShape([x], { axis, keepdims }) {
    const a = normAxis(axis, x.shape.length);
    return [{ shape: reducedShape(x.shape, [a], keepdims), dtype: 'int64' }];
  },
  emit(ctx, ins, outs, { axis, keepdims }) {
    ctx.node('ArgMax', ins, outs, { axis, keepdims: keepdims ? 1 : 0 });
  },
});
/** Index of the largest value along `axis` (int64; first index on ties). */
export const argmax = (x: Tensor, axis = -1, keepdims = false): Tensor => applyOp(ArgMax, [x], { axis, keepdims })[0];

/** Sums a broadcast gradient back to `shape` (the shape of the operand that was broadcast). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const axes = broadcastAxes(g.shape, shape);
  const summed = axes.length ? reduceSum(g, axes, true) : g;
  return reshape(summed, shape);
}

