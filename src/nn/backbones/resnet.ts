/**
 * torchvision ResNet-18 / ResNet-50 without the fc (docs/methods.md §2.2), with torchvision's names
 * (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0 / .1, ...) and init (convs
 * kaiming_normal(fan_out, relu), BN γ=1 β=0, no zero-init of residual BNs): Conv7×7/2 → BN → ReLU →
 * MaxPool3×3/2 → four stages → global average pool. Bottleneck strides on its 3×3 conv (v1.5).
 */
import { add, relu, type Tensor } from '../../graph';
import { batchNorm2dFactory, type NormFactory } from '../batchnorm';
import { Conv2d } from '../conv';
import { Module, type ForwardContext } from '../module';
import { GlobalAvgPool, MaxPool2d } from '../pooling';
import { Sequential } from '../sequential';

const INIT = 'kaiming-normal-fan-out' as const;

function downsample(cin: number, cout: number, stride: number, norm: NormFactory): Sequential {
  return new Sequential([new Conv2d(cin, cout, 1, { stride, bias: false, init: INIT }), norm(cout)]);
}

export class BasicBlock extends Module {
  static readonly expansion = 1;
  private readonly hasDownsample: boolean;

  constructor(cin: number, planes: number, stride: number, norm: NormFactory) {
    super();
    this.addModule('conv1', new Conv2d(cin, planes, 3, { stride, padding: 1, bias: false, init: INIT }));
    this.addModule('bn1', norm(planes));
    this.addModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, init: INIT }));
    this.addModule('bn2', norm(planes));
    this.hasDownsample = stride !== 1 || cin !== planes;
    if (this.hasDownsample) this.addModule('downsample', downsample(cin, planes, stride, norm));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const h = relu(this.call(ctx, 'bn1', this.call(ctx, 'conv1', x)));
    const out = this.call(ctx, 'bn2', this.call(ctx, 'conv2', h));
    return relu(add(out, this.hasDownsample ? this.call(ctx, 'downsample', x) : x));
  }
}

export class Bottleneck extends Module {
  static readonly expansion = 4;
  private readonly hasDownsample: boolean;

  constructor(cin: number, planes: number, stride: number, norm: NormFactory) {
    super();
    const cout = planes * Bottleneck.expansion;
    this.addModule('conv1', new Conv2d(cin, planes, 1, { bias: false, init: INIT }));
    this.addModule('bn1', norm(planes));
    this.addModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false, init: INIT }));
    this.addModule('bn2', norm(planes));
    this.addModule('conv3', new Conv2d(planes, cout, 1, { bias: false, init: INIT }));
    this.addModule('bn3', norm(cout));
    this.hasDownsample = stride !== 1 || cin !== cout;
    if (this.hasDownsample) this.addModule('downsample', downsample(cin, cout, stride, norm));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    let h = relu(this.call(ctx, 'bn1', this.call(ctx, 'conv1', x)));
    h = relu(this.call(ctx, 'bn2', this.call(ctx, 'conv2', h)));
    const out = this.call(ctx, 'bn3', this.call(ctx, 'conv3', h));
    return relu(add(out, this.hasDownsample ? this.call(ctx, 'downsample', x) : x));
  }
}

export interface ResNetOptions {
  block: 'basic' | 'bottleneck';
  layers: readonly [number, number, number, number];
  /** Planes of the first stage (64 at width 1); stages use base·2^i. */
  baseWidth?: number;
  inChannels?: number;
  splitBn?: number;
}

export class ResNet extends Module {
  readonly featureDim: number;

  constructor(opts: ResNetOptions) {
    super();
    const base = opts.baseWidth ?? 64;
    const norm = batchNorm2dFactory(opts.splitBn ?? 1);
    const Block = opts.block === 'basic' ? BasicBlock : Bottleneck;
    this.addModule('conv1', new Conv2d(opts.inChannels ?? 3, base, 7, { stride: 2, padding: 3, bias: false, init: INIT }));
    this.addModule('bn1', norm(base));
    this.addModule('maxpool', new MaxPool2d(3, 2, 1));
    let cin = base;
    opts.layers.forEach((count, i) => {
      const planes = base * 2 ** i;
      const blocks: Module[] = [];
      for (let b = 0; b < count; b++) {
        blocks.push(new Block(cin, planes, b === 0 && i > 0 ? 2 : 1, norm));
        cin = planes * Block.expansion;
      }
      this.addModule(`layer${i + 1}`, new Sequential(blocks));
    });
    this.addModule('avgpool', new GlobalAvgPool());
    this.featureDim = cin;
  }

  /** The layer4 map before pooling (VICRegL's local features). */
  featureMap(ctx: ForwardContext, x: Tensor): Tensor {
    let h = relu(this.call(ctx, 'bn1', this.call(ctx, 'conv1', x)));
    h = this.call(ctx, 'maxpool', h);
    for (const layer of ['layer1', 'layer2', 'layer3', 'layer4']) h = this.call(ctx, layer, h);
    return h;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.call(ctx, 'avgpool', this.featureMap(ctx, x));
  }
}
