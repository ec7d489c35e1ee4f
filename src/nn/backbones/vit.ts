/**
 * Vision Transformer with timm's parameter names (docs/methods.md §2.3): `cls_token` [1,1,D],
 * `pos_embed` [1,1+L,D], `patch_embed.proj.{weight,bias}`, `blocks.i.norm1`, `blocks.i.attn.qkv`,
 * `blocks.i.attn.proj`, `blocks.i.norm2`, `blocks.i.mlp.fc1`, `blocks.i.mlp.fc2`, `norm`.
 * Pre-norm blocks (LN eps 1e-6, qkv bias, exact GELU MLP), final LN; the feature is the class
 * token after the final LN.
 *
 * Position embedding 'sincos' (Lightly at HEAD): the fixed 2-D sin-cos table, declared as the
 * *buffer* `pos_embed` (never trained); 'learned': a parameter, trunc_normal(0.02).
 * Init 'lightly' (MaskedVisionTransformerTIMM at HEAD): patch projection xavier_uniform on the
 * flattened weight, class token N(0, 0.02), Linears xavier_uniform with zero bias, LN 1/0.
 * Init 'timm': class token N(0, 1e-6), Linears trunc_normal(0.02) with zero bias, patch projection
 * nn.Conv2d's default.
 *
 * Input size: the table is stored for `imageSize`; an image of another size (any multiple of the
 * patch size: multi-crop local views, MSN's focal views, a 128-px evaluation of a 224-px model)
 * gets the table resampled to its grid with antialiased bicubic interpolation, class-token row
 * kept (timm's resample_abs_pos_embed with dynamic_img_size, Lightly's
 * MaskedVisionTransformerTorchvision.interpolate_pos_encoding; nn/resample-position-embedding.ts).
 * Both references resample the stored sin-cos table rather than recomputing it for the new grid.
 */
import {
  GraphError, add, concat, expandAs, fill, formatShape, gatherElements, mul, multiHeadSelfAttention, reshape, scatterElementsAdd,
  slice, stopGradient, sub, transpose, unsqueeze, cast, type Tensor,
} from '../../graph';
import { GELU } from '../activation';
import { Conv2d } from '../conv';
import { TRUNC_NORMAL_002 } from '../init';
import { LayerNorm } from '../layernorm';
import { Linear, type LinearInit } from '../linear';
import { Module, type ForwardContext } from '../module';
import { resamplePositionEmbedding } from '../resample-position-embedding';
import { Sequential } from '../sequential';

export type VitInit = 'lightly' | 'timm';
export type PositionEmbedding = 'sincos' | 'learned';

export interface VitConfig {
  patchSize: number;
  embedDim: number;
  depth: number;
  heads: number;
  mlpRatio?: number;
  imageSize: number;
  inChannels?: number;
  posEmbed?: PositionEmbedding;
  init?: VitInit;
  /** LayerNorm eps (1e-6 in timm/torchvision ViTs). */
  eps?: number;
}

class PatchEmbed extends Module {
  constructor(inChannels: number, dim: number, readonly patchSize: number, init: VitInit) {
    super();
    this.addModule('proj', new Conv2d(inChannels, dim, patchSize, { stride: patchSize, init: init === 'lightly' ? 'xavier-flat' : 'torch' }));
  }

  /** [B, C, H, W] → [B, L, D], patches in row-major order. */
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const y = this.call(ctx, 'proj', x);
    const [b, d, h, w] = y.shape;
    return transpose(reshape(y, [b, d, (h as number) * (w as number)]), [0, 2, 1]);
  }
}

class Attention extends Module {
  constructor(dim: number, readonly heads: number, init: LinearInit) {
    super();
    this.addModule('qkv', new Linear(dim, 3 * dim, { init }));
    this.addModule('proj', new Linear(dim, dim, { init }));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return multiHeadSelfAttention(x, {
      qkvWeight: ctx.param('qkv.weight'), qkvBias: ctx.param('qkv.bias'), projWeight: ctx.param('proj.weight'), projBias: ctx.param('proj.bias'),
    }, this.heads);
  }
}

class Mlp extends Module {
  constructor(dim: number, hidden: number, init: LinearInit) {
    super();
    this.addModule('fc1', new Linear(dim, hidden, { init }));
    this.addModule('act', new GELU());
    this.addModule('fc2', new Linear(hidden, dim, { init }));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.call(ctx, 'fc2', this.call(ctx, 'act', this.call(ctx, 'fc1', x)));
  }
}

/**
 * timm's pre-norm transformer Block (norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2), also
 * the building block of an MAE decoder.
 */
export class TransformerBlock extends Module {
  constructor(dim: number, heads: number, mlpHidden: number, eps = 1e-6, init: LinearInit = 'xavier') {
    super();
    this.addModule('norm1', new LayerNorm(dim, eps));
    this.addModule('attn', new Attention(dim, heads, init));
    this.addModule('norm2', new LayerNorm(dim, eps));
    this.addModule('mlp', new Mlp(dim, mlpHidden, init));
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const h = add(x, this.call(ctx, 'attn', this.call(ctx, 'norm1', x)));
    return add(h, this.call(ctx, 'mlp', this.call(ctx, 'norm2', h)));
  }
}

export interface VitTokenOptions {
  /**
   * int64 [B, K]: positions to keep (sequence indices with the class token at 0, as Lightly's
   * random_token_mask returns them); tokens are gathered after the position embedding (MAE, MSN).
   */
  keepIndices?: Tensor;
  /**
   * int64 [B, M]: positions replaced by `maskToken` before the position embedding is added
   * (SimMIM); indices with the class token at 0.
   */
  maskIndices?: Tensor;
  /** [1, 1, D], the method's learnable mask token (needed with maskIndices). */
  maskToken?: Tensor;
}

export interface VitTokens {
  /** All tokens after the final LN, [B, T, D] (T = 1 + L, or K with keepIndices). */
  tokens: Tensor;
  /** [B, D]: the class token after the final LN (the evaluation feature). */
  classToken: Tensor;
  /** [B, T − 1, D]: the other tokens after the final LN. */
  patchTokens: Tensor;
}

export class VisionTransformer extends Module {
  readonly featureDim: number;
  readonly numPatches: number;
  readonly gridSize: number;
  readonly config: Required<VitConfig>;

  constructor(cfg: VitConfig) {
    super();
    const config: Required<VitConfig> = { mlpRatio: 4, inChannels: 3, posEmbed: 'sincos', init: 'lightly', eps: 1e-6, ...cfg };
    this.config = config;
    const { embedDim: dim, patchSize, imageSize } = config;
    if (imageSize % patchSize !== 0) throw new RangeError(`ViT: image size ${imageSize} is not a multiple of the patch size ${patchSize}`);
    if (dim % config.heads !== 0) throw new RangeError(`ViT: embed dim ${dim} is not divisible by ${config.heads} heads`);
    this.gridSize = imageSize / patchSize;
    this.numPatches = this.gridSize * this.gridSize;
    const linearInit: LinearInit = config.init === 'lightly' ? 'xavier' : 'trunc-normal';
    this.registerParameter('cls_token', [1, 1, dim], { type: 'normal', std: config.init === 'lightly' ? 0.02 : 1e-6 }, 'weight');
    const posShape = [1, 1 + this.numPatches, dim];
    if (config.posEmbed === 'learned') this.registerParameter('pos_embed', posShape, TRUNC_NORMAL_002, 'weight');
    else this.registerBuffer('pos_embed', posShape, { type: 'sincos2d', gridH: this.gridSize, gridW: this.gridSize, dim, prefixTokens: 1 });
    this.addModule('patch_embed', new PatchEmbed(config.inChannels, dim, patchSize, config.init));
    const hidden = Math.round(dim * config.mlpRatio);
    this.addModule('blocks', new Sequential(Array.from({ length: config.depth }, () => new TransformerBlock(dim, config.heads, hidden, config.eps, linearInit))));
    this.addModule('norm', new LayerNorm(dim, config.eps));
    this.featureDim = dim;
  }

  /** Token grid (rows, columns) of an image of `height` × `width` pixels; throws unless both are multiples of the patch. */
  gridOf(height: number, width: number): [number, number] {
    const p = this.config.patchSize;
    if (!(height % p === 0 && width % p === 0 && height >= p && width >= p)) {
      throw new RangeError(`ViT: image ${height}x${width} is not a multiple of the patch size ${p}`);
    }
    return [height / p, width / p];
  }

  /** The position table for `grid` ([1, 1 + rows·cols, D]): the stored one, resampled if the grid differs. */
  positionEmbedding(ctx: ForwardContext, grid: readonly [number, number]): Tensor {
    const table = this.config.posEmbed === 'learned' ? ctx.param('pos_embed') : ctx.buffer('pos_embed');
    return resamplePositionEmbedding(table, [this.gridSize, this.gridSize], grid, 1);
  }

  forwardTokens(ctx: ForwardContext, images: Tensor, opts: VitTokenOptions = {}): VitTokens {
    const { patchSize, inChannels } = this.config;
    const [, c, h, w] = images.shape;
    if (images.rank !== 4 || c !== inChannels || typeof h !== 'number' || typeof w !== 'number' || h % patchSize !== 0 || w % patchSize !== 0 || h < patchSize || w < patchSize) {
      throw new GraphError(`${images.graph.where()}ViT: images ${formatShape(images.shape)} must be [N, ${inChannels}, H, W] with H and W multiples of the patch size ${patchSize}`);
    }
    const patches = this.call(ctx, 'patch_embed', images);
    const cls = expandAs(ctx.param('cls_token'), slice(patches, [0], [1], [1]));
    let tokens = concat([cls, patches], 1);
    if (opts.maskIndices) {
      if (!opts.maskToken) throw new GraphError(`${images.graph.where()}ViT: maskIndices need a maskToken`);
      tokens = replaceTokensAt(tokens, opts.maskIndices, opts.maskToken);
    }
    tokens = add(tokens, this.positionEmbedding(ctx, this.gridOf(h, w)));
    if (opts.keepIndices) tokens = gatherTokens(tokens, opts.keepIndices);
    tokens = this.call(ctx, 'norm', this.call(ctx, 'blocks', tokens));
    const [b, t, d] = tokens.shape;
    return {
      tokens,
      classToken: reshape(slice(tokens, [0], [1], [1]), [b, d]),
      patchTokens: slice(tokens, [1], [t as number], [1]),
    };
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.forwardTokens(ctx, x).classToken;
  }
}

/** Index tensor [B, K] broadcast over the feature axis: [B, K, D]. */
function broadcastIndices(indices: Tensor, dim: number): Tensor {
  if (indices.rank !== 2 || (indices.dtype !== 'int64' && indices.dtype !== 'int32')) {
    throw new GraphError(`${indices.graph.where()}ViT: token indices ${indices.dtype}${formatShape(indices.shape)} must be int64 [B, K]`);
  }
  const idx = cast(unsqueeze(indices, -1), 'int64');
  return add(idx, indices.graph.constant(new BigInt64Array(dim), [1, 1, dim], 'int64'));
}

/** tokens[b, indices[b, k], :] → [B, K, D] (lightly's get_at_index). */
export function gatherTokens(tokens: Tensor, indices: Tensor): Tensor {
  return gatherElements(tokens, broadcastIndices(indices, tokens.shape[2] as number), 1);
}

/**
 * A zero sequence [B, length, D] with `values[b, k]` written at `indices[b, k]` (lightly's
 * set_at_index on new_zeros; indices distinct per row). Gradients reach `values`.
 */
export function scatterTokens(values: Tensor, indices: Tensor, length: number): Tensor {
  const d = values.shape[2];
  if (values.rank !== 3 || typeof d !== 'number') throw new GraphError(`${values.graph.where()}scatterTokens: values ${formatShape(values.shape)} must be [B, K, D]`);
  const zeros = expandAs(values.graph.constant(new Float32Array(length), [1, length, 1]), slice(values, [0], [1], [1]));
  return scatterElementsAdd(zeros, broadcastIndices(indices, d), values, 1);
}

/** Tokens at `indices` replaced by `maskToken` (lightly's mask_at_index): (1 − m)·x + m·token. */
export function replaceTokensAt(tokens: Tensor, indices: Tensor, maskToken: Tensor): Tensor {
  const column = slice(tokens, [0], [1], [2]);
  const idx = cast(unsqueeze(indices, -1), 'int64');
  const mask = stopGradient(scatterElementsAdd(fill(column, 0), idx, fill(cast(idx, tokens.dtype), 1), 1));
  return add(mul(tokens, sub(1, mask)), mul(mask, maskToken));
}

/**
 * lightly's utils.patchify: [N, C, H, W] → [N, (H/p)·(W/p), p·p·C], patches in row-major order,
 * each flattened in (row in patch, column in patch, channel) order.
 */
export function patchify(images: Tensor, patchSize: number): Tensor {
  const [n, c, h, w] = images.shape;
  if (images.rank !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number' || h % patchSize !== 0 || w % patchSize !== 0) {
    throw new GraphError(`${images.graph.where()}patchify: images ${formatShape(images.shape)} must be [N, C, H, W] with H and W multiples of ${patchSize}`);
  }
  const gh = h / patchSize;
  const gw = w / patchSize;
  const blocks = reshape(images, [n, c, gh, patchSize, gw, patchSize]);
  return reshape(transpose(blocks, [0, 2, 4, 3, 5, 1]), [n, gh * gw, patchSize * patchSize * c]);
}
