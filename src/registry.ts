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
import { PRESET_PARAMS } from './config/preset-params';


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

/** Derived from the preset parameter specs (src/config/preset-params.ts). */
export const PRESETS: readonly PresetEntry[] = Object.entries(PRESET_PARAMS).map(([id, spec]) => ({ id, description: spec.description }));

export function ids(entries: readonly { id: string }[]): string[] {
  return entries.map((e) => e.id);
}

export function findEntry<T extends { id: string }>(entries: readonly T[], id: string): T | undefined {
  return entries.find((e) => e.id === id);
}
