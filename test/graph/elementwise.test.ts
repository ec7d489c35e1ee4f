import {
  Graph, Tensor, abs, add, cast, clip, div, erf, exp, gelu, greater, log, maximum, minimum, mul, neg, pow, reciprocal, relu, sigmoid, sqrt, sub, tanh, where,
} from '../../src/graph';
import { checkGradient, randn, runGraph, type CheckInput } from '../support/graph-harness';

const positive = (shape: number[], seed: number): CheckInput => ({ shape, data: Array.from(randn(shape.reduce((a, b) => a * b, 1), seed), (v) => Math.abs(v) + 0.5) });
// Values kept away from kinks (0 for relu/abs, ±1 for clip) so central differences stay on one side.
const awayFromKinks = (shape: number[], seed: number): CheckInput => ({
  shape,
  data: Array.from(randn(shape.reduce((a, b) => a * b, 1), seed), (v) => (v >= 0 ? 0.1 : -0.1) + v * 0.8 + (Math.abs(Math.abs(v) - 1) < 0.1 ? 0.3 : 0)),
});

type Case = [string, (g: Graph, xs: Tensor[]) => Tensor, CheckInput[]];

// float64 graphs: ORT has double kernels for these, so a tight tolerance holds.
const float64Cases: Case[] = [
  ['add broadcast [2,3]+[3]', (_g, [a, b]) => add(a, b), [{ shape: [2, 3] }, { shape: [3] }]],
  ['add scalar tensor [2,3]+[]', (_g, [a, b]) => add(a, b), [{ shape: [2, 3] }, { shape: [] }]],
  ['sub broadcast [2,1,3]-[4,1]', (_g, [a, b]) => sub(a, b), [{ shape: [2, 1, 3] }, { shape: [4, 1] }]],
  ['mul broadcast [3,1]*[1,4]', (_g, [a, b]) => mul(a, b), [{ shape: [3, 1] }, { shape: [1, 4] }]],
  ['mul by number', (_g, [a]) => mul(a, 3), [{ shape: [5] }]],
  ['div broadcast [2,3]/[2,1]', (_g, [a, b]) => div(a, b), [{ shape: [2, 3] }, positive([2, 1], 5)]],
  ['div number by tensor', (_g, [a]) => div(2, a), [positive([4], 6)]],
  ['pow tensor^tensor', (_g, [a, b]) => pow(a, b), [positive([2, 3], 7), { shape: [3] }]],
  ['pow tensor^number', (_g, [a]) => pow(a, 2.5), [positive([2, 3], 8)]],
  ['maximum broadcast', (_g, [a, b]) => maximum(a, b), [{ shape: [3, 4] }, { shape: [4] }]],
  ['minimum', (_g, [a, b]) => minimum(a, b), [{ shape: [3, 4] }, { shape: [3, 4] }]],
  ['neg', (_g, [a]) => neg(a), [{ shape: [3] }]],
  ['exp', (_g, [a]) => exp(a), [{ shape: [2, 3] }]],
  ['log', (_g, [a]) => log(a), [positive([2, 3], 9)]],
  ['sqrt', (_g, [a]) => sqrt(a), [positive([2, 3], 10)]],
  ['reciprocal', (_g, [a]) => reciprocal(a), [positive([2, 3], 11)]],
  ['abs', (_g, [a]) => abs(a), [awayFromKinks([2, 5], 12)]],
  ['relu', (_g, [a]) => relu(a), [awayFromKinks([2, 5], 13)]],
  ['sigmoid', (_g, [a]) => sigmoid(a), [{ shape: [2, 3] }]],
  ['tanh', (_g, [a]) => tanh(a), [{ shape: [2, 3] }]],
  ['clip', (_g, [a]) => clip(a, -1, 1), [awayFromKinks([3, 4], 14)]],
  ['where broadcast', (_g, [c, a, b]) => where(greater(c, 0), a, b), [{ shape: [2, 3], wrt: false }, { shape: [2, 3] }, { shape: [3] }]],
  ['where with number', (_g, [c, a]) => where(greater(c, 0), a, 0), [{ shape: [2, 3], wrt: false }, { shape: [2, 3] }]],
  ['reused tensor accumulates', (_g, [a]) => mul(a, exp(a)), [{ shape: [4] }]],
];

describe('elementwise gradients match finite differences', () => {
  it.each(float64Cases)('%s (float64)', async (_name, build, inputs) => {
    const res = await checkGradient(build, inputs, { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  // Erf and Gelu have float32 kernels only in ORT; the cast round trip is float32 in the middle.
  it.each<Case>([
    ['erf', (_g, [a]) => erf(a), [{ shape: [2, 5], dtype: 'float32' }]],
    ['gelu', (_g, [a]) => gelu(a), [{ shape: [2, 5], dtype: 'float32' }]],
    ['cast float64 -> float32 -> float64', (_g, [a]) => cast(mul(cast(a, 'float32'), 2), 'float64'), [{ shape: [3] }]],
  ])('%s (float32, eps 1e-2, tol 2e-3)', async (_name, build, inputs) => {
    const res = await checkGradient(build, inputs, { eps: 1e-2 });
    expect(res.maxRelErr).toBeLessThan(2e-3);
  });
});

it('gelu written for opset 18 (no Gelu op) matches opset 20', async () => {
  const g = new Graph('t');
  g.output('y', gelu(g.input('x', [5])));
  const feeds = { x: { data: Float32Array.from([-2, -0.5, 0, 0.7, 3]), shape: [5] } };
  const a = await runGraph(g, feeds, { opset: 18 });
  const b = await runGraph(g, feeds, { opset: 20 });
  Array.from(a.y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((b.y.data as Float32Array)[i], 6));
  await expect(runGraph(g, feeds, { opset: 17 })).rejects.toThrow('opset 17 is not supported; 18 or later');
});
