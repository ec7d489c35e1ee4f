import {
  Graph, Tensor, batchNormEval, batchNormTrain, channelAffine, crossEntropy, gemm, globalAvgPool, l2Normalize, layerNorm, linear, logSoftmax, matmul, maxPool2d,
  multiHeadSelfAttention, softmax, topK, add, logSumExp,
} from '../../src/graph';
import { checkGradient, randn, type CheckInput } from '../support/graph-harness';

type Case = [string, (g: Graph, xs: Tensor[]) => Tensor | Tensor[], CheckInput[]];
const positive = (shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float64'): CheckInput => ({
  shape, dtype, data: Array.from(randn(shape.reduce((a, b) => a * b, 1), seed), (v) => Math.abs(v) + 0.5),
});
// Distinct, well-separated values so max/top-k choices do not flip under the perturbation.
const spread = (shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float64'): CheckInput => {
  const n = shape.reduce((a, b) => a * b, 1);
  const order = Array.from(randn(n, seed)).map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  const data = new Array<number>(n);
  order.forEach((idx, rank) => (data[idx] = (rank - n / 2) * 0.25));
  return { shape, dtype, data };
};

const float64Cases: Case[] = [
  ['matmul batched with broadcast', (_g, [a, b]) => matmul(a, b), [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }]],
  ['matmul [B,T,D] x [D,E] (shared-weight gemm path)', (_g, [a, b]) => matmul(a, b), [{ shape: [2, 3, 4] }, { shape: [4, 5] }]],
  ['gemm transA/transB with bias', (_g, [a, b, c]) => gemm(a, b, c, { transA: true, transB: true }), [{ shape: [4, 3] }, { shape: [5, 4] }, { shape: [5] }]],
  ['gemm plain', (_g, [a, b]) => gemm(a, b), [{ shape: [3, 4] }, { shape: [4, 2] }]],
  ['linear rank 2', (_g, [x, w, b]) => linear(x, w, b), [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }]],
  ['linear rank 3 (tokens)', (_g, [x, w, b]) => linear(x, w, b), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]],
  ['softmax axis -1', (_g, [a]) => softmax(a), [{ shape: [3, 5] }]],
  ['softmax axis 1 of 3', (_g, [a]) => softmax(a, 1), [{ shape: [2, 4, 3] }]],
  ['logSoftmax', (_g, [a]) => logSoftmax(a, -1), [{ shape: [3, 5] }]],
  ['logSumExp axis 0', (_g, [a]) => logSumExp(a, 0), [{ shape: [3, 5] }]],
  ['crossEntropy hard labels', (_g, [z, y]) => crossEntropy(z, y), [{ shape: [4, 5] }, { shape: [4], dtype: 'int64', data: [0, 4, 2, 2] }]],
  ['crossEntropy soft targets', (_g, [z, t]) => crossEntropy(z, softmax(t)), [{ shape: [3, 4] }, { shape: [3, 4] }]],
  ['l2Normalize', (_g, [a]) => l2Normalize(a, 1), [{ shape: [3, 4] }]],
  ['batchNormTrain [N,C,H,W] with stats used', (_g, [x, gm, bt]) => {
    const r = batchNormTrain(x, gm, bt, 1e-5);
    return [r.y, r.mean, r.variance];
  }, [{ shape: [3, 2, 2, 3] }, { shape: [2] }, { shape: [2] }]],
  ['batchNormTrain [N,C] (BatchNorm1d)', (_g, [x, gm, bt]) => batchNormTrain(x, gm, bt).y, [{ shape: [5, 3] }, { shape: [3] }, { shape: [3] }]],
  ['batchNormTrain without affine', (_g, [x]) => batchNormTrain(x, null, null).y, [{ shape: [4, 3] }]],
  ['channelAffine [N,C,H,W]', (_g, [x, a, b]) => channelAffine(x, a, b), [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }]],
  ['channelAffine [N,C]', (_g, [x, a, b]) => channelAffine(x, a, b), [{ shape: [4, 3] }, { shape: [3] }, { shape: [3] }]],
  ['batchNormEval all five inputs', (_g, [x, gm, bt, m, v]) => batchNormEval(x, gm, bt, m, v, 1e-3), [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }, { shape: [3] }, positive([3], 4)]],
  ['globalAvgPool', (_g, [x]) => globalAvgPool(x), [{ shape: [2, 3, 2, 3] }]],
  ['topK values (largest, axis -1)', (_g, [x]) => topK(x, 2).values, [spread([3, 5], 3)]],
  ['topK values (smallest, axis 0)', (_g, [x]) => topK(x, 2, 0, false).values, [spread([4, 3], 5)]],
  ['multiHeadSelfAttention', (_g, [x, wq, bq, wo, bo]) => multiHeadSelfAttention(x, { qkvWeight: wq, qkvBias: bq, projWeight: wo, projBias: bo }, 2),
    [{ shape: [2, 3, 4] }, { shape: [12, 4] }, { shape: [12] }, { shape: [4, 4] }, { shape: [4] }]],
  ['attention then residual', (_g, [x, wq, wo]) => add(x, multiHeadSelfAttention(x, { qkvWeight: wq, projWeight: wo }, 1)),
    [{ shape: [1, 4, 2] }, { shape: [6, 2] }, { shape: [2, 2] }]],
];

describe('nn op gradients match finite differences', () => {
  it.each(float64Cases)('%s (float64)', async (_name, build, inputs) => {
    const res = await checkGradient(build, inputs, { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  // ORT has float32 kernels only for LayerNormalization; MaxPool is float32 here for the stem's sake.
  const float32Cases: Case[] = [
    ['layerNorm last axis', (_g, [x, gm, bt]) => layerNorm(x, gm, bt, 1e-5), [{ shape: [2, 3, 6], dtype: 'float32' }, { shape: [6], dtype: 'float32' }, { shape: [6], dtype: 'float32' }]],
    ['layerNorm over two axes', (_g, [x, gm, bt]) => layerNorm(x, gm, bt, 1e-5, 1), [{ shape: [2, 3, 4], dtype: 'float32' }, { shape: [3, 4], dtype: 'float32' }, { shape: [3, 4], dtype: 'float32' }]],
    ['maxPool2d 3x3 s2 p1 (ImageNet stem, overlapping windows)', (_g, [x]) => maxPool2d(x, 3, 2, 1), [spread([2, 2, 5, 6], 7, 'float32')]],
    ['maxPool2d 2x2', (_g, [x]) => maxPool2d(x, 2), [spread([1, 2, 4, 4], 8, 'float32')]],
  ];
  it.each(float32Cases)('%s (float32, eps 1e-2, tol 5e-3)', async (_name, build, inputs) => {
    const res = await checkGradient(build, inputs, { eps: 1e-2 });
    expect(res.maxRelErr).toBeLessThan(5e-3);
  });
});
