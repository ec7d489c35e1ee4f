import { add, mul, sub } from '../graph';
import { stateName, type OptimizerRule } from './rule';

export interface SgdOptions {
  momentum: number;
  nesterov?: boolean;
}

/**
 * torch.optim.SGD with dampening 0: d = g + wd·p; buf = μ·buf + d; d = nesterov ? d + μ·buf : buf;
 * p -= lr·d. The buffer starts at zero, so the first step's buf = d exactly as torch's clone.
 */
export function sgd({ momentum, nesterov = false }: SgdOptions): OptimizerRule {
  if (nesterov && momentum <= 0) throw new RangeError('SGD: Nesterov momentum needs momentum > 0');
  return {
    name: nesterov ? 'sgd-nesterov' : 'sgd',
    stateFor: (spec) => (momentum > 0 ? [{ name: stateName(spec.name, 'momentum_buffer'), shape: spec.shape, dtype: 'float32' }] : []),
    update({ param, grad, state, lr, weightDecay }) {
      const d = weightDecay ? add(grad, mul(param, weightDecay)) : grad;
      if (momentum <= 0) return { param: sub(param, mul(d, lr)), state: [] };
      const buf = add(mul(state[0], momentum), d);
      const step = nesterov ? add(d, mul(buf, momentum)) : buf;
      return { param: sub(param, mul(step, lr)), state: [buf] };
    },
  };
}
