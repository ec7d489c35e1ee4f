import { readFileSync } from 'node:fs';
import { formatShape, isFloat, type Tensor } from '../graph';
import { applyOp, defineOp, fail, guard } from '../op';
import { reduceMean, reduceSum } from './reduce';
import { concat, fill, pad, reshape, scatterElementsAdd, slice, transpose, unsqueeze } from './shape';
import { gemm, matmul } from './matmul';
import { convWeightGradChannelsLast, useChannelsLastWeightGrad } from './conv-weight-grad';

/** Normalised conv attributes: per spatial axis (h, w). */
export interface Conv2dAttrs {
  stride: readonly [number, number];
  /** [top, left, bottom, right], the ONNX order. */
  pad: readonly [number, number, number, number];
  dilation: readonly [number, number];
  groups: number;
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** Symmetric padding (number or [h, w]) or [top, left, bottom, right]. */
  pad?: number | readonly [number, number] | readonly [number, number, number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

/**
 * How the weight gradient's product is laid out:
 * 'batched': cols [N, G, Cin/G·k², Ho·Wo] (Pad + k² Slices + Concat) × gᵀ per sample (batched
 *   MatMul) then ReduceSum over N;
 * 'gemm': x and g moved channels-first ([C, N, H, W]) so the product is one Gemm with K = N·Ho·Wo;
 * 'taps': x and g channels-first, one product [Cout, K] × [Cin, K]ᵀ per kernel tap over that tap's
 *   shifted view, so no k²-sized column tensor is ever written, K split in two batch halves
 *   (TAPS_K_SPLIT) (groups 1 only, else 'gemm');
 * 'channels-last': x and g moved to [N, H, W, C], one Gemm per kernel tap over the tap's window
 *   (groups 1 only, else 'gemm'; conv-weight-grad.ts, where the measurements are);
 * 'auto' (default): 1x1 kernels 'batched' at >= 16x16 output pixels, else 'gemm'; larger kernels
 *   (groups 1) 'channels-last' where useChannelsLastWeightGrad says so (outputs up to 4x4, or 8x8
 *   with up to 128 input channels), 'gemm' for fewer than 4 input channels (the 3-channel stem:
 *   3.3 vs 5.0 ms for 'taps' at width 8), else 'taps' above 4x4 output pixels, else 'gemm'.
 *   Measured (1 thread, batch 128, loaded
 *   2-core machine, scripts in the commit log): SimCLR R18 step at width 8 0.92x and width 16
 *   0.98x the time of 'batched'/'gemm' by size; per layer at width 64 taps 0.70x at 16x16, ~1x
 *   at 32x32 and 8x8, 1.2x at 4x4 (hence 'gemm' there).
 */
export type WeightGradLayout = 'auto' | 'batched' | 'gemm' | 'taps' | 'channels-last';
let weightGradLayout: WeightGradLayout = 'auto';
/**
 * The 'taps' layout's K split: MLAS threads a Gemm over its output rows/columns only, and each
 * thread packs all of the K-long operand, so a [16, K]·[16, K]ᵀ product barely gains from a second
 * thread. Two batched-MatMul entries of K/2 run one per thread. Paired A/B of the SimCLR R18 step,
 * 2 threads: width 16 0.92-0.95x, width 8 0.98x, width 64 0.96x; 1 thread 0.98-0.99x. A constant,
 * not the thread count, so the sums do not depend on the thread count.
 */
const TAPS_K_SPLIT = 2;
/** Selects the conv weight-gradient formulation (see WeightGradLayout); returns the previous one. */
export function setConvWeightGradLayout(layout: WeightGradLayout): WeightGradLayout {
  const prev = weightGradLayout;
  weightGradLayout = layout;
  return prev;
}

/**
 * ORT's NCHWc convolution: com.microsoft.nchwc Conv between ReorderInput / ReorderOutput, with the
 * weight reordered in the graph (ORT's own NchwcTransformer only rewrites Convs whose weights are
 * constants, never a training step's). MLAS blocks channels by 16 with AVX-512F and by 8 with
 * AVX2; a block size other than the machine's gives wrong numbers without an error, and a model
 * that uses it runs only on ORT's x86 CPU EP. So emission stays plain (block 0) and toOnnx keeps a
 * way to re-emit a model at a block (nchwcRebuildOf), which engine/session.ts uses for CPU sessions
 * after a self-check on this machine (engine/conv-layout.ts); exported and GPU models stay plain.
 * Applies to groups-1 float32 convs whose channel counts are multiples of the block. Measured
 * (1 thread, batch 128, min of 15): 16->16 ch at 16x16 forward 2.2 vs 3.3 ms.
 */
const NCHWC_DOMAIN = 'com.microsoft.nchwc';
let nchwcBlockSize = 0;
/** Selects the NCHWc channel block for Conv emission (0: plain ONNX Conv); returns the previous one. */
export function setConvNchwcBlockSize(block: number): number {
  if (![0, 8, 16].includes(block)) throw new RangeError(`NCHWc block size must be 0, 8 or 16, got ${block}`);
  const prev = nchwcBlockSize;
  nchwcBlockSize = block;
  return prev;
}
/** The NCHWc block conv emission uses now (0: plain ONNX Conv). */
export function convNchwcBlockSize(): number {
  return nchwcBlockSize;
}
/** Runs `fn` (e.g. toOnnx) with convs emitted at NCHWc block `block`; the previous block is restored even when it throws. */
export function withConvNchwcBlockSize<T>(block: number, fn: () => T): T {
  const prev = setConvNchwcBlockSize(block);
  try {
    return fn();
  } finally {
    setConvNchwcBlockSize(prev);
  }
}

/**
 * Model bytes emitted with plain convs → the same graph emitted again at an NCHWc block. toOnnx
 * records it for graphs with eligible convs, so the one place that knows a model runs on ORT's CPU
 * EP (engine/session.ts, after 'auto' resolved) can open the NCHWc variant, while the bytes
 * themselves (written as backbone.onnx, opened on a GPU EP) stay plain. Weak: dropped with the bytes.
 */
const nchwcRebuilds = new WeakMap<Uint8Array, (block: number) => Uint8Array>();
export function rememberNchwcRebuild(bytes: Uint8Array, rebuild: (block: number) => Uint8Array): void {
  nchwcRebuilds.set(bytes, rebuild);
}
/** The NCHWc re-emission of plain model bytes, or null when toOnnx saw no eligible conv in them. */
export function nchwcRebuildOf(bytes: Uint8Array): ((block: number) => Uint8Array) | null {
  return nchwcRebuilds.get(bytes) ?? null;
}
/** Whether some conv of `graph` could be NCHWc at block 8 (every conv eligible at 16 is eligible at 8). */
export function hasNchwcCandidates(graph: { readonly nodes: readonly { readonly op: unknown; readonly inputs: readonly Tensor[]; readonly attrs: unknown }[] }): boolean {
  return graph.nodes.some((n) => {
    if (n.op !== Conv2d || (n.attrs as Conv2dAttrs).groups !== 1 || n.inputs[0].dtype !== 'float32') return false;
    const [cout, cin] = n.inputs[1].shape as number[];
    return cin % 8 === 0 && cout % 8 === 0;
  });
}

/** MLAS's NCHWc block size on this machine from the CPU flags (Linux x86: 16 with avx512f, 8 with avx2), else 0. */
export function nchwcBlockSizeOfThisCpu(): number {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 0;
  let flags = '';
  try {
    flags = (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m) ?? ['', ''])[1];
  } catch {
    return 0;
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  return has('avx512f') ? 16 : has('avx2') ? 8 : 0;
}

function pair(v: number | readonly number[] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}

export function convAttrs(opts: Conv2dOptions = {}): Conv2dAttrs {
  const p = opts.pad ?? 0;
  const padding: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : [p[0], p[1], p[2], p[3]];
  return { stride: pair(opts.stride, 1), pad: padding, dilation: pair(opts.dilation, 1), groups: opts.groups ?? 1 };
}

function outSize(inSize: number, k: number, s: number, d: number, before: number, after: number): number {
  return Math.floor((inSize + before + after - d * (k - 1) - 1) / s) + 1;
}

function checkAttrs(a: Conv2dAttrs): void {
  const ints = [...a.stride, ...a.pad, ...a.dilation, a.groups];
  if (ints.some((v) => !Number.isInteger(v)) || a.stride.some((v) => v < 1) || a.dilation.some((v) => v < 1) || a.pad.some((v) => v < 0) || a.groups < 1) {
    fail(`invalid attributes stride [${a.stride}] pad [${a.pad}] dilation [${a.dilation}] groups ${a.groups}`);
  }
}

function onnxConvAttrs(a: Conv2dAttrs, kernel: readonly number[]) {
  return { kernel_shape: kernel, strides: a.stride, pads: a.pad, dilations: a.dilation, group: a.groups };
}

const Conv2d = defineOp<Conv2dAttrs>({
  name: 'conv2d',
  inferShape([x, w, b], attrs) {
    checkAttrs(attrs);
    if (!isFloat(x.dtype) || w.dtype !== x.dtype || (b && b.dtype !== x.dtype)) fail(`needs float tensors of one dtype (input ${x.dtype}, weight ${w.dtype})`);
    if (x.shape.length !== 4 || w.shape.length !== 4) fail(`input ${formatShape(x.shape)} and weight ${formatShape(w.shape)} must be rank 4 (NCHW, OIHW)`);
    const [n, cin, h, wd] = x.shape;
    const [cout, cinG, kh, kw] = w.shape as number[];
    const { groups } = attrs;
    if (cin !== cinG * groups) fail(`input ${formatShape(x.shape)} vs weight ${formatShape(w.shape)}: channels ${cin} != ${cinG}*groups ${groups}`);
    if (cout % groups !== 0) fail(`weight ${formatShape(w.shape)}: out channels ${cout} not divisible by groups ${groups}`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== cout)) fail(`bias ${formatShape(b.shape)} vs weight ${formatShape(w.shape)}: expected [${cout}]`);
    if (typeof h !== 'number' || typeof wd !== 'number') fail(`spatial dims of ${formatShape(x.shape)} must be static`);
    const ho = outSize(h, kh, attrs.stride[0], attrs.dilation[0], attrs.pad[0], attrs.pad[2]);
    const wo = outSize(wd, kw, attrs.stride[1], attrs.dilation[1], attrs.pad[1], attrs.pad[3]);
    if (ho < 1 || wo < 1) fail(`input ${formatShape(x.shape)} is too small for kernel ${kh}x${kw} (output ${ho}x${wo})`);
    return [{ shape: [n, cout, ho, wo], dtype: x.dtype }];
  },
  emit(ctx, ins, outs, attrs) {
    const [cout, cinG, kh, kw] = ctx.inputTypes[1].shape as number[];
    const B = nchwcBlockSize;
    if (B > 0 && attrs.groups === 1 && ctx.inputTypes[0].dtype === 'float32' && cinG % B === 0 && cout % B === 0) {
      // Weight OIHW → MLAS's blocked OIHWBiBo ([O/B, I/B, kh, kw, B(in), B(out)], same element count).
      const [x, w, b] = ins;
      const w6 = ctx.tmpName('weight_blocks');
      const wt = ctx.tmpName('weight_oihwbibo');
      const wr = ctx.tmpName('weight_nchwc');
      const xr = ctx.tmpName('input_nchwc');
      const yr = ctx.tmpName('output_nchwc');
      ctx.node('Reshape', [w, ctx.int64s([cout / B, B, cinG / B, B, kh, kw])], [w6]);
      ctx.node('Transpose', [w6], [wt], { perm: [0, 2, 4, 5, 3, 1] });
      ctx.node('Reshape', [wt, ctx.int64s([cout, cinG, kh, kw])], [wr]);
      ctx.node('ReorderInput', [x], [xr], {}, NCHWC_DOMAIN);
      ctx.node('Conv', b ? [xr, wr, b] : [xr, wr], [yr], onnxConvAttrs(attrs, [kh, kw]), NCHWC_DOMAIN);
      ctx.node('ReorderOutput', [yr], outs, { channels: cout }, NCHWC_DOMAIN);
      return;
    }
    ctx.node('Conv', ins, outs, onnxConvAttrs(attrs, [kh, kw]));
  },
  grad: (ctx, [g], [x, w, b], _y, attrs) => [
    ctx.needsGrad[0] ? convInputGrad(g!, x, w, attrs) : null,
    ctx.needsGrad[1] ? convWeightGrad(g!, x, w, attrs) : null,
    b && ctx.needsGrad[2] ? reduceSum(g!, [0, 2, 3]) : null,
  ],
});

/** 2-D convolution (NCHW input, OIHW weight, optional bias), as torch.nn.functional.conv2d. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts?: Conv2dOptions): Tensor {
  return applyOp(Conv2d, bias ? [x, weight, bias] : [x, weight], convAttrs(opts))[0];
}

/** Weight [Cout, Cin/G, kh, kw] as the weight of the transposed conv: [Cin, Cout/G, kh, kw], spatially flipped. */
function flippedTransposedWeight(w: Tensor, groups: number): Tensor {
  const [cout, cinG, kh, kw] = w.shape as number[];
  let wt: Tensor;
  if (groups === 1) wt = transpose(w, [1, 0, 2, 3]);
  else if (cinG === 1 && cout === groups) wt = w; // depthwise: [C, 1, k, k] is its own transpose
  else wt = reshape(transpose(reshape(w, [groups, cout / groups, cinG, kh, kw]), [0, 2, 1, 3, 4]), [groups * cinG, cout / groups, kh, kw]);
  return kh * kw === 1 ? wt : slice(wt, [-1, -1], [-kh - 1, -kw - 1], [2, 3], [-1, -1]);
}

/**
 * dL/dx. Stride 1: a Conv of g with the flipped, in/out-transposed weight (measured 0.96x torch,
 * ConvTranspose 1.24x). Stride > 1: ConvTranspose with output_padding restoring the input size.
 */
function convInputGrad(g: Tensor, x: Tensor, w: Tensor, a: Conv2dAttrs): Tensor {
  const [, , h, wd] = x.shape as number[];
  const [, , kh, kw] = w.shape as number[];
  const reach = [a.dilation[0] * (kh - 1), a.dilation[1] * (kw - 1)];
  const pads = [reach[0] - a.pad[0], reach[1] - a.pad[1], reach[0] - a.pad[2], reach[1] - a.pad[3]];
  if (a.stride[0] === 1 && a.stride[1] === 1 && pads.every((p) => p >= 0)) {
    return conv2d(g, flippedTransposedWeight(w, a.groups), undefined, {
      pad: pads as [number, number, number, number],
      dilation: a.dilation,
      groups: a.groups,
    });
  }
  const [, , ho, wo] = g.shape as number[];
  const outputPadding = [
    h - ((ho - 1) * a.stride[0] - a.pad[0] - a.pad[2] + reach[0] + 1),
    wd - ((wo - 1) * a.stride[1] - a.pad[1] - a.pad[3] + reach[1] + 1),
  ];
  return convTranspose2d(g, w, { ...a, outputPadding });
}

/**
 * a·bᵀ for a [.., M, K] and b [.., N, K] (rank 2, or rank 3 with a batch axis), as one product whose
 * larger output side is its row side. MLAS splits
 * a Gemm across threads by rows when M >= N, else by columns, and picks its K block from each
 * thread's column share (a share of 64 or fewer columns doubles it); a column split therefore
 * rounds the K-long sums differently at another thread count. Measured on [16, 12544]·[144, 12544]ᵀ:
 * 947 of 2304 elements differ between 1 and 2 threads, none in the transposed product. Weight
 * gradients have K = N·Ho·Wo, so this keeps training bitwise independent of the thread count.
 */
function productWithRowsFirst(a: Tensor, b: Tensor): Tensor {
  const m = a.shape[a.rank - 2] as number;
  const n = b.shape[b.rank - 2] as number;
  const swap = a.rank === 2 ? [1, 0] : [0, 2, 1];
  // MatMul, not Gemm: ORT's basic optimizer folds Transpose(Gemm(b, a)) back into Gemm(a, b).
  if (n > m) return transpose(matmul(b, transpose(a, swap)), swap);
  return a.rank === 2 ? gemm(a, b, undefined, { transB: true }) : matmul(a, transpose(b, swap));
}

/**
 * dL/dW via im2col: the k·k shifted (strided) views of the padded input are Slices, stacked by one
 * Concat, then one matrix product with g. Never a Conv with batch and channels swapped (3-7x slower
 * with plain Conv; with the NCHWc kernels 45 vs 11 ms at [128, 16, 32, 32], 1 thread).
 */
function convWeightGrad(g: Tensor, x: Tensor, w: Tensor, a: Conv2dAttrs): Tensor {
  const [n, cin] = x.shape as number[];
  const [cout, cinG, kh, kw] = w.shape as number[];
  const [, , ho, wo] = g.shape as number[];
  const G = a.groups;
  const taps = kh * kw;
  const layout = weightGradLayout !== 'auto' ? weightGradLayout
    : taps === 1 ? (ho * wo >= 256 ? 'batched' : 'gemm')
      : G !== 1 ? 'gemm'
        : useChannelsLastWeightGrad(ho * wo, cin) ? 'channels-last'
          : cin < 4 ? 'gemm'
            : ho * wo > 16 ? 'taps' : 'gemm';
  if (layout === 'channels-last' && G === 1) return convWeightGradChannelsLast(g, x, w, a);
  if (layout === 'taps' && G === 1 && taps > 1) {
    // One product per kernel tap over that tap's shifted view: no k²-sized column tensor. The
    // K = N·Ho·Wo sum is split in TAPS_K_SPLIT parts of the batch, one batched-MatMul entry each.
    const P = n % TAPS_K_SPLIT === 0 ? TAPS_K_SPLIT : 1;
    const [, , h, wd] = x.shape as number[];
    const kp = (n / P) * ho * wo;
    const xc = pad(transpose(reshape(x, [P, n / P, cin, h, wd]), [0, 2, 1, 3, 4]), [[0, 0], [0, 0], [0, 0], [a.pad[0], a.pad[2]], [a.pad[1], a.pad[3]]]);
    const gc = reshape(transpose(reshape(g, [P, n / P, cout, ho, wo]), [0, 2, 1, 3, 4]), [P, cout, kp]);
    const perTap = kernelViews(xc, kh, kw, a, ho, wo, [3, 4]).map((v) => unsqueeze(reduceSum(productWithRowsFirst(gc, reshape(v, [P, cin, kp])), [0]), 2));
    return reshape(concat(perTap, 2), w.shape);
  }
  if (layout === 'gemm' || layout === 'taps' || layout === 'channels-last') {
    // cols [G, Cin/G·k², N·Ho·Wo]; g as [G, Cout/G, N·Ho·Wo].
    const cols = reshape(im2colChannelsFirst(x, kh, kw, a, ho, wo), [G, cinG * kh * kw, n * ho * wo]);
    const gc = reshape(transpose(g, [1, 0, 2, 3]), [G, cout / G, n * ho * wo]);
    if (G === 1) return reshape(productWithRowsFirst(reshape(gc, [cout, n * ho * wo]), reshape(cols, [cin * kh * kw, n * ho * wo])), w.shape);
    return reshape(transpose(matmul(cols, transpose(gc, [0, 2, 1])), [0, 2, 1]), w.shape);
  }
  const padded = pad(x, [[0, 0], [0, 0], [a.pad[0], a.pad[2]], [a.pad[1], a.pad[3]]]);
  const views = kernelViews(padded, kh, kw, a, ho, wo).map((v) => (kh * kw === 1 ? v : unsqueeze(v, 2)));
  const stacked = concat(views, 2); // [N, Cin, k², Ho, Wo]
  const cols = reshape(stacked, [n, G, cinG * kh * kw, ho * wo]);
  const gT = transpose(reshape(g, [n, G, cout / G, ho * wo]), [0, 1, 3, 2]);
  const perSample = matmul(cols, gT); // [N, G, Cin/G·k², Cout/G]
  return reshape(transpose(reduceSum(perSample, [0]), [0, 2, 1]), [cout, cinG, kh, kw]);
}

/** The k·k shifted, strided views [.., .., Ho, Wo] of an already padded [.., .., H, W] tensor. */
function kernelViews(padded: Tensor, kh: number, kw: number, a: Conv2dAttrs, ho: number, wo: number, axes: readonly [number, number] = [2, 3]): Tensor[] {
  const views: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const top = i * a.dilation[0];
      const left = j * a.dilation[1];
      views.push(slice(padded, [top, left], [top + (ho - 1) * a.stride[0] + 1, left + (wo - 1) * a.stride[1] + 1], axes, a.stride));
    }
  }
  return views;
}

/** im2col of x [N, C, H, W] as [C·k², N·Ho·Wo] (rows ordered like the weight's [C, kh, kw]). */
function im2colChannelsFirst(x: Tensor, kh: number, kw: number, a: Conv2dAttrs, ho: number, wo: number): Tensor {
  const [n, c] = x.shape as number[];
  const padded = pad(transpose(x, [1, 0, 2, 3]), [[0, 0], [0, 0], [a.pad[0], a.pad[2]], [a.pad[1], a.pad[3]]]);
  const views = kernelViews(padded, kh, kw, a, ho, wo);
  const stacked = kh * kw === 1 ? views[0] : concat(views.map((v) => unsqueeze(v, 1)), 1); // [C, k², N, Ho, Wo]
  return reshape(stacked, [c * kh * kw, n * ho * wo]);
}

interface ConvTransposeAttrs extends Conv2dAttrs { outputPadding: readonly number[] }
const ConvTranspose2d = defineOp<ConvTransposeAttrs>({
  name: 'convTranspose2d',
  inferShape([x, w], a) {
    checkAttrs(a);
    const [n, c, h, wd] = x.shape as number[];
    const [cin, coutG, kh, kw] = w.shape as number[];
    if (c !== cin) fail(`input ${formatShape(x.shape)} vs weight ${formatShape(w.shape)}: channels ${c} != ${cin}`);
    const size = (i: number, k: number, ax: 0 | 1) =>
      (i - 1) * a.stride[ax] - a.pad[ax] - a.pad[ax + 2] + a.dilation[ax] * (k - 1) + 1 + a.outputPadding[ax];
    return [{ shape: [n, coutG * a.groups, size(h, kh, 0), size(wd, kw, 1)], dtype: x.dtype }];
  },
  emit(ctx, ins, outs, a) {
    ctx.node('ConvTranspose', ins, outs, { ...onnxConvAttrs(a, (ctx.inputTypes[1].shape as number[]).slice(2)), output_padding: a.outputPadding });
  },
});
function convTranspose2d(x: Tensor, w: Tensor, a: ConvTransposeAttrs): Tensor {
  return applyOp(ConvTranspose2d, [x, w], a)[0];
}

/** [N, C, H, W] → [N, C]: mean over the spatial axes. */
export function globalAvgPool(x: Tensor): Tensor {
  guard('globalAvgPool', [x], () => {
    if (x.rank !== 4) fail(`input ${formatShape(x.shape)} must be NCHW`);
  });
  return reduceMean(x, [2, 3]);
}

interface MaxPoolAttrs { kernel: readonly [number, number]; stride: readonly [number, number]; pad: readonly [number, number, number, number] }
/**
 * MaxPool with its Indices output (int64, flat over the whole N·C·H·W input); the gradient
 * scatter-adds into the argmax positions (overlapping windows accumulate).
 */
const MaxPool2d = defineOp<MaxPoolAttrs>({
  name: 'maxPool2d',
  inferShape([x], { kernel, stride, pad: p }) {
    if (!isFloat(x.dtype)) fail(`needs a float input, got ${x.dtype}`);
    if (x.shape.length !== 4) fail(`input ${formatShape(x.shape)} must be NCHW`);
    const [n, c, h, wd] = x.shape;
    if (typeof h !== 'number' || typeof wd !== 'number') fail('spatial dims must be static');
    if (p[0] * 2 > kernel[0] || p[1] * 2 > kernel[1]) fail(`pad [${p}] exceeds half the kernel [${kernel}]`);
    const ho = outSize(h, kernel[0], stride[0], 1, p[0], p[2]);
    const wo = outSize(wd, kernel[1], stride[1], 1, p[1], p[3]);
    return [{ shape: [n, c, ho, wo], dtype: x.dtype }, { shape: [n, c, ho, wo], dtype: 'int64' }];
  },
  emit(ctx, ins, outs, { kernel, stride, pad: p }) {
    ctx.node('MaxPool', ins, outs, { kernel_shape: kernel, strides: stride, pads: p });
  },
  grad: (_ctx, [g], [x], [, indices]) => {
    const flat = [x.shape.reduce<number>((s, d) => s * (d as number), 1)];
    const zeros = fill(reshape(x, flat), 0);
    return [reshape(scatterElementsAdd(zeros, reshape(indices, [-1]), reshape(g!, [-1]), 0), x.shape)];
  },
});
/** Max pooling, e.g. the ImageNet ResNet stem: maxPool2d(x, 3, 2, 1). */
export function maxPool2d(x: Tensor, kernel: number | readonly [number, number], stride?: number | readonly [number, number], padding: number | readonly [number, number] = 0): Tensor {
  const k = pair(kernel, 1);
  const s = pair(stride ?? k, 1);
  const p = pair(padding, 0);
  return applyOp(MaxPool2d, [x], { kernel: k, stride: s, pad: [p[0], p[1], p[0], p[1]] })[0];
}
