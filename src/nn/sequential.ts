import type { Tensor } from '../graph';
import { Module, type ForwardContext } from './module';

/** torch.nn.Sequential: children named '0', '1', ... run in order. */
export class Sequential extends Module {
  readonly length: number;

  constructor(layers: readonly Module[]) {
    super();
    layers.forEach((m, i) => this.addModule(String(i), m));
    this.length = layers.length;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.length; i++) y = this.call(ctx, String(i), y);
    return y;
  }
}
