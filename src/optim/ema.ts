import { add, mul, stopGradient, sub, type Tensor } from '../graph';

/** θ_ema ← m·θ_ema + (1−m)·θ (lightly's update_momentum); `m` is a scalar graph input. No gradient flows. */
export function emaUpdate(target: Tensor, source: Tensor, m: Tensor): Tensor {
  return stopGradient(add(mul(target, m), mul(source, sub(1, m))));
}
