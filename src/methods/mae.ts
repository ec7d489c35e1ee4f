/**
 * MAE (He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners", arXiv:2111.06377) as
 * the Lightly benchmarks run it (docs/methods.md §4.7; imagenette_benchmark.py MAEModel,
 * benchmarks/imagenet/vitb16/mae.py):
 *
 *   keep, mask = random_token_mask(B, 1 + L, ratio 0.75)     drawn in TypeScript (sampleInputs)
 *   h = ViT(x; tokens at keep only)                           position embedding added before the gather
 *   s = zeros[B, 1 + L, 512];  s[keep] = decoder_embed(h)     Linear(D → 512)
 *   s[mask] = mask_token;  s += fixed 2-D sin-cos table      mask token N(0, 0.02)
 *   x̂ = prediction_head(norm(blocks(s)))[mask]              Transformer blocks (512, 16 heads, MLP 4×), LN 1e-6
 *   L = MSE(x̂, patchify(x)[mask − 1])                        normalised-image patches, no norm_pix
 *
 * Imagenette: ViT-B/32 at 224 px, decoder depth 1; ImageNet1k: ViT-B/16, depth 8. The decoder's
 * Linears are Xavier-initialised with zero bias (lightly's init_weights). kNN uses the backbone's
 * class token on unmasked images.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { GraphError, add, type Tensor } from '../graph';
import { UserError } from '../errors';
import { maePixelLoss, maskedPatchTargets } from '../losses/mae';
import { LayerNorm } from '../nn/layernorm';
import { Linear } from '../nn/linear';
import { Module, type ForwardContext } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { TransformerBlock, gatherTokens, replaceTokensAt, scatterTokens } from '../nn/backbones/vit';
import { numberParam, type Method } from './method';
import { randomTokenMask, tokensKept } from './token-mask';
import { patchesOf, vitOf } from './vit-backbone';

export interface MaeDecoderConfig {
  encoderDim: number;
  dim: number;
  depth: number;
  heads: number;
  /** Token grid of the training images (rows = columns). */
  grid: number;
  /** Values predicted per patch: patch² · channels. */
  outputDim: number;
}

/**
 * decoder_embed, the decoder (mask token, fixed sin-cos table, blocks, norm) and the prediction
 * head of lightly's MAE, under one prefix.
 */
export class MaeDecoder extends Module {
  readonly sequenceLength: number;

  constructor(readonly cfg: MaeDecoderConfig) {
    super();
    this.sequenceLength = 1 + cfg.grid * cfg.grid;
    this.addModule('decoder_embed', new Linear(cfg.encoderDim, cfg.dim, { init: 'xavier' }));
    this.registerParameter('mask_token', [1, 1, cfg.dim], { type: 'normal', std: 0.02 }, 'weight');
    this.registerBuffer('pos_embed', [1, this.sequenceLength, cfg.dim], { type: 'sincos2d', gridH: cfg.grid, gridW: cfg.grid, dim: cfg.dim, prefixTokens: 1 });
    this.addModule('blocks', new Sequential(Array.from({ length: cfg.depth }, () => new TransformerBlock(cfg.dim, cfg.heads, 4 * cfg.dim, 1e-6, 'xavier'))));
    this.addModule('norm', new LayerNorm(cfg.dim, 1e-6));
    this.addModule('prediction_head', new Linear(cfg.dim, cfg.outputDim, { init: 'xavier' }));
  }

  /** Decoder blocks and norm over a full [B, 1 + L, dim] sequence that already carries the mask tokens and positions. */
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    return this.call(ctx, 'norm', this.call(ctx, 'blocks', x));
  }

  /** Predicted patches [B, M, outputDim] at `mask` from the encoded kept tokens [B, K, encoderDim]. */
  reconstruct(ctx: ForwardContext, encoded: Tensor, keep: Tensor, mask: Tensor): Tensor {
    if (encoded.shape[1] !== keep.shape[1]) throw new GraphError(`${encoded.graph.where()}MAE decoder: ${String(encoded.shape[1])} encoded tokens for ${String(keep.shape[1])} kept indices`);
    const embedded = this.call(ctx, 'decoder_embed', encoded);
    const sequence = replaceTokensAt(scatterTokens(embedded, keep, this.sequenceLength), mask, ctx.param('mask_token'));
    const decoded = this.forward(ctx, add(sequence, ctx.buffer('pos_embed')));
    return this.call(ctx, 'prediction_head', gatherTokens(decoded, mask));
  }
}

export const mae: Method = {
  id: 'mae',
  label: 'MAE',
  description: 'Masked Autoencoders: reconstruct 75% masked ViT patches (He et al., 2022)',
  section: '§4.7',
  params: METHOD_PARAMS.mae,
  defaultPreset: 'mae',
  create({ backbone, params, config, batchSize }) {
    const vit = vitOf('mae', backbone);
    const size = config.augmentation.input_size;
    const patches = patchesOf('mae', vit, size, 'augmentation.input_size');
    const sequence = 1 + patches;
    const ratio = numberParam(params, 'mask_ratio');
    const { patchSize, inChannels } = vit.config;
    const decoder = new MaeDecoder({
      encoderDim: vit.featureDim,
      dim: numberParam(params, 'decoder_dim'),
      depth: numberParam(params, 'decoder_depth'),
      heads: numberParam(params, 'decoder_heads'),
      grid: Math.sqrt(patches),
      outputDim: patchSize * patchSize * inChannels,
    });
    if (decoder.cfg.dim % decoder.cfg.heads !== 0) {
      throw new UserError(`method.params: decoder_dim ${decoder.cfg.dim} is not divisible by decoder_heads ${decoder.cfg.heads}`);
    }
    const numKeep = tokensKept(sequence, ratio);
    return {
      views: 1,
      networks: [
        { prefix: 'backbone', module: vit, role: 'trained' },
        { prefix: 'decoder', module: decoder, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      sampleInputs(rng, b) {
        const m = randomTokenMask(rng, b, sequence, ratio);
        return {
          'mae.keep': { dtype: 'int64', data: m.keep, dims: [b, m.numKeep] },
          'mae.mask': { dtype: 'int64', data: m.mask, dims: [b, m.numMask] },
        };
      },
      buildLoss(step, [images]) {
        const keep = step.input('mae.keep', [batchSize, numKeep], 'int64');
        const mask = step.input('mae.mask', [batchSize, sequence - numKeep], 'int64');
        const encoded = vit.forwardTokens(step.forward(vit, { prefix: 'backbone' }), images, { keepIndices: keep }).tokens;
        const prediction = decoder.reconstruct(step.forward(decoder, { prefix: 'decoder' }), encoded, keep, mask);
        return { loss: maePixelLoss(prediction, maskedPatchTargets(images, patchSize, mask)) };
      },
    };
  },
};
