/**
 * Batch normalisation as torch does it (docs/methods.md §0): training mode normalises with the batch
 * mean and biased variance and moves the running statistics with momentum 0.1 towards the batch
 * mean and the *unbiased* variance (M/(M−1), M = values per channel); eval mode uses the running
 * statistics. The updates are recorded with ctx.setBuffer, so two passes through one layer (two
 * views) update it twice in order, like two torch forward calls.
 */
import {
  GraphError, add, batchNormEval, batchNormTrain, expand, formatShape, mul, reduceMean, reshape, stopGradient, type Tensor,
} from '../graph';
import { ONES, ZEROS } from './init';
import { Module, type ForwardContext } from './module';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  /** Learnable γ (`weight`) and β (`bias`); false is torch's affine=False ("BN*"). */
  affine?: boolean;
}

/** Values per channel of a [N, C, ...] tensor, which must be static for the unbiased correction. */
function valuesPerChannel(x: Tensor, batch: number | string): number {
  const dims = [batch, ...x.shape.slice(2)];
  if (dims.some((d) => typeof d !== 'number')) {
    throw new GraphError(`${x.graph.where()}batch norm (training): input ${formatShape(x.shape)} needs a static batch size for the running-variance update`);
  }
  const count = (dims as number[]).reduce((a, d) => a * d, 1);
  if (count < 2) {
    // torch raises here too: the batch variance of one value is 0 and the unbiased one undefined.
    throw new GraphError(`${x.graph.where()}batch norm (training): input ${formatShape(x.shape)} has ${count} value per channel; training mode needs more than 1 (a larger batch)`);
  }
  return count;
}

abstract class BatchNormBase extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;

  constructor(readonly numFeatures: number, readonly statSize: number, opts: BatchNormOptions) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    this.affine = opts.affine ?? true;
    if (this.affine) {
      this.registerParameter('weight', [numFeatures], ONES, 'norm');
      this.registerParameter('bias', [numFeatures], ZEROS, 'norm');
    }
    this.registerBuffer('running_mean', [statSize], ZEROS);
    this.registerBuffer('running_var', [statSize], ONES);
  }

  /** γ and β, or constant 1 and 0 for affine=False (the eval op needs both). */
  protected affineParams(ctx: ForwardContext): [Tensor, Tensor] {
    if (this.affine) return [ctx.param('weight'), ctx.param('bias')];
    const c = this.numFeatures;
    return [ctx.graph.constant(new Float32Array(c).fill(1), [c]), ctx.graph.constant(new Float32Array(c), [c])];
  }

  protected updateRunningStats(ctx: ForwardContext, mean: Tensor, biasedVar: Tensor, count: number): void {
    const m = this.momentum;
    const unbiased = mul(stopGradient(biasedVar), count / (count - 1));
    ctx.setBuffer('running_mean', add(mul(ctx.buffer('running_mean'), 1 - m), mul(stopGradient(mean), m)));
    ctx.setBuffer('running_var', add(mul(ctx.buffer('running_var'), 1 - m), mul(unbiased, m)));
  }

  protected checkInput(x: Tensor, ranks: readonly number[], what: string): void {
    if (!ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      const layouts = ranks.map((r) => ({ 2: '[N, C]', 3: '[N, C, L]', 4: '[N, C, H, W]' })[r as 2 | 3 | 4]).join(' or ');
      throw new GraphError(`${x.graph.where()}${what}(${this.numFeatures}): input ${formatShape(x.shape)} must be ${layouts} with C = ${this.numFeatures}`);
    }
  }

  protected plainForward(ctx: ForwardContext, x: Tensor): Tensor {
    if (ctx.training) {
      const { y, mean, variance } = batchNormTrain(x, this.affine ? ctx.param('weight') : null, this.affine ? ctx.param('bias') : null, this.eps);
      this.updateRunningStats(ctx, mean, variance, valuesPerChannel(x, x.shape[0]));
      return y;
    }
    const [gamma, beta] = this.affineParams(ctx);
    return batchNormEval(x, gamma, beta, ctx.buffer('running_mean'), ctx.buffer('running_var'), this.eps);
  }
}

/** torch.nn.BatchNorm1d over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, numFeatures, opts);
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    this.checkInput(x, [2, 3], 'BatchNorm1d');
    return this.plainForward(ctx, x);
  }
}

/** torch.nn.BatchNorm2d over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, numFeatures, opts);
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    this.checkInput(x, [4], 'BatchNorm2d');
    return this.plainForward(ctx, x);
  }
}

/**
 * Lightly's SplitBatchNorm (MoCo on CIFAR, docs/methods.md §2.1): in training, sample n belongs to split
 * n mod k; each split is normalised with its own batch statistics and moves its own running
 * statistics, stored as torch does in `running_mean`/`running_var` of shape [C·k] (split s at
 * s·C…s·C+C−1); γ and β are shared. In eval mode the per-split running statistics are averaged
 * (torch averages them in place when switching to eval; the normalisation is the same).
 */
export class SplitBatchNorm extends BatchNormBase {
  constructor(numFeatures: number, readonly numSplits: number, opts: BatchNormOptions = {}) {
    super(numFeatures, numFeatures * numSplits, opts);
    if (!Number.isInteger(numSplits) || numSplits < 1) throw new RangeError(`SplitBatchNorm: numSplits must be a positive integer, got ${numSplits}`);
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    this.checkInput(x, [2, 3, 4], 'SplitBatchNorm');
    const k = this.numSplits;
    const c = this.numFeatures;
    if (!ctx.training) {
      const [gamma, beta] = this.affineParams(ctx);
      const avg = (t: Tensor) => reduceMean(reshape(t, [k, c]), [0]);
      return batchNormEval(x, gamma, beta, avg(ctx.buffer('running_mean')), avg(ctx.buffer('running_var')), this.eps);
    }
    const n = x.shape[0];
    if (typeof n !== 'number' || n % k !== 0) {
      throw new GraphError(`${x.graph.where()}SplitBatchNorm(${c}, splits ${k}): batch of input ${formatShape(x.shape)} must be static and divisible by ${k}`);
    }
    const rest = x.shape.slice(2);
    // [N, C, ...] viewed as [N/k, k·C, ...]: sample n lands in channel block n mod k.
    const grouped = reshape(x, [n / k, k * c, ...rest]);
    const tile = (t: Tensor) => reshape(expand(reshape(t, [1, c]), [k, c]), [k * c]);
    const { y, mean, variance } = batchNormTrain(grouped, this.affine ? tile(ctx.param('weight')) : null, this.affine ? tile(ctx.param('bias')) : null, this.eps);
    this.updateRunningStats(ctx, mean, variance, valuesPerChannel(grouped, n / k));
    return reshape(y, x.shape);
  }
}

export type NormFactory = (channels: number) => Module;

/** BatchNorm2d, or SplitBatchNorm with `splits` splits when splits > 1. */
export function batchNorm2dFactory(splits = 1): NormFactory {
  return splits > 1 ? (c) => new SplitBatchNorm(c, splits) : (c) => new BatchNorm2d(c);
}
