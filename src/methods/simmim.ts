/**
 * SimMIM (Xie et al. 2022, "SimMIM: a Simple Framework for Masked Image Modeling",
 * arXiv:2111.09886) as Lightly's Imagenette benchmark runs it (docs/methods.md §4.13;
 * imagenette_benchmark.py SimMIMModel):
 *
 *   keep, mask = random_token_mask(B, 1 + L, ratio 0.75)     drawn in TypeScript (sampleInputs)
 *   tokens[mask] = mask_token (zeros at init), then + position embedding; *all* tokens are encoded
 *   x̂ = decoder(ViT(x)[mask])                                decoder = Linear(D → patch²·C), torch default init
 *   L = L1(x̂, patchify(x)[mask − 1])                         normalised-image patches
 *
 * Imagenette: ViT-B/32 at 224 px. The script builds SimCLRTransform(224) (two views) and trains on
 * the first view only; so does this method: it consumes every view its preset makes and encodes
 * view 0 (the graph computes nothing for the others). kNN uses the backbone's class token on
 * unmasked images.
 */
import { METHOD_PARAMS } from '../config/method-params';
import type { Tensor } from '../graph';
import { presetFromConfig } from '../augment/presets';
import { maskedPatchTargets } from '../losses/mae';
import { simmimPixelLoss } from '../losses/simmim';
import { Linear } from '../nn/linear';
import { Module, type ForwardContext } from '../nn/module';
import { gatherTokens } from '../nn/backbones/vit';
import { numberParam, type Method } from './method';
import { randomTokenMask, tokensKept } from './token-mask';
import { patchesOf, vitOf } from './vit-backbone';

/** SimMIM's learnable mask token [1, 1, D] (zeros at init) and its linear decoder, under one prefix. */
export class SimmimHead extends Module {
  constructor(dim: number, outputDim: number) {
    super();
    this.registerParameter('mask_token', [1, 1, dim], { type: 'constant', value: 0 }, 'weight');
    this.addModule('decoder', new Linear(dim, outputDim));
  }

  /** The decoder on tokens [B, M, D] → [B, M, outputDim]. */
  forward(ctx: ForwardContext, tokens: Tensor): Tensor {
    return this.call(ctx, 'decoder', tokens);
  }
}

export const simmim: Method = {
  id: 'simmim',
  label: 'SimMIM',
  description: 'SimMIM: masked image modelling with a linear pixel decoder and L1 loss (Xie et al., 2022)',
  section: '§4.13',
  params: METHOD_PARAMS.simmim,
  defaultPreset: 'simclr',
  create({ backbone, params, config, batchSize }) {
    const vit = vitOf('simmim', backbone);
    const sequence = 1 + patchesOf('simmim', vit, config.augmentation.input_size, 'augmentation.input_size');
    const ratio = numberParam(params, 'mask_ratio');
    const numMask = sequence - tokensKept(sequence, ratio);
    const { patchSize, inChannels } = vit.config;
    const head = new SimmimHead(vit.featureDim, patchSize * patchSize * inChannels);
    return {
      views: presetFromConfig(config).views.length,
      networks: [
        { prefix: 'backbone', module: vit, role: 'trained' },
        { prefix: 'simmim', module: head, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      sampleInputs(rng, b) {
        const m = randomTokenMask(rng, b, sequence, ratio);
        return { 'simmim.mask': { dtype: 'int64', data: m.mask, dims: [b, m.numMask] } };
      },
      buildLoss(step, [images]) {
        const mask = step.input('simmim.mask', [batchSize, numMask], 'int64');
        const h = step.forward(head, { prefix: 'simmim' });
        const encoded = vit.forwardTokens(step.forward(vit, { prefix: 'backbone' }), images, { maskIndices: mask, maskToken: h.param('mask_token') }).tokens;
        const prediction = head.forward(h, gatherTokens(encoded, mask));
        return { loss: simmimPixelLoss(prediction, maskedPatchTargets(images, patchSize, mask)) };
      },
    };
  },
};
