import { Graph, add, mul, exp, matmul, reduceSum, grad, toOnnx, GraphError } from '../../src/graph';
import { checkGradient, runGraph } from '../support/graph-harness';

describe('graph core', () => {
  it('runs a small graph in ORT', async () => {
    const g = new Graph('t');
    const a = g.input('a', [2, 3], 'float32');
    const b = g.input('b', [3], 'float32');
    g.output('y', mul(add(a, b), 2));
    const r = await runGraph(g, { a: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, b: { data: Float32Array.from([1, 1, 1]), shape: [3] } });
    expect(Array.from(r.y.data as Float32Array)).toEqual([4, 6, 8, 10, 12, 14]);
  });

  it('differentiates matmul+exp with broadcasting', async () => {
    const res = await checkGradient((g, [a, b, c]) => exp(mul(add(matmul(a, b), c), 0.3)), [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [1, 5] }]);
    expect(res.maxRelErr).toBeLessThan(1e-7);
  });
});
