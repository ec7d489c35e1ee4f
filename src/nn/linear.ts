import { linear, type Tensor } from '../graph';
import { TRUNC_NORMAL_002, ZEROS, torchDefaultBias, torchDefaultWeight } from './init';
import { Module, type ForwardContext, type InitSpec } from './module';

/**
 * 'torch': nn.Linear's default (weight U(±1/√in), bias U(±1/√in));
 * 'xavier': xavier_uniform_ weight, zero bias (Lightly's ViT/MAE re-initialisation);
 * 'trunc-normal': trunc_normal_(std 0.02) weight, zero bias (timm ViT, DINO head).
 */
export type LinearInit = 'torch' | 'xavier' | 'trunc-normal';

/** torch.nn.Linear: `weight` [out, in], `bias` [out]; applies to the last axis of x. */
export class Linear extends Module {
  readonly hasBias: boolean;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; init?: LinearInit } = {}) {
    super();
    this.hasBias = opts.bias ?? true;
    const init = opts.init ?? 'torch';
    const weight: InitSpec = init === 'torch' ? torchDefaultWeight(inFeatures)
      : init === 'xavier' ? { type: 'xavierUniform', fanIn: inFeatures, fanOut: outFeatures }
        : TRUNC_NORMAL_002;
    this.registerParameter('weight', [outFeatures, inFeatures], weight, 'weight');
    if (this.hasBias) this.registerParameter('bias', [outFeatures], init === 'torch' ? torchDefaultBias(inFeatures) : ZEROS, 'bias');
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return linear(x, ctx.param('weight'), this.hasBias ? ctx.param('bias') : undefined);
  }
}
