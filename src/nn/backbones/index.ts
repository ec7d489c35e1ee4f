/**
 * Backbone registry: one spec per id in BACKBONE_SPECS (table label, description, feature size,
 * constructor; src/registry.ts lists them for the config schema and `ssl-bench list`), and
 * `createBackbone(id, options)` → { module, featureDim }. A new backbone is one entry there.
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

const VIT_HEAD_DIM = 64;
const VIT_DEPTH = 12;

/** createBackbone's options after the checks every backbone shares. */
interface CheckedOptions extends BackboneOptions {
  width: number;
  inChannels: number;
  splitBn: number;
}

/**
 * A backbone a config can name: its catalogue entry (label, description, feature size; listed by
 * `ssl-bench list`, offered by the config schema through src/registry.ts) and its constructor.
 */
export interface BackboneSpec {
  /** Backbone name as printed in the published tables. */
  readonly label: string;
  readonly description: string;
  /** Size of the feature vector the evaluations use at width 1; null where it follows the input (pixels: C·H·W). */
  readonly featureDim: number | null;
  build(id: string, opts: CheckedOptions): Module & { featureDim: number };
}

function resnetSpec(label: string, description: string, featureDim: number, block: 'basic' | 'bottleneck', layers: readonly [number, number, number, number]): BackboneSpec {
  return {
    label, description, featureDim,
    build: (_id, o) => new ResNet({ block, layers, baseWidth: baseWidth(o.width), inChannels: o.inChannels, splitBn: o.splitBn }),
  };
}

function vitSpec(label: string, description: string, fullHeads: number, defaultPatch: number): BackboneSpec {
  return {
    label, description, featureDim: fullHeads * VIT_HEAD_DIM,
    build(id, o) {
      if (o.splitBn > 1) throw new UserError(`backbone '${id}': splitBn applies to ResNets only (a ViT has no batch norm); use 1`);
      const patch = o.patchSize ?? defaultPatch;
      if (!(Number.isInteger(patch) && patch >= 1)) throw new UserError(`backbone '${id}': patch_size ${patch} must be an integer >= 1`);
      const heads = Math.max(1, Math.round(fullHeads * o.width));
      const imageSize = o.imageSize ?? 224;
      if (!(Number.isInteger(imageSize) && imageSize >= patch && imageSize % patch === 0)) {
        throw new UserError(`backbone '${id}': image size ${imageSize} (augmentation.input_size) must be a positive multiple of the patch size ${patch} (backbone.patch_size)`);
      }
      const depth = o.depth ?? VIT_DEPTH;
      if (!(Number.isInteger(depth) && depth >= 1)) throw new UserError(`backbone '${id}': depth ${depth} must be an integer >= 1`);
      return new VisionTransformer({
        patchSize: patch, embedDim: heads * VIT_HEAD_DIM, depth, heads, imageSize, inChannels: o.inChannels, posEmbed: o.posEmbed, init: o.init,
      });
    },
  };
}

const baseWidth = (width: number) => Math.max(1, Math.round(64 * width));

export const BACKBONE_SPECS = {
  'resnet18-cifar': {
    label: 'Res18', featureDim: 512,
    description: 'ResNet-18 for 32-px inputs: 3x3 stride-1 stem, no stem ReLU, no max-pool (Lightly CIFAR-10 benchmark)',
    build: (_id, o) => new ResNet18Cifar({ baseWidth: baseWidth(o.width), inChannels: o.inChannels, splitBn: o.splitBn }),
  },
  resnet18: resnetSpec('Res18', 'torchvision ResNet-18: 7x7 stride-2 stem with max-pool, 512-d pooled features', 512, 'basic', [2, 2, 2, 2]),
  resnet50: resnetSpec('Res50', 'torchvision ResNet-50: bottleneck blocks [3, 4, 6, 3], 2048-d pooled features', 2048, 'bottleneck', [3, 4, 6, 3]),
  'vit-s16': vitSpec('ViT-S/16', 'ViT-Small, patch 16: 12 layers, 6 heads, 384-d class token', 6, 16),
  'vit-b16': vitSpec('ViT-B/16', 'ViT-Base, patch 16: 12 layers, 12 heads, 768-d class token', 12, 16),
  'vit-b32': vitSpec('ViT-B/32', 'ViT-Base, patch 32: 12 layers, 12 heads, 768-d class token', 12, 32),
  pixels: {
    label: 'Pixels', featureDim: null,
    description: 'the normalised image flattened: C·H·W features, no parameters (raw-pixel floor; method none only)',
    build(_id, o) {
      const imageSize = o.imageSize ?? 32;
      if (!(Number.isInteger(imageSize) && imageSize >= 1)) throw new UserError(`backbone 'pixels': imageSize ${imageSize} must be an integer >= 1`);
      return new Pixels({ inChannels: o.inChannels, imageSize });
    },
  },
} satisfies Record<string, BackboneSpec>;

export type BackboneId = keyof typeof BACKBONE_SPECS;
export const BACKBONE_IDS = Object.keys(BACKBONE_SPECS) as readonly BackboneId[];

export function isBackboneId(id: string): id is BackboneId {
  return Object.hasOwn(BACKBONE_SPECS, id);
}

export function createBackbone(id: string, opts: BackboneOptions = {}): Backbone {
  if (!isBackboneId(id)) throw new UserError(`backbone '${id}' is unknown; allowed: ${BACKBONE_IDS.join(', ')}`);
  const width = opts.width ?? 1;
  if (!(Number.isFinite(width) && width > 0)) throw new UserError(`backbone '${id}': width ${width} must be a number > 0`);
  const inChannels = opts.inChannels ?? 3;
  if (!(Number.isInteger(inChannels) && inChannels >= 1)) throw new UserError(`backbone '${id}': inChannels ${inChannels} must be an integer >= 1`);
  const splitBn = opts.splitBn ?? 1;
  if (!(Number.isInteger(splitBn) && splitBn >= 1)) throw new UserError(`backbone '${id}': splitBn ${splitBn} must be an integer >= 1`);
  const spec: BackboneSpec = BACKBONE_SPECS[id];
  const module = spec.build(id, { ...opts, width, inChannels, splitBn });
  return { id, module, featureDim: module.featureDim };
}
