import { add, div, greater, logicalAnd, mul, reduceSum, sqrt, sub, where, type Tensor } from '../graph';
import { stateName, type OptimizerRule } from './rule';

export interface LarsOptions {
  momentum: number;
  trustCoefficient?: number;
  eps?: number;
}

function norm(x: Tensor): Tensor {
  return sqrt(reduceSum(mul(x, x)));
}

/**
 * LARS as lightly's lars.py (docs/methods.md §4.0): with wd ≠ 0, ‖p‖ ≠ 0 and ‖g‖ ≠ 0,
 * d = (g + wd·p)·η‖p‖/(‖g‖ + wd‖p‖ + eps); otherwise d = g. Then buf = μ·buf + d, p -= lr·buf.
 * A parameter excluded from decay (weightDecay null) is plain momentum SGD, as lightly's wd-0 group.
 */
export function lars({ momentum, trustCoefficient = 0.001, eps = 1e-8 }: LarsOptions): OptimizerRule {
  return {
    name: 'lars',
    stateFor: (spec) => (momentum > 0 ? [{ name: stateName(spec.name, 'momentum_buffer'), shape: spec.shape, dtype: 'float32' }] : []),
    update({ param, grad, state, lr, weightDecay }) {
      let d = grad;
      if (weightDecay) {
        const pNorm = norm(param);
        const gNorm = norm(grad);
        const adapt = logicalAnd(logicalAnd(greater(pNorm, 0), greater(gNorm, 0)), greater(weightDecay, 0));
        const trust = div(mul(pNorm, trustCoefficient), add(add(gNorm, mul(pNorm, weightDecay)), eps));
        d = where(adapt, mul(add(grad, mul(param, weightDecay)), trust), grad);
      }
      if (momentum <= 0) return { param: sub(param, mul(d, lr)), state: [] };
      const buf = add(mul(state[0], momentum), d);
      return { param: sub(param, mul(buf, lr)), state: [buf] };
    },
  };
}
