/**
 * augment/ — view generation for self-supervised training (docs/methods.md §3).
 *
 *   const preset = presetFromConfig(cfg, { inputChannels: source.channels });
 *   const params = augmentParamInputs(g, preset, batch);          // graph inputs augment.view<k>
 *   const views = applyViews(g, g.input('images', [batch, H, W, C], 'uint8'), params, preset);
 *   ...per step: const drawn = sampleViews(augmentRng, preset, batch, H, W);
 *                feeds = { images, ...augmentFeeds(drawn) }
 *   VICRegL: augmentGridInputs(g, preset, batch) and augmentFeeds(drawn, { grids: true }).
 *
 * presets.ts: the view pipelines; params.ts: per-sample parameters (TypeScript, seeded) and the
 * feed layout; graph.ts: the pipeline as graph ops; ops.ts: the raw ONNX ops it adds.
 * rand-augment.ts / random-erasing.ts: timm's RandAugment and RandomErasing as host-side image
 * ops (fine-tune recipe, docs/methods.md §5.4), drawn from a seeded Rng and applied off the graph.
 */
export * from './presets';
export * from './params';
export {
  applyViews, applyEvalTransform, augmentParamInputs, augmentGridInputs, augmentFeeds, boxBlurRadius,
  adjustHue, gaussianBlur, grayscale, normalize, solarize, toUnitFloat,
} from './graph';
export * from './rand-augment';
export * from './random-erasing';
