import { GraphError, Tensor, formatShape, isFloat } from './graph';
import type { GradContext } from './op';
import { add } from './ops/elementwise';
import { fill } from './ops/shape';

export interface GradOptions {
  /** Gradient of the output `loss` (default: ones, i.e. d sum(loss)). */
  seed?: Tensor;
  /** What to return for a `wrt` tensor the loss does not depend on: zeros (default) or null. */
  unreached?: 'zeros' | 'null';
}

/**
 * Reverse-mode autodiff over the recorded graph: walks the nodes between `wrt` and `loss` in
 * reverse creation order (a topological order), calls each op's gradient rule and sums the
 * gradients of tensors used more than once. Gradient nodes are recorded in the graph under the
 * scope '<forward scope>/grad'. Integer tensors get no gradient; stopGradient blocks the walk.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], opts?: GradOptions & { unreached?: 'zeros' }): Tensor[];
export function grad(loss: Tensor, wrt: readonly Tensor[], opts: GradOptions & { unreached: 'null' }): (Tensor | null)[];
export function grad(loss: Tensor, wrt: readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const g = loss.graph;
  if (!isFloat(loss.dtype)) throw new GraphError(`grad: loss ${loss.name} is ${loss.dtype}; a float tensor is needed`);
  for (const w of wrt) {
    if (w.graph !== g) throw new GraphError(`grad: ${w.name} belongs to another graph than the loss`);
    if (!isFloat(w.dtype)) throw new GraphError(`grad: ${w.name} is ${w.dtype}; only float tensors have gradients`);
  }
  const last = loss.source.kind === 'node' ? loss.source.node.id : -1;
  // Forward pass: which tensors carry a dependence on some `wrt`.
  const live = new Set<number>(wrt.map((w) => w.id));
  for (let i = 0; i <= last; i++) {
    const node = g.nodes[i];
    if (node.inputs.some((t) => live.has(t.id))) for (const o of node.outputs) if (isFloat(o.dtype)) live.add(o.id);
  }
  const grads = new Map<number, Tensor>();
  const seed = opts.seed ?? fill(loss, 1);
  if (seed.dtype !== loss.dtype || formatShape(seed.shape) !== formatShape(loss.shape)) {
    throw new GraphError(`grad: seed ${seed.dtype}${formatShape(seed.shape)} does not match loss ${loss.dtype}${formatShape(loss.shape)}`);
  }
  grads.set(loss.id, seed);
  for (let i = last; i >= 0; i--) {
    const node = g.nodes[i];
    const gradsOut = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (gradsOut.every((x) => x === null)) continue;
    const needsGrad = node.inputs.map((t) => live.has(t.id) && isFloat(t.dtype));
    if (!needsGrad.some(Boolean)) continue;
    const rule = node.op.grad;
    if (!rule) throw new GraphError(`${node.scope ? `${node.scope}: ` : ''}${node.op.name} has no gradient rule; it cannot be differentiated (wrap its input in stopGradient if no gradient should flow)`);
    const ctx: GradContext = { graph: g, node, needsGrad };
    const gradsIn = g.atScopePath(node.scope ? `${node.scope}/grad` : 'grad', () => rule.call(node.op, ctx, gradsOut, node.inputs, node.outputs, node.attrs));
    node.inputs.forEach((t, k) => {
      const gi = gradsIn[k];
      if (!needsGrad[k] || !gi) return;
      if (formatShape(gi.shape) !== formatShape(t.shape) || gi.dtype !== t.dtype) {
        throw new GraphError(`${node.scope}: ${node.op.name} gradient rule returned ${gi.dtype}${formatShape(gi.shape)} for input ${t.dtype}${formatShape(t.shape)}`);
      }
      const prev = grads.get(t.id);
      grads.set(t.id, prev ? g.atScopePath(node.scope ? `${node.scope}/grad` : 'grad', () => add(prev, gi)) : gi);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? (opts.unreached === 'null' ? null : fill(w, 0)));
}
