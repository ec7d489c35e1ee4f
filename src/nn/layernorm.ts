import { layerNorm, type Tensor } from '../graph';
import { ONES, ZEROS } from './init';
import { Module, type ForwardContext } from './module';

/** torch.nn.LayerNorm over the last axis: `weight` = 1, `bias` = 0 (both kind 'norm'). */
export class LayerNorm extends Module {
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.registerParameter('weight', [dim], ONES, 'norm');
    this.registerParameter('bias', [dim], ZEROS, 'norm');
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return layerNorm(x, ctx.param('weight'), ctx.param('bias'), this.eps);
  }
}
