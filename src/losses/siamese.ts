/**
 * How the Siamese methods without negatives combine the negative cosine similarity NC over their
 * views (docs/methods.md §4.2 BYOL, §4.14 SimSiam, §4.6 FastSiam). Predictions p come from the online
 * branch; targets z are cut from the gradient here (SimSiam's stop-gradient, BYOL's target network).
 *
 *   simSiamLoss(p0, p1, z0, z1)              ½[NC(p1, sg z0) + NC(p0, sg z1)]
 *   byolLoss(p0, p1, z0t, z1t, 'mean')       ½[NC(p0, z1') + NC(p1, z0')]      docs benchmarks
 *   byolLoss(p0, p1, z0t, z1t, 'twiceSum')   2·NC(z0', p1) + 2·NC(z1', p0)     ImageNet1k R50
 *   fastSiamLoss([p0..p3], [z0..z3])         (1/V) Σ_i NC(p_i, mean_{j≠i} sg z_j)
 */
import { GraphError, add, div, mul, stopGradient, type Tensor } from '../graph';
import { negativeCosineSimilarity as nc } from './negative-cosine';

/** SimSiam (Chen & He 2021, arXiv:2011.10566): the symmetrised loss with stop-gradient on z. */
export function simSiamLoss(p0: Tensor, p1: Tensor, z0: Tensor, z1: Tensor): Tensor {
  return mul(add(nc(p1, stopGradient(z0)), nc(p0, stopGradient(z1))), 0.5);
}

/**
 * BYOL's two directions, each prediction against the target projection of the other view.
 * 'mean' averages them (docs CIFAR-10/Imagenette/ImageNet100 scripts); 'twiceSum' sums 2·NC per
 * direction (ImageNet1k R50, where 2·(−cos) stands for the squared error 2 − 2cos of the paper):
 * 'twiceSum' = 4 × 'mean', which matters for the effective learning rate.
 */
export function byolLoss(p0: Tensor, p1: Tensor, z0Target: Tensor, z1Target: Tensor, combination: 'mean' | 'twiceSum'): Tensor {
  const both = add(nc(p0, stopGradient(z1Target)), nc(p1, stopGradient(z0Target)));
  return mul(both, combination === 'mean' ? 0.5 : 2);
}

/**
 * FastSiam (Pototzky et al. 2022, "FastSiam: Resource-Efficient Self-supervised Learning on a
 * Single GPU"): each view's prediction against the mean of the other views' detached projections,
 * averaged over the views (4 in the benchmarks).
 */
export function fastSiamLoss(predictions: readonly Tensor[], projections: readonly Tensor[]): Tensor {
  const views = predictions.length;
  if (views < 2 || projections.length !== views) {
    throw new GraphError(`fastSiamLoss: needs one projection per prediction and at least 2 views, got ${views} predictions and ${projections.length} projections`);
  }
  const targets = projections.map(stopGradient);
  const terms = predictions.map((p, i) => {
    const others = targets.filter((_, j) => j !== i);
    return nc(p, div(others.reduce((s, z) => add(s, z)), others.length));
  });
  return div(terms.reduce((s, t) => add(s, t)), views);
}
