import { presetFromConfig, type AugmentPreset } from '../augment';
import type { ResolvedConfig } from '../config';
import { checkSplitNames } from '../data/resolve';
import { UserError } from '../errors';
import { methodFor, type Method, type MethodInstance } from '../methods';
import { createBackbone, type Backbone } from '../nn';
import { DATASETS, findEntry } from '../registry';

export interface PreparedMethod {
  preset: AugmentPreset;
  backbone: Backbone;
  /** null for method none (nothing trains). */
  method: MethodInstance | null;
}

/**
 * The augmentation preset, the backbone and the method instance of a config, and the checks
 * between them — everything a run builds before its training graph, none of it reading data.
 * Pretraining and NoPretraining build through here, and `ssl-bench validate` calls it (with the
 * dataset's registered channel count), so a config a run would reject at this point is rejected
 * by validate first.
 */
export function prepareMethod(config: ResolvedConfig, opts: { inputChannels: number; method?: Method }): PreparedMethod {
  const preset = presetFromConfig(config, { inputChannels: opts.inputChannels, singleChannel: 'gray' });
  if (!config.backbone.name.startsWith('vit-')) {
    for (const field of ['patch_size', 'depth', 'image_size'] as const) {
      if (config.backbone[field] !== null) {
        throw new UserError(`backbone.${field}: ${config.backbone[field]} applies to ViT backbones only, not ${config.backbone.name}; remove it (or set null)`);
      }
    }
    const ft = config.eval.finetune;
    if (ft.layer_decay !== null) throw new UserError(`eval.finetune.layer_decay: ${ft.layer_decay} applies to ViT backbones only (it decays the LR per transformer block), not ${config.backbone.name}; set null`);
    if (ft.freeze_class_token) throw new UserError(`eval.finetune.freeze_class_token: true applies to ViT backbones only, not ${config.backbone.name}; set false`);
  }
  const backbone = createBackbone(config.backbone.name, {
    width: config.backbone.width, inChannels: preset.outputChannels, imageSize: config.backbone.image_size ?? config.augmentation.input_size,
    splitBn: config.backbone.split_bn > 1 ? config.backbone.split_bn : 1,
    patchSize: config.backbone.patch_size ?? undefined, depth: config.backbone.depth ?? undefined,
  });
  if (config.method.name === 'none' && !opts.method) return { preset, backbone, method: null };
  const method = (opts.method ?? methodFor(config.method.name)).create({ config, params: config.method.params, backbone, batchSize: config.train.batch_size });
  if (preset.views.length !== method.views) {
    throw new UserError(`augmentation.preset: ${preset.id} gives ${preset.views.length} views, method ${config.method.name} consumes ${method.views}; choose a preset (or n_views override) with ${method.views}`);
  }
  return { preset, backbone, method };
}

/**
 * validate's run check without data: the split names the dataset's format allows, prepareMethod
 * with the dataset's registered channels, and a training batch larger than a per-class subset can
 * ever hold (the run drops the last incomplete batch, so it would have no step).
 */
export function checkRunnable(config: ResolvedConfig): void {
  checkSplitNames(config.data);
  const dataset = findEntry(DATASETS, config.data.dataset);
  prepareMethod(config, { inputChannels: dataset?.channels ?? 3 });
  const perClass = config.data.subset.per_class;
  if (config.method.name !== 'none' && perClass !== null && dataset?.classes != null && perClass * dataset.classes < config.train.batch_size) {
    throw new UserError(`train.batch_size: ${config.train.batch_size} is larger than the at most ${perClass * dataset.classes} training images of data.subset.per_class ${perClass} × ${dataset.classes} classes (the last incomplete batch is dropped); use at most ${perClass * dataset.classes}`);
  }
}
