import { Graph, type Tensor } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import { GraphForwardContext, initParameters, type Module } from '../../src/nn';
import { runGraph, type Feed } from '../support/graph-harness';

export interface ModuleRun {
  output: Float32Array;
  dims: readonly number[];
  /** Next value of every buffer the pass set, by full name. */
  buffers: Map<string, Float32Array>;
  /** The values fed for every parameter and buffer, by full name. */
  values: Map<string, Float32Array>;
}

/**
 * Builds `module`'s forward pass in a fresh graph, feeds seeded initial values (or `values`
 * overrides) and `x`, runs it in ORT and returns the output and the buffers' next values.
 */
export async function runModule(
  module: Module,
  x: { shape: number[]; data: Float32Array },
  opts: { training: boolean; seed?: number; values?: Map<string, Float32Array>; passes?: number; forward?: (ctx: GraphForwardContext, x: Tensor) => Tensor },
): Promise<ModuleRun> {
  const g = new Graph('test');
  const input = g.input('x', x.shape);
  const ctx = new GraphForwardContext(g, module, { training: opts.training });
  const forward = opts.forward ?? ((c, t) => module.forward(c, t));
  let y = forward(ctx, input);
  for (let p = 1; p < (opts.passes ?? 1); p++) y = forward(ctx, input);
  g.output('y', y);
  const updates = [...ctx.bufferUpdates.entries()];
  updates.forEach(([name, t], i) => g.output(`next${i}`, t));
  const values = opts.values ?? initParameters([...module.parameters(), ...module.buffers()], new Rng(opts.seed ?? 1));
  const feeds: Record<string, Feed> = { x: { data: x.data, shape: x.shape } };
  for (const t of g.inputs) {
    if (t.name === 'x') continue;
    const v = values.get(t.name);
    if (!v) throw new Error(`no value for ${t.name}`);
    feeds[t.name] = { data: v, shape: t.shape as number[] };
  }
  const out = await runGraph(g, feeds);
  const buffers = new Map(updates.map(([name], i) => [name, out[`next${i}`].data as Float32Array]));
  return { output: out.y.data as Float32Array, dims: out.y.dims, buffers, values };
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
