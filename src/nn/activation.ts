import { gelu, relu, type Tensor } from '../graph';
import { Module, type ForwardContext } from './module';

export class ReLU extends Module {
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    return relu(x);
  }
}

/** Exact (erf) GELU, torch's default. */
export class GELU extends Module {
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    return gelu(x);
  }
}

export type Activation = 'relu' | 'gelu';

export function activation(kind: Activation): Module {
  return kind === 'relu' ? new ReLU() : new GELU();
}
