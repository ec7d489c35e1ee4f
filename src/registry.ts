/**
 * The catalogue of everything a config can name: methods, backbones, datasets and augmentation
 * presets. The config schema takes its enums and defaults from here and `ssl-bench list` prints
 * it. Methods, backbones and datasets come from their specs (src/methods/registry.ts,
 * src/nn/backbones, src/data/datasets.ts), so only what can run is offered; presets are listed
 * here under the ids src/config/preset-params.ts and src/augment/presets.ts use.
 */
import type { Method } from './methods/method';
import { METHOD_SPECS } from './methods/registry';
import { BACKBONE_IDS, BACKBONE_SPECS } from './nn/backbones';
import { DATASET_IDS, DATASET_SPECS } from './data/datasets';


export interface MethodEntry {
  id: string;
  /** Model name as printed in the published tables (docs/methods.md §1). */
  label: string;
  description: string;
  /** augmentation.preset of a config that sets none. */
  defaultPreset: string;
}

export interface BackboneEntry {
  id: string;
  /** Backbone name as printed in the published tables. */
  label: string;
  description: string;
  /** Size of the feature vector the evaluations use; null where it follows the input (pixels: C·H·W). */
  featureDim: number | null;
}

export interface DatasetEntry {
  id: string;
  description: string;
  /** Default `data.root`, interpolated like any config string. */
  root: string;
  /** Default `data.image_size`: pixels after the decode/resize cache (shorter side for folders). */
  imageSize: number;
  /** Default `augmentation.input_size`: crop size of global views. */
  inputSize: number;
  trainSplit: string;
  testSplit: string;
  classes: number | null;
  /** Channels of the decoded images (1: grayscale, kept single-channel through the views). */
  channels: 1 | 3;
}

export interface PresetEntry {
  id: string;
  description: string;
}

/** Derived from the method specs (src/methods/registry.ts), ordered by id with `none` last. */
export const METHODS: readonly MethodEntry[] = [...METHOD_SPECS]
  .sort((a, b) => Number(a.id === 'none') - Number(b.id === 'none') || a.id.localeCompare(b.id))
  .map(({ id, label, description, defaultPreset }) => ({ id, label, description, defaultPreset }));

/** The spec of a registered method, or undefined. */
export function methodSpec(id: string): Method | undefined {
  return METHOD_SPECS.find((m) => m.id === id);
}

/** Derived from the backbone specs (src/nn/backbones/index.ts). */
export const BACKBONES: readonly BackboneEntry[] = BACKBONE_IDS.map((id) => {
  const { label, description, featureDim } = BACKBONE_SPECS[id];
  return { id, label, description, featureDim };
});

/** Derived from the dataset specs (src/data/datasets.ts). */
export const DATASETS: readonly DatasetEntry[] = DATASET_IDS.map((id) => {
  const { description, root, imageSize, inputSize, trainSplit, testSplit, classes, channels } = DATASET_SPECS[id];
  return { id, description, root, imageSize, inputSize, trainSplit, testSplit, classes, channels };
});

export const PRESETS: readonly PresetEntry[] = [
  { id: 'simclr', description: 'SimCLRTransform: 2 views, crop scale (0.08, 1), colour jitter 0.8 x (0.8, 0.8, 0.8, 0.2), gray 0.2, blur 0.5' },
  { id: 'mocov2', description: 'MoCoV2Transform: 2 views, crop scale (0.2, 1), colour jitter (0.4, 0.4, 0.4, 0.1), gray 0.2, blur 0.5' },
  { id: 'byol', description: 'BYOLTransform: 2 asymmetric views, blur 1.0 / 0.1, solarize 0 / 0.2, jitter (0.4, 0.4, 0.2, 0.1)' },
  { id: 'tico', description: 'TiCoTransform: identical to the BYOL views' },
  { id: 'simsiam', description: 'SimSiamTransform: 2 views, crop scale (0.2, 1), jitter (0.4, 0.4, 0.4, 0.1), gray 0.2, blur 0.5' },
  { id: 'fastsiam', description: 'FastSiamTransform: 4 SimSiam views' },
  { id: 'swav', description: 'SwaVTransform: multi-crop, 2 x 224 px (scale 0.14-1) + 6 x 96 px (scale 0.05-0.14)' },
  { id: 'dino', description: 'DINOTransform: 2 global (224, scale 0.4-1) + 6 local (96, scale 0.05-0.4) views, bicubic' },
  { id: 'mae', description: 'MAETransform: 1 view, crop scale (0.2, 1), bicubic, horizontal flip only' },
  { id: 'msn', description: 'MSNTransform: 2 random (224, scale 0.3-1) + 10 focal (96, scale 0.05-0.3) views' },
  { id: 'smog', description: 'SMoGTransform: 4 + 4 crops (224 / 96), colour jitter always on at strength 0.5' },
  { id: 'vicreg', description: 'VICRegTransform: 2 views, jitter strength 0.5, solarize 0.1 before blur' },
  { id: 'vicregl', description: 'VICRegLTransform: 2 global + 6 local views with coordinate grids for local matching' },
  { id: 'none', description: 'No augmentation: each view is the normalised image (for debugging and evaluation checks)' },
];

export function ids(entries: readonly { id: string }[]): string[] {
  return entries.map((e) => e.id);
}

export function findEntry<T extends { id: string }>(entries: readonly T[], id: string): T | undefined {
  return entries.find((e) => e.id === id);
}
