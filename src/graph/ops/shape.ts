import { broadcastShapes, normAxis, sameShape } from '../broadcast';
import { GraphError, formatShape, type Dim, type Shape, type Tensor } from '../graph';
import { applyOp, defineOp, fail, guard } from '../op';
import { cast } from './elementwise';
import { sumToShape } from './reduce';

type NoAttrs = Record<string, never>;

function staticDims(shape: Shape, what: string): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : fail(`${what}: dim '${d}' is symbolic; a static shape is needed`)));
}

// ---------------------------------------------------------------- reshape / transpose / expand

const Reshape = defineOp<{ shape: readonly Dim[] }>({
  name: 'reshape',
  inferShape([x], { shape }) {
    return [{ shape, dtype: x.dtype }];
  },
  emit(ctx, [x], [y], { shape }) {
    // The one symbolic dim (if any) is recovered by ONNX from the element count.
    const dims = shape.map((d) => (typeof d === 'number' ? d : -1));
    ctx.node('Reshape', [x, ctx.int64s(dims)], [y], dims.includes(0) ? { allowzero: 1 } : {});
  },
  grad: (_ctx, [g], [x]) => [reshape(g!, x.shape)],
});

function resolveReshape(from: Shape, to: readonly Dim[]): Dim[] {
  const fromSymbolic = from.filter((d) => typeof d === 'string');
  const toSymbolic = to.filter((d) => typeof d === 'string');
  if (toSymbolic.length > 1) fail(`target ${formatShape(to)} has more than one symbolic dim`);
  if (fromSymbolic.length !== toSymbolic.length || fromSymbolic.some((d, i) => d !== toSymbolic[i])) {
    fail(`target ${formatShape(to)} must keep the symbolic dims of ${formatShape(from)}`);
  }
  const fromStatic = from.reduce<number>((n, d) => (typeof d === 'number' ? n * d : n), 1);
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1) fail(`target ${formatShape(to)} has more than one -1`);
  for (const d of to) if (typeof d === 'number' && (d < -1 || !Number.isInteger(d))) fail(`target ${formatShape(to)} has invalid dim ${d}`);
  const known = to.reduce<number>((n, d) => (typeof d === 'number' && d !== -1 ? n * d : n), 1);
  if (inferred === 1 && toSymbolic.length === 1) fail(`target ${formatShape(to)} combines -1 with a symbolic dim`);
  if (inferred === 1) {
    if (known === 0 || fromStatic % known !== 0) fail(`cannot infer -1 in ${formatShape(to)} from ${formatShape(from)}`);
    return to.map((d) => (d === -1 ? fromStatic / known : d));
  }
  if (known !== fromStatic) fail(`cannot reshape ${formatShape(from)} to ${formatShape(to)}: sizes differ`);
  return [...to];
}

/** Reshape; one -1 is inferred; a symbolic dim (e.g. 'N') must be carried over by name. */
export function reshape(x: Tensor, shape: readonly Dim[]): Tensor {
  const resolved = guard('reshape', [x], () => resolveReshape(x.shape, shape));
  if (sameShape(resolved, x.shape)) return x;
  return applyOp(Reshape, [x], { shape: resolved })[0];
}

export function flatten(x: Tensor, fromAxis = 1): Tensor {
  const a = guard('flatten', [x], () => normAxis(fromAxis, x.rank + 1));
  return reshape(x, [...x.shape.slice(0, a), -1]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = guard('unsqueeze', [x], () => normAxis(axis, x.rank + 1));
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const a = guard('squeeze', [x], () => {
    const k = normAxis(axis, x.rank);
    if (x.shape[k] !== 1) fail(`axis ${axis} has size ${x.shape[k]}, not 1`);
    return k;
  });
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

const Transpose = defineOp<{ perm: readonly number[] }>({
  name: 'transpose',
  inferShape([x], { perm }) {
    if (perm.length !== x.shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(`perm [${perm}] is not a permutation of rank ${x.shape.length}`);
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { perm }) {
    ctx.node('Transpose', ins, outs, { perm });
  },
  grad: (_ctx, [g], _x, _y, { perm }) => {
    const inverse: number[] = [];
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(g!, inverse)];
  },
});
/** Permutes axes (default: reverses them). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? [...x.shape.keys()].reverse();
  if (p.every((v, i) => v === i)) return x;
  return applyOp(Transpose, [x], { perm: p })[0];
}

const Expand = defineOp<{ shape: readonly number[] }>({
  name: 'expand',
  inferShape([x], { shape }) {
    return [{ shape: broadcastShapes(x.shape, shape), dtype: x.dtype }];
  },
  emit(ctx, [x], [y], { shape }) {
    ctx.node('Expand', [x, ctx.int64s(shape)], [y]);
  },
  grad: (_ctx, [g], [x]) => [sumToShape(g!, x.shape)],
});
/** Broadcasts `x` to `shape` (numpy rules, static shape). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const dims = guard('expand', [x], () => staticDims(shape, 'expand'));
  if (sameShape(x.shape, dims)) return x;
  return applyOp(Expand, [x], { shape: dims })[0];
}

const ExpandAs = defineOp<NoAttrs>({
  name: 'expandAs',
  inferShape([x, like]) {
    return [{ shape: broadcastShapes(x.shape, like.shape), dtype: x.dtype }];
  },
  emit(ctx, [x, like], [y]) {
    const shape = ctx.tmpName('shape');
    ctx.node('Shape', [like], [shape]);
    ctx.node('Expand', [x, shape], [y]);
  },
  grad: (_ctx, [g], [x]) => [sumToShape(g!, x.shape), null],
});
/**
 * Broadcasts `x` to the shape of `like`, which may have a symbolic dim (e.g. a class token
 * [1, 1, D] to ['N', 1, D]); no gradient flows to `like`.
 */
export function expandAs(x: Tensor, like: Tensor): Tensor {
  if (like.shape.every((d) => typeof d === 'number')) return expand(x, broadcastShapes(x.shape, like.shape) as number[]);
  return applyOp(ExpandAs, [x, like], {})[0];
}

/** A tensor of `like`'s shape and dtype filled with `value` (an Expand of one scalar, no big initializer). */
export function fill(like: Tensor, value: number): Tensor {
  const s = like.graph.scalar(value, like.dtype);
  return like.rank === 0 ? s : expandAs(s, like);
}

export const zerosLike = (x: Tensor): Tensor => fill(x, 0);

// ---------------------------------------------------------------- concat / split / slice / pad

const Concat = defineOp<{ axis: number }>({
  name: 'concat',
  inferShape(inputs, { axis }) {
    const first = inputs[0];
    const a = normAxis(axis, first.shape.length);
    let total: Dim = 0;
    for (const t of inputs) {
      if (t.dtype !== first.dtype) fail(`dtypes differ (${inputs.map((i) => i.dtype).join(', ')})`);
      if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
        fail(`shapes ${inputs.map((i) => formatShape(i.shape)).join(', ')} differ outside axis ${axis}`);
      }
      const d = t.shape[a];
      if (typeof d !== 'number' || typeof total !== 'number') fail(`axis ${axis} is symbolic`);
      total += d;
    }
    return [{ shape: first.shape.map((d, i) => (i === a ? total : d)), dtype: first.dtype }];
  },
  emit(ctx, ins, outs, { axis }) {
    ctx.node('Concat', ins, outs, { axis });
  },
  grad: (_ctx, [g], inputs, _y, { axis }) => split(g!, inputs.map((t) => t.shape[normAxis(axis, t.rank)] as number), axis),
});
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new GraphError('concat: needs at least one tensor');
  if (xs.length === 1) return xs[0];
  return applyOp(Concat, xs, { axis })[0];
}

const Split = defineOp<{ axis: number; sizes: readonly number[] }>({
  name: 'split',
  inferShape([x], { axis, sizes }) {
    const a = normAxis(axis, x.shape.length);
    const total = sizes.reduce((s, n) => s + n, 0);
    if (x.shape[a] !== total || sizes.some((n) => !Number.isInteger(n) || n < 0)) fail(`sizes [${sizes}] do not split axis ${axis} of size ${x.shape[a]}`);
    return sizes.map((n) => ({ shape: x.shape.map((d, i) => (i === a ? n : d)), dtype: x.dtype }));
  },
  emit(ctx, [x], outs, { axis, sizes }) {
    ctx.node('Split', [x, ctx.int64s(sizes)], outs, { axis });
  },
  grad: (_ctx, gs, _x, ys, { axis }) => [concat(gs.map((g, i) => g ?? zerosLike(ys[i])), axis)],
});
/** Splits along `axis` into pieces of `sizes` (or `parts` equal pieces). */
export function split(x: Tensor, sizes: readonly number[] | number, axis: number): Tensor[] {
  const list = guard('split', [x], () => {
    if (typeof sizes !== 'number') return sizes;
    const d = x.shape[normAxis(axis, x.rank)];
    if (typeof d !== 'number' || d % sizes !== 0) fail(`axis ${axis} of size ${d} does not split into ${sizes} equal parts`);
    return new Array<number>(sizes).fill(d / sizes);
  });
  return applyOp(Split, [x], { axis, sizes: list });
}

/** Normalised slice along one axis: start, count of elements, step. */
interface SliceAxis { axis: number; start: number; count: number; step: number }

const Slice = defineOp<{ axes: readonly SliceAxis[] }>({
  name: 'slice',
  inferShape([x], { axes }) {
    const shape = [...x.shape];
    for (const s of axes) shape[s.axis] = s.count;
    return [{ shape, dtype: x.dtype }];
  },
  emit(ctx, [x], [y], { axes }) {
    const dims = ctx.inputTypes[0].shape as number[];
    const starts = axes.map((s) => s.start);
    // An end of -1 would mean "last element" to ONNX; -(dim+1) clamps to "before the first".
    const ends = axes.map((s) => {
      const e = s.start + s.count * s.step;
      return e < 0 ? -dims[s.axis] - 1 : e;
    });
    ctx.node('Slice', [x, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes.map((s) => s.axis)), ctx.int64s(axes.map((s) => s.step))], [y]);
  },
  grad: (ctx, [g], [x], _y, { axes }) => {
    let out = g!;
    const pads = x.shape.map(() => [0, 0] as [number, number]);
    for (const s of axes) {
      if (s.step < 0) throw new GraphError(`${ctx.node.scope}: slice with negative step has no gradient rule`);
      const dim = x.shape[s.axis] as number;
      if (s.step > 1 && s.count > 0) {
        // Interleave step-1 zeros after each element, then trim the tail.
        const u = unsqueeze(out, s.axis + 1);
        const p = u.shape.map(() => [0, 0] as [number, number]);
        p[s.axis + 1] = [0, s.step - 1];
        const merged = reshape(pad(u, p), out.shape.map((d, i) => (i === s.axis ? s.count * s.step : d)));
        out = slice(merged, [0], [(s.count - 1) * s.step + 1], [s.axis]);
      }
      const span = s.count === 0 ? 0 : (s.count - 1) * s.step + 1;
      pads[s.axis] = [s.count === 0 ? 0 : s.start, dim - (s.count === 0 ? 0 : s.start) - span];
    }
    return [pad(out, pads)];
  },
});

/**
 * numpy-style slice: for each listed axis, elements start, start+step, ... before end
 * (negative start/end count from the end; out-of-range values clamp). Static axes only.
 */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Tensor {
  const spec = guard('slice', [x], () => {
    const ax = axes ?? starts.map((_, i) => i);
    if (ends.length !== starts.length || ax.length !== starts.length || (steps && steps.length !== starts.length)) fail('starts, ends, axes and steps must have the same length');
    return ax.map((axis0, i): SliceAxis => {
      const axis = normAxis(axis0, x.rank);
      const dim = x.shape[axis];
      if (typeof dim !== 'number') fail(`axis ${axis0} is symbolic`);
      const step = steps?.[i] ?? 1;
      if (!Number.isInteger(step) || step === 0) fail(`step ${step} must be a nonzero integer`);
      const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
      const start = step > 0 ? norm(starts[i], 0, dim) : norm(starts[i], -1, dim - 1);
      const end = step > 0 ? norm(ends[i], 0, dim) : norm(ends[i], -1, dim - 1);
      const count = Math.max(0, Math.ceil((end - start) / step));
      return { axis, start, count, step };
    });
  });
  if (spec.every((s) => s.step === 1 && s.start === 0 && s.count === x.shape[s.axis])) return x;
  return applyOp(Slice, [x], { axes: spec })[0];
}

const Pad = defineOp<{ pads: readonly (readonly [number, number])[]; value: number }>({
  name: 'pad',
  inferShape([x], { pads }) {
    if (pads.length !== x.shape.length) fail(`pads has ${pads.length} entries for rank ${x.shape.length}`);
    return [{
      shape: x.shape.map((d, i) => {
        const [b, e] = pads[i];
        if (b < 0 || e < 0 || !Number.isInteger(b) || !Number.isInteger(e)) fail(`pads must be integers >= 0, got [${b},${e}] on axis ${i}`);
        if (b + e === 0) return d;
        if (typeof d !== 'number') fail(`cannot pad symbolic axis ${i}`);
        return d + b + e;
      }),
      dtype: x.dtype,
    }];
  },
  emit(ctx, [x], [y], { pads, value }) {
    const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
    ctx.node('Pad', [x, ctx.int64s(flat), ctx.scalar(value, ctx.inputTypes[0].dtype)], [y], { mode: 'constant' });
  },
  grad: (_ctx, [g], [x], _y, { pads }) => [slice(g!, pads.map((p) => p[0]), pads.map((p, i) => p[0] + (x.shape[i] as number)))],
});
/** Constant padding: pads[i] = [before, after] for axis i. */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.every(([b, e]) => b === 0 && e === 0) && pads.length === x.rank) return x;
  return applyOp(Pad, [x], { pads, value })[0];
}

// ---------------------------------------------------------------- gather / scatter

function checkIndices(idx: { dtype: string }): void {
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') fail(`indices must be int64 or int32, got ${idx.dtype}`);
}

const Gather = defineOp<{ axis: number }>({
  name: 'gather',
  inferShape([x, idx], { axis }) {
    checkIndices(idx);
    const a = normAxis(axis, x.shape.length);
    return [{ shape: [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)], dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { axis }) {
    ctx.node('Gather', ins, outs, { axis });
  },
  grad: (_ctx, [g], [x, idx], _y, { axis }) => {
    // Scatter-add the rows back: move the gathered axis to the front, ScatterND, move it back.
    const a = normAxis(axis, x.rank);
    const r = idx.rank;
    const gPerm = [...Array(r).keys()].map((i) => a + i).concat([...Array(a).keys()], [...Array(x.rank - a - 1).keys()].map((i) => a + r + i));
    const xPerm = [a, ...[...Array(a).keys()], ...[...Array(x.rank - a - 1).keys()].map((i) => a + 1 + i)];
    const zeros = fill(transpose(x, xPerm), 0);
    const scattered = scatterNDAdd(zeros, unsqueeze(cast(idx, 'int64'), -1), transpose(g!, gPerm));
    const back: number[] = [];
    xPerm.forEach((p, i) => (back[p] = i));
    return [transpose(scattered, back), null];
  },
});
/** numpy take: x[..., indices, ...] along `axis` (indices int64/int32, any shape). */
export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor => applyOp(Gather, [x, indices], { axis })[0];

const GatherElements = defineOp<{ axis: number }>({
  name: 'gatherElements',
  inferShape([x, idx], { axis }) {
    checkIndices(idx);
    normAxis(axis, x.shape.length);
    if (idx.shape.length !== x.shape.length) fail(`indices rank ${idx.shape.length} != data rank ${x.shape.length}`);
    return [{ shape: idx.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { axis }) {
    ctx.node('GatherElements', ins, outs, { axis });
  },
  grad: (_ctx, [g], [x, idx], _y, { axis }) => [scatterElementsAdd(zerosLike(x), idx, g!, axis), null],
});
/** torch.gather: out[i][j] = x[i][idx[i][j]] along `axis`. */
export const gatherElements = (x: Tensor, indices: Tensor, axis: number): Tensor => applyOp(GatherElements, [x, indices], { axis })[0];

const ScatterElementsAdd = defineOp<{ axis: number }>({
  name: 'scatterElementsAdd',
  inferShape([x, idx, upd], { axis }) {
    checkIndices(idx);
    normAxis(axis, x.shape.length);
    if (!sameShape(idx.shape, upd.shape)) fail(`indices ${formatShape(idx.shape)} and updates ${formatShape(upd.shape)} differ`);
    if (upd.dtype !== x.dtype) fail(`updates ${upd.dtype} vs data ${x.dtype}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs, { axis }) {
    ctx.node('ScatterElements', ins, outs, { axis, reduction: 'add' });
  },
  grad: (_ctx, [g], [, idx], _y, { axis }) => [g, null, gatherElements(g!, idx, axis)],
});
/** data with updates added at indices along `axis` (duplicates accumulate). */
export const scatterElementsAdd = (data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor =>
  applyOp(ScatterElementsAdd, [data, indices, updates], { axis })[0];

const ScatterNDAdd = defineOp<NoAttrs>({
  name: 'scatterNDAdd',
  inferShape([x, idx, upd]) {
    if (idx.dtype !== 'int64') fail(`indices must be int64, got ${idx.dtype}`);
    const k = idx.shape[idx.shape.length - 1];
    if (typeof k !== 'number' || k > x.shape.length) fail(`last indices dim ${k} exceeds data rank ${x.shape.length}`);
    const expected = [...idx.shape.slice(0, -1), ...x.shape.slice(k)];
    if (!sameShape(expected, upd.shape)) fail(`updates ${formatShape(upd.shape)} should be ${formatShape(expected)}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  emit(ctx, ins, outs) {
    ctx.node('ScatterND', ins, outs, { reduction: 'add' });
  },
  grad: (ctx, [g]) => {
    if (ctx.needsGrad[2]) throw new GraphError(`${ctx.node.scope}: scatterNDAdd has no gradient rule for its updates`);
    return [g, null, null];
  },
});
export const scatterNDAdd = (data: Tensor, indices: Tensor, updates: Tensor): Tensor => applyOp(ScatterNDAdd, [data, indices, updates], {})[0];

