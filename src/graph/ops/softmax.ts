import { normAxis } from '../broadcast';
import { isFloat, type Tensor } from '../graph';
import { applyOp, defineOp, fail, type OpDef } from '../op';
import { add, exp, log, mul, stopGradient, sub } from './elementwise';
import { reduceMax, reduceSum } from './reduce';
import { reshape } from './shape';

function softmaxLike(name: string, onnx: string, rule: NonNullable<OpDef<{ axis: number }>['grad']>): OpDef<{ axis: number }> {
  return defineOp<{ axis: number }>({
    name,
    inferShape([x], { axis }) {
      if (!isFloat(x.dtype)) fail(`needs a float tensor, got ${x.dtype}`);
      normAxis(axis, x.shape.length);
      return [{ shape: x.shape, dtype: x.dtype }];
    },
    emit(ctx, ins, outs, { axis }) {
      ctx.node(onnx, ins, outs, { axis });
    },
    grad: rule,
  });
}

const Softmax = softmaxLike('softmax', 'Softmax', (_c, [g], _x, [y], { axis }) => [mul(y, sub(g!, reduceSum(mul(g!, y), [axis], true)))]);
const LogSoftmax = softmaxLike('logSoftmax', 'LogSoftmax', (_c, [g], _x, [y], { axis }) => [sub(g!, mul(exp(y), reduceSum(g!, [axis], true)))]);

export const softmax = (x: Tensor, axis = -1): Tensor => applyOp(Softmax, [x], { axis })[0];
export const logSoftmax = (x: Tensor, axis = -1): Tensor => applyOp(LogSoftmax, [x], { axis })[0];

/** log Σ exp(x) along `axis`, shifted by the (gradient-free) max for stability. */
export function logSumExp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const m = stopGradient(reduceMax(x, [axis], true));
  const lse = add(log(reduceSum(exp(sub(x, m)), [axis], true)), m);
  return keepdims ? lse : reshape(lse, x.shape.filter((_, i) => i !== (axis < 0 ? axis + x.rank : axis)));
}
