import * as ort from 'onnxruntime-node';
import { Graph, applyOp, convAttrs, defineOp, toOnnx, type Conv2dAttrs, type Conv2dOptions } from '../../src/graph';
import { convWeightGradChannelsLast } from '../../src/graph/ops/conv-weight-grad';
import { checkGradient, randn } from '../support/graph-harness';

// A conv whose only gradient rule is the channels-last weight gradient, so finite differences
// check that rule alone (the input is not differentiated).
const ConvChannelsLastWeightGrad = defineOp<Conv2dAttrs>({
  name: 'test.convChannelsLastWeightGrad',
  inferShape([x, w], a) {
    const [n, , h, wd] = x.shape as number[];
    const [cout, , kh, kw] = w.shape as number[];
    const out = (size: number, k: number, ax: 0 | 1) => Math.floor((size + a.pad[ax] + a.pad[ax + 2] - a.dilation[ax] * (k - 1) - 1) / a.stride[ax]) + 1;
    return [{ shape: [n, cout, out(h, kh, 0), out(wd, kw, 1)], dtype: x.dtype }];
  },
  emit(ctx, ins, outs, a) {
    const [, , kh, kw] = ctx.inputTypes[1].shape as number[];
    ctx.node('Conv', ins, outs, { kernel_shape: [kh, kw], strides: a.stride, pads: a.pad, dilations: a.dilation, group: 1 });
  },
  grad: (_ctx, [g], [x, w], _y, a) => [null, convWeightGradChannelsLast(g!, x, w, a)],
});

// [name, input shape, weight shape, options]; Cin > Cout exercises the transposed product.
const cases: [string, number[], number[], Conv2dOptions][] = [
  ['3x3 pad 1', [2, 3, 5, 5], [4, 3, 3, 3], { pad: 1 }],
  ['3x3 pad 1, Cin > Cout', [2, 6, 4, 4], [3, 6, 3, 3], { pad: 1 }],
  ['3x3 stride 2 pad 1, odd input', [2, 3, 7, 7], [4, 3, 3, 3], { stride: 2, pad: 1 }],
  ['3x3 stride 2 pad 1, even input', [2, 4, 8, 8], [6, 4, 3, 3], { stride: 2, pad: 1 }],
  ['1x1', [2, 4, 3, 3], [5, 4, 1, 1], {}],
  ['1x1 stride 2', [2, 4, 5, 5], [6, 4, 1, 1], { stride: 2 }],
  ['7x7 stride 2 pad 3', [1, 3, 9, 9], [4, 3, 7, 7], { stride: 2, pad: 3 }],
  ['dilation 2, pad 2', [1, 2, 7, 7], [3, 2, 3, 3], { pad: 2, dilation: 2 }],
  ['asymmetric pad, rectangular kernel', [1, 2, 5, 6], [3, 2, 2, 3], { pad: [0, 1, 1, 2] }],
  ['no pad, stride 3, Cin > Cout', [1, 5, 8, 8], [2, 5, 3, 3], { stride: 3 }],
];

describe('channels-last conv weight gradient', () => {
  // ORT's Conv is float32-only; the loss is linear in w, so central differences have no truncation error.
  it.each(cases)('matches finite differences: %s', async (_name, xShape, wShape, opts) => {
    const res = await checkGradient(
      (_g, [x, w]) => applyOp(ConvChannelsLastWeightGrad, [x, w], convAttrs(opts))[0],
      [{ shape: xShape, dtype: 'float32', wrt: false }, { shape: wShape, dtype: 'float32' }],
      { eps: 1e-2, directions: 3 },
    );
    expect(res.maxRelErr).toBeLessThan(1e-3);
  });

  // The long K = N·Ho·Wo sums must not depend on the intra-op thread count (see conv.ts
  // productWithRowsFirst): one product per tap with its larger output side as rows.
  it.each([
    ['Cout > Cin, 4x4 output', [64, 32, 4, 4], [64, 32, 3, 3]],
    ['Cin > Cout, 8x8 output', [16, 144, 8, 8], [16, 144, 3, 3]],
  ])('is bitwise the same at 1, 2, 3 and 4 intra-op threads: %s', async (_name, xShape, wShape) => {
    const g = new Graph('channels-last-threads');
    const x = g.input('x', xShape);
    const w = g.input('w', wShape);
    const r = g.input('r', xShape.map((d, i) => (i === 1 ? wShape[0] : d)));
    g.output('dw', convWeightGradChannelsLast(r, x, w, convAttrs({ pad: 1 })));
    const bytes = toOnnx(g);
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.from(randn(size(xShape), 1)), xShape),
      w: new ort.Tensor('float32', new Float32Array(size(wShape)), wShape),
      r: new ort.Tensor('float32', Float32Array.from(randn(size(r.shape as number[]), 3)), r.shape as number[]),
    };
    const at = async (threads: number) => {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      return (await session.run(feeds)).dw.data as Float32Array;
    };
    const one = await at(1);
    for (const threads of [2, 3, 4]) {
      const other = await at(threads);
      let differing = 0;
      for (let i = 0; i < one.length; i++) if (one[i] !== other[i]) differing++;
      expect([threads, differing]).toEqual([threads, 0]);
    }
  }, 60_000);
});
