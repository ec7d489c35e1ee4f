import { normAxis } from '../broadcast';
import { isFloat, type Tensor } from '../graph';
import { applyOp, defineOp, fail } from '../op';
import { scatterElementsAdd, zerosLike } from './shape';

interface TopKAttrs { k: number; axis: number; largest: boolean }
/** ONNX TopK (sorted). The values' gradient scatters back to the selected positions; indices are int64, no gradient. */
const TopK = defineOp<TopKAttrs>({
  name: 'topK',
  inferShape([x], { k, axis }) {
    if (!isFloat(x.dtype)) fail(`needs a float input, got ${x.dtype}`);
    const a = normAxis(axis, x.shape.length);
    const d = x.shape[a];
    if (typeof d !== 'number' || !Number.isInteger(k) || k < 1 || k > d) fail(`k ${k} must be in 1..${d} (axis ${axis})`);
    const shape = x.shape.map((s, i) => (i === a ? k : s));
    return [{ shape, dtype: x.dtype }, { shape, dtype: 'int64' }];
  },
  emit(ctx, [x], outs, { k, axis, largest }) {
    ctx.node('TopK', [x, ctx.int64s([k])], outs, { axis, largest: largest ? 1 : 0, sorted: 1 });
  },
  grad: (_ctx, [g], [x], [, indices], { axis }) => [g ? scatterElementsAdd(zerosLike(x), indices, g, axis) : null],
});

export function topK(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  const [values, indices] = applyOp(TopK, [x], { k, axis, largest });
  return { values, indices };
}
