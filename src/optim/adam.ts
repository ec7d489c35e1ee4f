import { add, div, mul, pow, sqrt, sub, type Tensor } from '../graph';
import { stateName, type OptimizerRule } from './rule';

export interface AdamOptions {
  betas?: readonly [number, number];
  eps?: number;
}

/**
 * torch.optim.Adam (decoupled = false: coupled L2, g += wd·p) or AdamW (decoupled = true:
 * p *= 1 − lr·wd before the step). Per parameter: t += 1; m = β1·m + (1−β1)·g;
 * v = β2·v + (1−β2)·g²; p -= (lr/(1−β1^t))·m / (√v/√(1−β2^t) + eps). `step` is a float32 scalar
 * per parameter like torch's (exact up to 2^24 steps).
 */
function adamRule(name: 'adam' | 'adamw', decoupled: boolean, { betas = [0.9, 0.999], eps = 1e-8 }: AdamOptions): OptimizerRule {
  const [b1, b2] = betas;
  return {
    name,
    stateFor: (spec) => [
      { name: stateName(spec.name, 'exp_avg'), shape: spec.shape, dtype: 'float32' },
      { name: stateName(spec.name, 'exp_avg_sq'), shape: spec.shape, dtype: 'float32' },
      { name: stateName(spec.name, 'step'), shape: [], dtype: 'float32' },
    ],
    update({ param, grad, state, lr, weightDecay }) {
      const [m0, v0, t0] = state;
      let p: Tensor = param;
      let g: Tensor = grad;
      if (weightDecay && decoupled) p = mul(param, sub(1, mul(lr, weightDecay)));
      if (weightDecay && !decoupled) g = add(grad, mul(param, weightDecay));
      const t = add(t0, 1);
      const m = add(mul(m0, b1), mul(g, 1 - b1));
      const v = add(mul(v0, b2), mul(mul(g, g), 1 - b2));
      const bias1 = sub(1, pow(p.graph.scalar(b1, 'float32'), t));
      const bias2 = sub(1, pow(p.graph.scalar(b2, 'float32'), t));
      const denom = add(div(sqrt(v), sqrt(bias2)), eps);
      const next = sub(p, mul(div(lr, bias1), div(m, denom)));
      return { param: next, state: [m, v, t] };
    },
  };
}

export const adam = (opts: AdamOptions = {}): OptimizerRule => adamRule('adam', false, opts);
export const adamw = (opts: AdamOptions = {}): OptimizerRule => adamRule('adamw', true, opts);
