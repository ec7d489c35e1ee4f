/**
 * Backbone registry: `createBackbone(id, options)` → { module, featureDim }.
 *
 * width: channel multiplier for CPU-sized runs. ResNets use base = max(1, round(64·width))
 * channels in the first stage and base·2^i after it (so resnet18-cifar at width w matches
 * scripts/torch_reference.py's ResNet18Cifar(base)). ViTs keep the head dim (64) and scale the
 * number of heads: heads = max(1, round(heads·width)), embed dim = 64·heads. `pixels` (the raw-pixel
 * floor) ignores width and split BN: its feature is the image flattened, inChannels·imageSize² values.
 */
import { UserError } from '../../errors';
import type { Module } from '../module';
import { ResNet } from './resnet';
import { Pixels } from './pixels';
import { ResNet18Cifar } from './resnet-cifar';
import { VisionTransformer, type PositionEmbedding, type VitInit } from './vit';

export const BACKBONE_IDS = ['resnet18-cifar', 'resnet18', 'resnet50', 'vit-s16', 'vit-b16', 'vit-b32', 'pixels'] as const;
export type BackboneId = (typeof BACKBONE_IDS)[number];

export interface BackboneOptions {
  width?: number;
  /** Input side in pixels (ViT: fixes the token grid; pixels: fixes C·H·W; default 32 for resnet18-cifar, else 224). */
  imageSize?: number;
  inChannels?: number;
  /** SplitBatchNorm splits in every BN (ResNets only; 1 or absent: plain BN). */
  splitBn?: number;
  /** ViT only. Default 'sincos' (Lightly at HEAD). */
  posEmbed?: PositionEmbedding;
  /** ViT only. Default 'lightly'. */
  init?: VitInit;
  /** ViT only: number of blocks (default 12), for small test models. */
  depth?: number;
  /** ViT only: patch size in pixels (default the id's: 16 or 32), for small images. */
  patchSize?: number;
}

export interface Backbone {
  id: BackboneId;
  /** Forward returns the [N, featureDim] feature: pooled map (ResNet), class token after the final LN (ViT), the flattened image (pixels). */
  module: Module;
  featureDim: number;
}

const VIT: Record<'vit-s16' | 'vit-b16' | 'vit-b32', { heads: number; patch: number }> = {
  'vit-s16': { heads: 6, patch: 16 },
  'vit-b16': { heads: 12, patch: 16 },
  'vit-b32': { heads: 12, patch: 32 },
};
const VIT_HEAD_DIM = 64;
const VIT_DEPTH = 12;

export function isBackboneId(id: string): id is BackboneId {
  return (BACKBONE_IDS as readonly string[]).includes(id);
}

export function createBackbone(id: string, opts: BackboneOptions = {}): Backbone {
  if (!isBackboneId(id)) throw new UserError(`backbone '${id}' is unknown; allowed: ${BACKBONE_IDS.join(', ')}`);
  const width = opts.width ?? 1;
  if (!(Number.isFinite(width) && width > 0)) throw new UserError(`backbone '${id}': width ${width} must be a number > 0`);
  const inChannels = opts.inChannels ?? 3;
  if (!(Number.isInteger(inChannels) && inChannels >= 1)) throw new UserError(`backbone '${id}': inChannels ${inChannels} must be an integer >= 1`);
  const splitBn = opts.splitBn ?? 1;
  if (!(Number.isInteger(splitBn) && splitBn >= 1)) throw new UserError(`backbone '${id}': splitBn ${splitBn} must be an integer >= 1`);
  if (id === 'pixels') {
    const imageSize = opts.imageSize ?? 32;
    if (!(Number.isInteger(imageSize) && imageSize >= 1)) throw new UserError(`backbone 'pixels': imageSize ${imageSize} must be an integer >= 1`);
    const module = new Pixels({ inChannels, imageSize });
    return { id, module, featureDim: module.featureDim };
  }
  const base = Math.max(1, Math.round(64 * width));
  if (id === 'resnet18-cifar') {
    const module = new ResNet18Cifar({ baseWidth: base, inChannels, splitBn });
    return { id, module, featureDim: module.featureDim };
  }
  if (id === 'resnet18' || id === 'resnet50') {
    const module = new ResNet({ block: id === 'resnet18' ? 'basic' : 'bottleneck', layers: id === 'resnet18' ? [2, 2, 2, 2] : [3, 4, 6, 3], baseWidth: base, inChannels, splitBn });
    return { id, module, featureDim: module.featureDim };
  }
  if (splitBn > 1) throw new UserError(`backbone '${id}': splitBn applies to ResNets only (a ViT has no batch norm); use 1`);
  const { heads: fullHeads, patch: defaultPatch } = VIT[id];
  const patch = opts.patchSize ?? defaultPatch;
  if (!(Number.isInteger(patch) && patch >= 1)) throw new UserError(`backbone '${id}': patch_size ${patch} must be an integer >= 1`);
  const heads = Math.max(1, Math.round(fullHeads * width));
  const imageSize = opts.imageSize ?? 224;
  if (!(Number.isInteger(imageSize) && imageSize >= patch && imageSize % patch === 0)) {
    throw new UserError(`backbone '${id}': image size ${imageSize} (augmentation.input_size) must be a positive multiple of the patch size ${patch} (backbone.patch_size)`);
  }
  const depth = opts.depth ?? VIT_DEPTH;
  if (!(Number.isInteger(depth) && depth >= 1)) throw new UserError(`backbone '${id}': depth ${depth} must be an integer >= 1`);
  const module = new VisionTransformer({
    patchSize: patch, embedDim: heads * VIT_HEAD_DIM, depth, heads, imageSize, inChannels, posEmbed: opts.posEmbed, init: opts.init,
  });
  return { id, module, featureDim: module.featureDim };
}
