/**
 * ResNet-18, CIFAR variant (docs/methods.md §2.1; the torch twin is ResNet18Cifar in
 * scripts/torch_reference.py): Conv3×3(stride 1, no bias) → BN stem with no ReLU and no max-pool,
 * four stages of two BasicBlocks with option-B projection shortcuts (`shortcut.0` conv1×1,
 * `shortcut.1` BN), global average pool. Framework-default init (nn.Conv2d's kaiming_uniform(a=√5)).
 */
import { add, relu, type Tensor } from '../../graph';
import { batchNorm2dFactory, type NormFactory } from '../batchnorm';
import { Conv2d } from '../conv';
import { Module, type ForwardContext } from '../module';
import { GlobalAvgPool } from '../pooling';
import { Sequential } from '../sequential';

export class CifarBasicBlock extends Module {
  private readonly projected: boolean;

  constructor(cin: number, cout: number, stride: number, norm: NormFactory) {
    super();
    this.addModule('conv1', new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false }));
    this.addModule('bn1', norm(cout));
    this.addModule('conv2', new Conv2d(cout, cout, 3, { stride: 1, padding: 1, bias: false }));
    this.addModule('bn2', norm(cout));
    this.projected = stride !== 1 || cin !== cout;
    this.addModule('shortcut', new Sequential(this.projected ? [new Conv2d(cin, cout, 1, { stride, bias: false }), norm(cout)] : []));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const h = relu(this.call(ctx, 'bn1', this.call(ctx, 'conv1', x)));
    const out = this.call(ctx, 'bn2', this.call(ctx, 'conv2', h));
    return relu(add(out, this.projected ? this.call(ctx, 'shortcut', x) : x));
  }
}

export interface ResNetCifarOptions {
  /** Channels of the first stage (64 at width 1); stages use base·2^i. */
  baseWidth?: number;
  inChannels?: number;
  /** SplitBatchNorm splits for every BN (1: plain BatchNorm2d). */
  splitBn?: number;
}

export class ResNet18Cifar extends Module {
  readonly featureDim: number;

  constructor(opts: ResNetCifarOptions = {}) {
    super();
    const base = opts.baseWidth ?? 64;
    const norm = batchNorm2dFactory(opts.splitBn ?? 1);
    this.addModule('conv1', new Conv2d(opts.inChannels ?? 3, base, 3, { stride: 1, padding: 1, bias: false }));
    this.addModule('bn1', norm(base));
    let cin = base;
    [1, 2, 4, 8].forEach((mult, i) => {
      const cout = base * mult;
      const stride = i === 0 ? 1 : 2;
      this.addModule(`layer${i + 1}`, new Sequential([new CifarBasicBlock(cin, cout, stride, norm), new CifarBasicBlock(cout, cout, 1, norm)]));
      cin = cout;
    });
    this.addModule('avgpool', new GlobalAvgPool());
    this.featureDim = cin;
  }

  /** The layer4 map [N, 8·base, H/8, W/8] before pooling. */
  featureMap(ctx: ForwardContext, x: Tensor): Tensor {
    let h = this.call(ctx, 'bn1', this.call(ctx, 'conv1', x));
    for (const layer of ['layer1', 'layer2', 'layer3', 'layer4']) h = this.call(ctx, layer, h);
    return h;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.call(ctx, 'avgpool', this.featureMap(ctx, x));
  }
}
