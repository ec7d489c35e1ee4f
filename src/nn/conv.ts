import { conv2d, type Tensor } from '../graph';
import { torchDefaultBias, torchDefaultWeight } from './init';
import { Module, type ForwardContext, type InitSpec } from './module';

/**
 * Weight initialisation of a conv layer:
 * 'torch': nn.Conv2d's default, kaiming_uniform_(a=√5) = U(±1/√fan_in);
 * 'kaiming-normal-fan-out': torchvision ResNet, kaiming_normal_(mode='fan_out', relu);
 * 'xavier-flat': xavier_uniform_ on the weight viewed as [out, in·k·k] (Lightly's ViT patch embedding).
 * The bias (if any) keeps torch's default U(±1/√fan_in) in every mode.
 */
export type ConvInit = 'torch' | 'kaiming-normal-fan-out' | 'xavier-flat';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
  init?: ConvInit;
}

/** torch.nn.Conv2d (square kernel, symmetric padding): parameters `weight` [out, in/groups, k, k], `bias` [out]. */
export class Conv2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Conv2dOptions = {}) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.groups = opts.groups ?? 1;
    this.hasBias = opts.bias ?? true;
    const k2 = kernelSize * kernelSize;
    const fanIn = (inChannels / this.groups) * k2;
    const init = opts.init ?? 'torch';
    const weightInit: InitSpec =
      init === 'torch' ? torchDefaultWeight(fanIn)
        : init === 'kaiming-normal-fan-out' ? { type: 'kaimingNormal', fanOut: outChannels * k2 }
          : { type: 'xavierUniform', fanIn: inChannels * k2, fanOut: outChannels };
    this.registerParameter('weight', [outChannels, inChannels / this.groups, kernelSize, kernelSize], weightInit, 'weight');
    if (this.hasBias) this.registerParameter('bias', [outChannels], torchDefaultBias(fanIn), 'bias');
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return conv2d(x, ctx.param('weight'), this.hasBias ? ctx.param('bias') : undefined, { stride: this.stride, pad: this.padding, groups: this.groups });
  }
}
