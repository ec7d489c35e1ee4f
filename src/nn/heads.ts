/**
 * Projection / prediction heads by Lightly's head builder rule (docs/methods.md §4.0): a head is a list
 * of blocks (in → out, norm?, activation?); each block is Linear → norm → activation, and the
 * Linear has a bias iff the block has no norm (unless `bias` says otherwise).
 *
 * Naming: like lightly's ProjectionHead, the layers live in one nn.Sequential called `layers`,
 * indexed by a running counter over every Linear, norm and activation, so SimCLRProjectionHead
 * (Lin–BN–ReLU–Lin–BN) has `layers.0.weight` (Linear), `layers.1.weight|bias|running_mean|running_var`
 * (BatchNorm1d), `layers.3.weight` (Linear; the ReLU at 2 has no parameters), `layers.4.*` (BN).
 * A method that stores the head as `projection_head` prefixes these: `projection_head.layers.0.weight`.
 */
import type { Tensor } from '../graph';
import { activation, type Activation } from './activation';
import { BatchNorm1d } from './batchnorm';
import { LayerNorm } from './layernorm';
import { Linear, type LinearInit } from './linear';
import { Module, type ForwardContext } from './module';
import { Sequential } from './sequential';

/** 'batch': BatchNorm1d; 'batch-no-affine': BatchNorm1d(affine=False) ("BN*"); 'layer': LayerNorm (eps 1e-5). */
export type HeadNorm = 'batch' | 'batch-no-affine' | 'layer';

export interface HeadBlock {
  in: number;
  out: number;
  norm?: HeadNorm | null;
  act?: Activation | null;
  /** Overrides the rule "bias iff no norm". */
  bias?: boolean;
}

export class ProjectionHead extends Module {
  readonly inDim: number;
  readonly outDim: number;

  constructor(readonly blocks: readonly HeadBlock[], opts: { linearInit?: LinearInit } = {}) {
    super();
    if (blocks.length === 0) throw new RangeError('ProjectionHead needs at least one block');
    const layers: Module[] = [];
    blocks.forEach((b, i) => {
      if (i > 0 && blocks[i - 1].out !== b.in) throw new RangeError(`ProjectionHead: block ${i} takes ${b.in} features but block ${i - 1} gives ${blocks[i - 1].out}`);
      layers.push(new Linear(b.in, b.out, { bias: b.bias ?? !b.norm, init: opts.linearInit }));
      if (b.norm === 'batch') layers.push(new BatchNorm1d(b.out));
      else if (b.norm === 'batch-no-affine') layers.push(new BatchNorm1d(b.out, { affine: false }));
      else if (b.norm === 'layer') layers.push(new LayerNorm(b.out));
      if (b.act) layers.push(activation(b.act));
    });
    this.addModule('layers', new Sequential(layers));
    this.inDim = blocks[0].in;
    this.outDim = blocks[blocks.length - 1].out;
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.call(ctx, 'layers', x);
  }
}

export function projectionHead(blocks: readonly HeadBlock[], opts: { linearInit?: LinearInit } = {}): ProjectionHead {
  return new ProjectionHead(blocks, opts);
}

/** in → hidden (BN, act) × (layers − 1 hidden blocks, the first from `input`) → output (lastNorm). */
function mlp(input: number, hidden: number, output: number, layers: number, norm: HeadNorm | null, lastNorm: HeadNorm | null, act: Activation = 'relu'): ProjectionHead {
  if (!Number.isInteger(layers) || layers < 2) throw new RangeError(`projection head needs at least 2 layers, got ${layers}`);
  const blocks: HeadBlock[] = [{ in: input, out: hidden, norm, act }];
  for (let i = 2; i < layers; i++) blocks.push({ in: hidden, out: hidden, norm, act });
  blocks.push({ in: hidden, out: output, norm: lastNorm, act: null });
  return new ProjectionHead(blocks);
}

/** Lin(in→h, nb)–BN–ReLU–Lin(h→out, nb)–BN(out); batchNorm false gives biased Linears and no BN. */
export const simclrProjectionHead = (input = 2048, hidden = 2048, output = 128, layers = 2, batchNorm = true) =>
  mlp(input, hidden, output, layers, batchNorm ? 'batch' : null, batchNorm ? 'batch' : null);
/** SimCLR's layout with BN off by default: Lin(in→h)–ReLU–Lin(h→out). */
export const mocoProjectionHead = (input = 2048, hidden = 2048, output = 128, layers = 2, batchNorm = false) =>
  simclrProjectionHead(input, hidden, output, layers, batchNorm);
/** Lin(in→h, nb)–BN–ReLU–Lin(h→out). */
export const byolProjectionHead = (input = 2048, hidden = 4096, output = 256) => mlp(input, hidden, output, 2, 'batch', null);
export const byolPredictionHead = (input = 256, hidden = 4096, output = 256) => mlp(input, hidden, output, 2, 'batch', null);
export const ticoProjectionHead = (input = 2048, hidden = 4096, output = 256) => mlp(input, hidden, output, 2, 'batch', null);
export const swavProjectionHead = (input = 2048, hidden = 2048, output = 128) => mlp(input, hidden, output, 2, 'batch', null);
export const nnclrPredictionHead = (input = 256, hidden = 4096, output = 256) => mlp(input, hidden, output, 2, 'batch', null);
export const simsiamPredictionHead = (input = 2048, hidden = 512, output = 2048) => mlp(input, hidden, output, 2, 'batch', null);
export const smogPredictionHead = (input = 128, hidden = 2048, output = 128) => mlp(input, hidden, output, 2, 'batch', null);
/** Lin(in→h, nb)–BN–ReLU–Lin(h→h, nb)–BN–ReLU–Lin(h→out). */
export const barlowTwinsProjectionHead = (input = 2048, hidden = 8192, output = 8192) => mlp(input, hidden, output, 3, 'batch', null);
/** BarlowTwins' layout with `layers` Linears (2: Lin(in→h, nb)–BN–ReLU–Lin(h→out)). */
export const vicregProjectionHead = (input = 2048, hidden = 8192, output = 8192, layers = 3) => mlp(input, hidden, output, layers, 'batch', null);
/** Lin(in→h, nb)–BN–ReLU–Lin(h→h, nb)–BN–ReLU–Lin(h→out, nb)–BN(out). */
export const nnclrProjectionHead = (input = 2048, hidden = 2048, output = 256) => mlp(input, hidden, output, 3, 'batch', 'batch');
/** Lin(in→h, nb)–BN–ReLU–Lin(h→h, nb)–BN–ReLU–Lin(h→out, nb)–BN*(out). */
export const simsiamProjectionHead = (input = 2048, hidden = 2048, output = 2048) => mlp(input, hidden, output, 3, 'batch', 'batch-no-affine');
/** Lin(in→h, nb)–BN–ReLU–Lin(h→out, nb)–BN*(out). */
export const smogProjectionHead = (input = 2048, hidden = 2048, output = 128) => mlp(input, hidden, output, 2, 'batch', 'batch-no-affine');
/** Lin(in→h, nb)–BN–GELU–Lin(h→h, nb)–BN–GELU–Lin(h→out). */
export const msnProjectionHead = (input = 768, hidden = 2048, output = 256) => mlp(input, hidden, output, 3, 'batch', null, 'gelu');
/** Lin(in→h, nb)–LN–ReLU–Lin(h→h, nb)–LN–ReLU–Lin(h→out). */
export const vicreglLocalProjectionHead = (input = 2048, hidden = 8192, output = 8192) => mlp(input, hidden, output, 3, 'layer', null);
