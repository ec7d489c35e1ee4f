import { concat, type Tensor } from '../graph';
import type { Module } from '../nn';

/**
 * The features the online linear classifier (docs/methods.md §5.2) trains on, taken from the
 * method's own training-mode passes of its eval backbone — no second backbone pass, so batch-norm
 * statistics update as without the classifier.
 *
 * Runs `build` (the method's buildLoss) while recording the outputs of `module` under `prefix` in
 * training mode: with a tensor `view`, the first pass on exactly that view; with 'all', every
 * pass, rows concatenated in call order (separate view batches give [f(x_0); f(x_1)], a grouped
 * batch f(cat(x_0, x_1)): the same rows in the same order). `features` is null when no pass matched.
 */
export function withEvalBackboneFeatures<T>(module: Module, prefix: string, view: Tensor | 'all', build: () => T): { result: T; features: Tensor | null } {
  const passes: Tensor[] = [];
  const forward = module.forward;
  module.forward = function recordingForward(this: Module, ctx, x) {
    const y = forward.call(this, ctx, x);
    if (ctx.path === prefix && ctx.training && (view === 'all' || (passes.length === 0 && x === view))) passes.push(y);
    return y;
  };
  try {
    const result = build();
    return { result, features: passes.length === 0 ? null : concat(passes, 0) };
  } finally {
    module.forward = forward;
  }
}

/**
 * The batch labels [B] repeated once per B feature rows (torch's `targets.repeat(len(views))`),
 * for features whose rows are views in order.
 */
export function labelsForFeatures(labels: Tensor, features: Tensor): Tensor {
  const rows = features.shape[0];
  const batch = labels.shape[0];
  if (typeof rows !== 'number' || typeof batch !== 'number' || rows % batch !== 0) {
    throw new Error(`online classifier: ${String(rows)} feature rows are not a multiple of the batch ${String(batch)}`);
  }
  return concat(new Array<Tensor>(rows / batch).fill(labels), 0);
}
