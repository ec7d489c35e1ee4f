import type { Tensor } from '../graph';

/** What an optimizer needs to know about a parameter (src/nn's ParamSpec satisfies it). */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: 'weight' | 'bias' | 'norm';
  readonly decay: boolean;
}

/**
 * One optimizer state tensor of a parameter, e.g. its momentum buffer. Every optimizer state
 * starts at zero (torch's "first step buf = d" equals μ·0 + d), so no init spec is needed.
 * `name` is '<param>#<torch state key>' (momentum_buffer, exp_avg, exp_avg_sq, step).
 */
export interface OptimizerStateSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
}

export interface UpdateArgs {
  readonly spec: ParamInfo;
  readonly param: Tensor;
  readonly grad: Tensor;
  /** This parameter's state tensors, in the order of stateFor(spec). */
  readonly state: readonly Tensor[];
  /** Scalar learning rate (a graph input: the schedule runs in TypeScript). */
  readonly lr: Tensor;
  /** Scalar weight decay, or null when this parameter is excluded from decay (its group has wd 0). */
  readonly weightDecay: Tensor | null;
}

export interface UpdateResult {
  readonly param: Tensor;
  readonly state: readonly Tensor[];
}

/** An in-graph update rule: the torch optimizer's per-parameter step written with graph ops. */
export interface OptimizerRule {
  readonly name: string;
  stateFor(spec: ParamInfo): OptimizerStateSpec[];
  update(args: UpdateArgs): UpdateResult;
}

export function stateName(param: string, key: string): string {
  return `${param}#${key}`;
}
