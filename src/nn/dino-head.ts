/**
 * DINO's projection head (lightly/models/modules/heads.py DINOProjectionHead; docs/methods.md §4.0):
 *
 *   x → MLP (Lin–[BN]–GELU … –Lin(h→bottleneck)) → L2-normalise → weight-normalised Lin(bottleneck→out, no bias)
 *
 * The weight-normalised layer is torch.nn.utils.weight_norm: W = g · v/‖v‖ row by row, parameters
 * `last_layer.weight_g` [out, 1] (filled with 1) and `last_layer.weight_v` [out, in] (nn.Linear's
 * default init), in that order. With norm_last_layer on (the default) g stays 1: the method keeps
 * it out of the optimizer (`frozenParameterNames`), as requires_grad = False does in the reference.
 *
 * MLP init: 'trunc-normal' is DINOProjectionHead's own _init_weights (truncated normal std 0.02,
 * zero bias); 'torch' is nn.Linear's default — the CIFAR-10 script replaces the head's layers by a
 * plain 2-block ProjectionHead built after that init, so its MLP keeps torch's default.
 */
import { div, l2Normalize, linear, mul, reduceSum, sqrt, type Tensor } from '../graph';
import { ProjectionHead, type HeadBlock } from './heads';
import type { LinearInit } from './linear';
import { ONES, torchDefaultWeight } from './init';
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

export interface DinoHeadOptions {
  input: number;
  hidden: number;
  bottleneck: number;
  output: number;
  /** Linear layers of the MLP before the bottleneck output: 3 (DINOProjectionHead) or 2 (CIFAR-10 script). */
  layers: 2 | 3;
  /** BatchNorm1d after the hidden Linears (which then have no bias). */
  batchNorm: boolean;
  mlpInit: LinearInit;
}

export class DinoProjectionHead extends Module {
  readonly outDim: number;

  constructor(readonly opts: DinoHeadOptions) {
    super();
    const norm = opts.batchNorm ? 'batch' : null;
    const blocks: HeadBlock[] = [{ in: opts.input, out: opts.hidden, norm, act: 'gelu' }];
    if (opts.layers === 3) blocks.push({ in: opts.hidden, out: opts.hidden, norm, act: 'gelu' });
    blocks.push({ in: opts.hidden, out: opts.bottleneck, norm: null, act: null });
    // The MLP's Sequential is the head's own `layers` (torch names `layers.0.weight`, ...).
    this.addModule('layers', new ProjectionHead(blocks, { linearInit: opts.mlpInit }).child('layers'));
    this.addModule('last_layer', new WeightNormLinear(opts.bottleneck, opts.output));
    this.outDim = opts.output;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const z = l2Normalize(this.call(ctx, 'layers', x));
    return this.call(ctx, 'last_layer', z);
  }
}
