import {
  Graph, GraphError, batchNormTrain, add, applyOp, argmax, batchNormEval, conv2d, crossEntropy, defineOp, equal, exp, grad, linear, matmul, mul, reduceSum, relu,
  reshape, stopGradient, toModelProto, toOnnx, cast, globalAvgPool, concat, expand, expandAs,
} from '../../src/graph';
import { checkGradient, runGraph, randn } from '../support/graph-harness';

const f32 = (values: number[]) => Float32Array.from(values);

describe('graph core', () => {
  it('runs a small graph in ORT', async () => {
    const g = new Graph('t');
    const a = g.input('a', [2, 3], 'float32');
    const b = g.input('b', [3], 'float32');
    g.output('y', mul(add(a, b), 2));
    const r = await runGraph(g, { a: { data: f32([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, b: { data: f32([1, 1, 1]), shape: [3] } });
    expect(Array.from(r.y.data as Float32Array)).toEqual([4, 6, 8, 10, 12, 14]);
  });

  it('differentiates matmul+exp with broadcasting', async () => {
    const res = await checkGradient((g, [a, b, c]) => exp(mul(add(matmul(a, b), c), 0.3)), [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [1, 5] }]);
    expect(res.maxRelErr).toBeLessThan(1e-7);
  });

  it('sums the gradients of a tensor used several times', async () => {
    const g = new Graph('t');
    const x = g.input('x', [3], 'float64');
    const y = add(mul(x, x), mul(x, 3)); // dy/dx = 2x + 3
    const [dx] = grad(reduceSum(y), [x]);
    g.output('dx', dx);
    const r = await runGraph(g, { x: { data: Float64Array.from([1, -2, 0.5]), shape: [3] } });
    expect(Array.from(r.dx.data as Float64Array)).toEqual([5, -1, 4]);
  });

  it('stopGradient blocks the path; unreached tensors get zeros or null', async () => {
    const g = new Graph('t');
    const x = g.input('x', [2], 'float64');
    const unused = g.input('unused', [2, 2], 'float64');
    const loss = reduceSum(mul(x, stopGradient(x))); // d/dx = stop(x) only
    const [dx, dUnused] = grad(loss, [x, unused]);
    expect(grad(loss, [unused], { unreached: 'null' })).toEqual([null]);
    g.output('dx', dx);
    g.output('dUnused', dUnused);
    const r = await runGraph(g, { x: { data: Float64Array.from([3, -4]), shape: [2] }, unused: { data: new Float64Array(4), shape: [2, 2] } });
    expect(Array.from(r.dx.data as Float64Array)).toEqual([3, -4]);
    expect(r.dUnused.dims).toEqual([2, 2]);
    expect(Array.from(r.dUnused.data as Float64Array)).toEqual([0, 0, 0, 0]);
  });

  it('integer tensors get no gradient and cannot be differentiated against', () => {
    const g = new Graph('t');
    const x = g.input('x', [2, 3], 'float32');
    const labels = g.input('labels', [2], 'int64');
    const loss = crossEntropy(x, labels);
    expect(() => grad(loss, [labels])).toThrow(/labels is int64; only float tensors have gradients/);
    // argmax output is int64: the walk does not go through it, so x gets only the CE gradient.
    const picked = cast(equal(argmax(x, 1), labels), 'float32');
    const [dx] = grad(add(loss, reduceSum(picked)), [x]);
    expect(dx.shape).toEqual([2, 3]);
  });

  it('fails by name when an op without a gradient rule is on the path', () => {
    const noGrad = defineOp<Record<string, never>>({
      name: 'test.noGradSquare',
      inferShape: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
      emit: (ctx, [x], [y]) => ctx.node('Mul', [x, x], [y]),
    });
    const g = new Graph('model');
    const x = g.input('x', [2], 'float32');
    const y = g.scope('head', () => applyOp(noGrad, [x], {})[0]);
    expect(() => grad(reduceSum(y), [x])).toThrow("head: test.noGradSquare has no gradient rule");
    expect(grad(reduceSum(mul(stopGradient(y), x)), [x])[0].shape).toEqual([2]);
  });

  it('reports shape errors at build time with scope, op and shapes', () => {
    const g = new Graph('resnet18-cifar');
    const x = g.input('x', [128, 64, 32, 32]);
    const w = g.input('w', [128, 32, 3, 3]);
    let err: unknown;
    try {
      g.scope('resnet18-cifar', () => g.scope('layer2.0.conv1', () => conv2d(x, w, undefined, { pad: 1 })));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GraphError);
    expect((err as Error).message).toBe(
      'resnet18-cifar/layer2.0.conv1: conv2d: input [128,64,32,32] vs weight [128,32,3,3]: channels 64 != 32*groups 1 (inputs float32[128,64,32,32], float32[128,32,3,3])',
    );
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [4, 3]);
    expect(() => g.scope('proj', () => add(a, b))).toThrow('proj: add: shapes [2,3] and [4,3] do not broadcast (axis 0: 2 vs 4) (inputs float32[2,3], float32[4,3])');
    expect(() => matmul(a, b)).toThrow('matmul: [2,3] x [4,3]: inner dims 3 != 4');
    expect(() => reshape(a, [4, -1])).toThrow('reshape: cannot infer -1 in [4,-1] from [2,3]');
    expect(() => linear(a, g.input('lw', [5, 4]))).toThrow(/gemm: \[2,3\] x \[5,4\]ᵀ: inner dims 3 != 4/);
  });

  it('rejects wrong dtypes and unknown ops at build time', () => {
    const g = new Graph('m');
    const x = g.input('x', [2], 'float32');
    const i = g.input('i', [2], 'int64');
    const d = g.input('d', [2], 'float64');
    expect(() => add(x, i)).toThrow('add: dtypes differ (float32 vs int64); cast explicitly');
    expect(() => add(x, d)).toThrow(/dtypes differ \(float32 vs float64\)/);
    expect(() => exp(i)).toThrow('exp: needs float32 or float64, got int64');
    expect(() => relu(cast(i, 'bool'))).toThrow(/relu: needs float32 or float64, got bool/);
    expect(() => applyOp('noSuchOp', [x], {})).toThrow(/unknown op 'noSuchOp'; known ops: .*conv2d/);
    expect(() => g.input('x', [3])).toThrow("name 'x' is already used");
    expect(() => batchNormTrain(g.input('sym', ['N', 2]), null, null)).toThrow('batchNormTrain: input [N,2]: batch statistics need a static shape');
  });

  it('serialises deterministically with stable, readable names and drops dead nodes', () => {
    const build = () => {
      const g = new Graph('net');
      const x = g.input('x', [2, 4]);
      const w = g.input('w', [3, 4]);
      const dead = g.scope('unused', () => exp(x));
      const y = g.scope('fc', () => relu(linear(x, w)));
      g.output('y', y);
      return { g, dead };
    };
    const a = toOnnx(build().g);
    const b = toOnnx(build().g);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const model = toModelProto(build().g);
    const names = model.graph!.node.map((n) => `${n.opType}:${n.name}`);
    expect(names).toEqual(['Gemm:fc/gemm_1', 'Relu:fc/relu_2']);
    expect(model.graph!.output.map((o) => o.name)).toEqual(['y']);
    expect(Number(model.opsetImport[0].version)).toBe(20);
    const { g } = build();
    const [x, w] = g.inputs;
    expect(toModelProto(g, { inputs: [w, x] }).graph!.input.map((i) => i.name)).toEqual(['w', 'x']);
    expect(() => toModelProto(g, { inputs: [x] })).toThrow('toOnnx: the outputs need inputs that are not listed: w');
  });

  it('runs an inference graph with a symbolic batch dim at two batch sizes', async () => {
    const g = new Graph('embed');
    const x = g.input('images', ['N', 2, 4, 4]);
    const w = g.constant(Float32Array.from(randn(3 * 2 * 9, 3)), [3, 2, 3, 3]);
    const ones = g.constant(f32([1, 1, 1]), [3]);
    const zeros = g.constant(f32([0, 0, 0]), [3]);
    const y = batchNormEval(conv2d(x, w, undefined, { pad: 1 }), ones, zeros, zeros, ones);
    const token = g.constant(f32([0.5, -1, 2]), [1, 3]);
    const pooled = reshape(globalAvgPool(relu(y)), ['N', 3]);
    const feats = concat([pooled, expandAs(token, pooled)], 1);
    expect(() => expand(token, pooled.shape)).toThrow(/symbolic/);
    expect(feats.shape).toEqual(['N', 6]);
    g.output('features', feats);
    const type = toModelProto(g).graph!.input[0].type!.value;
    expect(type.case === 'tensorType' && type.value.shape!.dim[0].value).toEqual({ case: 'dimParam', value: 'N' });
    for (const n of [1, 3]) {
      const r = await runGraph(g, { images: { data: Float32Array.from(randn(n * 32, n)), shape: [n, 2, 4, 4] } });
      expect(r.features.dims).toEqual([n, 6]);
      expect(Array.from(r.features.data as Float32Array).slice(3, 6)).toEqual([0.5, -1, 2]);
    }
  });
});
