/**
 * DINO's projection head (lightly/models/modules/heads.py DINOProjectionHead; docs/methods.md §4.0):
 *
 *   x → MLP (Lin–[BN]–GELU … –Lin(h→bottleneck)) → L2-normalise → weight-normalised Lin(bottleneck→out, no bias)
 *
 * The weight-normalised layer is torch.nn.utils.weight_norm: W = g · v/‖v‖ row by row, parameters
 * `last_layer.weight_g` [out, 1] (filled with 1) and `last_layer.weight_v` [out, in] (nn.Linear's
 * default init), in that order. With norm_last_layer on (the default) g stays 1: the method keeps
 * it out of the update, as requires_grad = False does in the reference.
 *
 * MLP init: 'trunc-normal' is DINOProjectionHead's own _init_weights (truncated normal, zero bias,
 * std 0.02 today; 0.2 before lightly 01d99ea6, 2025-05-12, which every published DINO row with this
 * head ran); 'torch' is nn.Linear's default — the CIFAR-10 script replaces the head's layers by a
 * plain 2-block ProjectionHead built after that init, so its MLP keeps torch's default.
 * `sharedBatchNorm`: before lightly c5a749f5 (2024-11-08) DINOProjectionHead passed one
 * BatchNorm1d instance to both hidden blocks (the published Imagenette and ImageNet100 rows): one
 * set of affine parameters and running statistics, applied (and updated) after each hidden Linear.
 * torch names it once, at its first index (`layers.1`); the second use sits at index 4.
 */
import { div, l2Normalize, linear, mul, reduceSum, sqrt, type Tensor } from '../graph';
import { GELU } from './activation';
import { BatchNorm1d } from './batchnorm';
import { Linear } from './linear';
import { ONES, ZEROS, torchDefaultWeight } from './init';
import { Module, type ForwardContext } from './module';

/** torch.nn.utils.weight_norm(nn.Linear(in, out, bias=False)) with g filled with 1. */
export class WeightNormLinear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number) {
    super();
    this.registerParameter('weight_g', [outFeatures, 1], ONES, 'weight');
    this.registerParameter('weight_v', [outFeatures, inFeatures], torchDefaultWeight(inFeatures), 'weight');
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const v = ctx.param('weight_v');
    // torch's norm_except_dim(v, 2, dim=0): one norm per output row, no eps.
    const rowNorm = sqrt(reduceSum(mul(v, v), [1], true));
    return linear(x, mul(ctx.param('weight_g'), div(v, rowNorm)));
  }
}

/** nn.Linear re-initialised by DINOProjectionHead._init_weights: trunc_normal(0, std, a=−2, b=2), bias 0. */
class TruncNormalLinear extends Module {
  constructor(inFeatures: number, outFeatures: number, readonly hasBias: boolean, std: number) {
    super();
    this.registerParameter('weight', [outFeatures, inFeatures], { type: 'truncNormal', std, lower: -2, upper: 2 }, 'weight');
    if (hasBias) this.registerParameter('bias', [outFeatures], ZEROS, 'bias');
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return linear(x, ctx.param('weight'), this.hasBias ? ctx.param('bias') : undefined);
  }
}

export interface DinoHeadOptions {
  input: number;
  hidden: number;
  bottleneck: number;
  output: number;
  /** Linear layers of the MLP before the bottleneck output: 3 (DINOProjectionHead) or 2 (CIFAR-10 script). */
  layers: 2 | 3;
  /** BatchNorm1d after the hidden Linears (which then have no bias). */
  batchNorm: boolean;
  /** 'torch': nn.Linear's default; a number: DINOProjectionHead's truncated normal with this std. */
  mlpInit: 'torch' | { truncNormalStd: number };
  /** One BatchNorm1d shared by both hidden blocks (3 layers, batch norm on; lightly before 2024-11-08). */
  sharedBatchNorm?: boolean;
}

/**
 * The MLP as torch's nn.Sequential `layers`: children at their Sequential indices, Linear → [BN] →
 * GELU per hidden block, then the bottleneck Linear. A shared BN is registered once.
 */
class DinoMlp extends Module {
  /** Child index per step of the forward pass. */
  private readonly order: string[] = [];

  constructor(opts: DinoHeadOptions) {
    super();
    const dims: [number, number][] = [[opts.input, opts.hidden]];
    if (opts.layers === 3) dims.push([opts.hidden, opts.hidden]);
    dims.push([opts.hidden, opts.bottleneck]);
    const lin = (i: number, o: number, bias: boolean): Module => (opts.mlpInit === 'torch' ? new Linear(i, o, { bias }) : new TruncNormalLinear(i, o, bias, opts.mlpInit.truncNormalStd));
    const shared = opts.sharedBatchNorm && opts.batchNorm && opts.layers === 3;
    let sharedIndex: string | null = null;
    let index = 0;
    const add = (m: Module | null): void => {
      const name = String(index++);
      if (m) this.addModule(name, m);
      this.order.push(m ? name : sharedIndex!);
    };
    dims.forEach(([i, o], k) => {
      const hidden = k < dims.length - 1;
      add(lin(i, o, !(hidden && opts.batchNorm)));
      if (!hidden) return;
      if (opts.batchNorm) {
        if (shared && sharedIndex !== null) add(null);
        else {
          add(new BatchNorm1d(o));
          if (shared) sharedIndex = this.order[this.order.length - 1];
        }
      }
      add(new GELU());
    });
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.order.reduce((y, name) => this.call(ctx, name, y), x);
  }
}

export class DinoProjectionHead extends Module {
  readonly outDim: number;

  constructor(readonly opts: DinoHeadOptions) {
    super();
    this.addModule('layers', new DinoMlp(opts));
    this.addModule('last_layer', new WeightNormLinear(opts.bottleneck, opts.output));
    this.outDim = opts.output;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const z = l2Normalize(this.call(ctx, 'layers', x));
    return this.call(ctx, 'last_layer', z);
  }
}
