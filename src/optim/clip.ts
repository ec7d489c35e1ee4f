import { GraphError, add, div, minimum, mul, reduceSum, sqrt, type Tensor } from '../graph';

/**
 * torch.nn.utils.clip_grad_norm_: total = ‖concat(grads)‖₂; every gradient is scaled by
 * min(1, maxNorm/(total + 1e-6)). Returns the scaled gradients and the unclipped total norm.
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; totalNorm: Tensor } {
  if (!(maxNorm > 0)) throw new RangeError(`gradient clipping needs maxNorm > 0, got ${maxNorm}`);
  if (grads.length === 0) throw new GraphError('clipGradNorm: no gradients');
  let sumSq: Tensor | null = null;
  for (const g of grads) {
    const s = reduceSum(mul(g, g));
    sumSq = sumSq ? add(sumSq, s) : s;
  }
  const totalNorm = sqrt(sumSq!);
  const coef = minimum(div(maxNorm, add(totalNorm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, coef)), totalNorm };
}
