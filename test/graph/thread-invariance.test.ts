import * as ort from 'onnxruntime-node';
import { Graph, conv2d, grad, mul, reduceSum, setConvWeightGradLayout, toOnnx, type WeightGradLayout } from '../../src/graph';
import { randn } from '../support/graph-harness';

/**
 * Conv weight gradients are the long sums of a training step (K = N·Ho·Wo). MLAS splits a Gemm by
 * columns when it has more columns than rows and then blocks K by each thread's share, so such a
 * Gemm rounds differently at another intra-op thread count; conv.ts emits every weight-gradient
 * product with the larger side as rows. These shapes are the ones that differed before (layer4
 * of the CI ResNet-18-CIFAR at batch 64; a per-tap product with more input than output channels).
 */
const cases: [string, number[], number[], WeightGradLayout][] = [
  ['gemm layout, Cin·k² > Cout (4x4 output)', [64, 32, 4, 4], [64, 32, 3, 3], 'gemm'],
  ['taps layout, Cin > Cout', [16, 144, 8, 8], [16, 144, 3, 3], 'taps'],
  ['taps layout, Cout > Cin (K split in two batch halves)', [16, 16, 8, 8], [144, 16, 3, 3], 'taps'],
  ['taps layout, odd batch (no K split)', [15, 16, 8, 8], [144, 16, 3, 3], 'taps'],
  ['gemm layout, Cout > Cin·k² (1x1)', [64, 16, 4, 4], [96, 16, 1, 1], 'gemm'],
];

async function weightGradient(x: number[], w: number[], layout: WeightGradLayout, threads: number): Promise<Float32Array> {
  const previous = setConvWeightGradLayout(layout);
  try {
    const g = new Graph('thread-invariance');
    const xs = g.input('x', x);
    const ws = g.input('w', w);
    const y = conv2d(xs, ws, undefined, { pad: w[2] === 3 ? 1 : 0 });
    const r = g.input('r', y.shape as number[]);
    const [dw] = grad(reduceSum(mul(y, r)), [ws]);
    g.output('dw', dw);
    // 'all' as the engine's sessions: ORT's own rewrites (e.g. Transpose folded into Gemm) count.
    const session = await ort.InferenceSession.create(toOnnx(g), { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.from(randn(size(x), 1)), x),
      w: new ort.Tensor('float32', Float32Array.from(randn(size(w), 2, 0.1)), w),
      r: new ort.Tensor('float32', Float32Array.from(randn(size(y.shape as number[]), 3)), y.shape as number[]),
    };
    return (await session.run(feeds)).dw.data as Float32Array;
  } finally {
    setConvWeightGradLayout(previous);
  }
}

test.each(cases)('conv weight gradient is bitwise the same at 1, 2, 3 and 4 intra-op threads: %s', async (_name, x, w, layout) => {
  const one = await weightGradient(x, w, layout, 1);
  for (const threads of [2, 3, 4]) {
    const other = await weightGradient(x, w, layout, threads);
    let differing = 0;
    for (let i = 0; i < one.length; i++) if (one[i] !== other[i]) differing++;
    expect([threads, differing]).toEqual([threads, 0]);
  }
}, 60_000);
