import { Graph, type DType, type Tensor } from '../../src/graph';
import { runGraph, toDtype, type HostArray } from '../support/graph-harness';

export interface LossInput {
  shape: number[];
  data: ArrayLike<number>;
  dtype?: DType;
}

/** Builds a graph over float64 (or the given dtype) inputs x0, x1, ..., runs it once and returns every named output. */
export async function evaluate(
  build: (xs: Tensor[], g: Graph) => Record<string, Tensor>,
  inputs: LossInput[],
): Promise<Record<string, HostArray>> {
  const g = new Graph('loss-test');
  const xs = inputs.map((inp, i) => g.input(`x${i}`, inp.shape, inp.dtype ?? 'float64'));
  for (const [name, t] of Object.entries(build(xs, g))) g.output(name, t);
  const feeds = Object.fromEntries(inputs.map((inp, i) => [`x${i}`, { data: toDtype(inp.data, inp.dtype ?? 'float64'), shape: inp.shape }]));
  const out = await runGraph(g, feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
}

/** The scalar output of a one-loss graph. */
export async function lossValue(build: (xs: Tensor[], g: Graph) => Tensor, inputs: LossInput[]): Promise<number> {
  const out = await evaluate((xs, g) => ({ loss: build(xs, g) }), inputs);
  return Number(out.loss[0]);
}
