import { applyOp, defineOp, fail, type Tensor } from '../graph';

/**
 * Raw ONNX ops the augmentation graph needs and the shared op library lacks. No gradient rules:
 * nothing differentiates through the augmentation (its inputs are data and sampled parameters).
 */

const Floor = defineOp<Record<string, never>>({
  name: 'augment.floor',
  inferShape([x]) {
    if (x.dtype !== 'float32' && x.dtype !== 'float64') fail(`needs a float tensor, got ${x.dtype}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs) {
    ctx.node('Floor', ins, outs);
  },
});
/** Elementwise floor (no gradient). */
export const floor = (x: Tensor): Tensor => applyOp(Floor, [x], {})[0];

interface PadAttrs { pads: readonly (readonly [number, number])[] }
const PadEdge = defineOp<PadAttrs>({
  name: 'augment.padEdge',
  inferShape([x], { pads }) {
    if (pads.length !== x.shape.length) fail(`${pads.length} pad pairs for rank ${x.shape.length}`);
    const shape = x.shape.map((d, i) => {
      const [b, e] = pads[i];
      if (b === 0 && e === 0) return d;
      if (typeof d !== 'number') fail(`cannot pad symbolic axis ${i}`);
      if (b < 0 || e < 0) fail(`negative padding on axis ${i}`);
      return d + b + e;
    });
    return [{ shape, dtype: x.dtype }];
  },
  emit(ctx, [x], [y], { pads }) {
    ctx.node('Pad', [x, ctx.int64s([...pads.map((p) => p[0]), ...pads.map((p) => p[1])])], [y], { mode: 'edge' });
  },
});
/** Pads by repeating the edge values (PIL's filters extend the image this way); pads[i] = [before, after]. */
export const padEdge = (x: Tensor, pads: readonly (readonly [number, number])[]): Tensor => applyOp(PadEdge, [x], { pads })[0];
