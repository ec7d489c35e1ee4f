import { ObjectSpec, NumberSpec, ValuesOf, obj, int, num, prob, range, oneOf } from './spec';

/**
 * Allowed `augmentation.overrides` per preset, with the transform class defaults of docs/methods.md §3.2
 * (benchmark configs override e.g. `cj_strength: 0.5`, `blur_prob: 0` as §3.3 lists). Crop output
 * size of the global views is `augmentation.input_size`; local/focal crop sizes are preset fields.
 */

type Jitter = readonly [number, number, number, number];

function colorJitter(p: number, strength: number, [b, c, s, h]: Jitter) {
  return {
    cj_prob: prob('probability of applying colour jitter', p),
    cj_strength: num('multiplier of the four jitter strengths', strength, { minimum: 0 }),
    cj_bright: num('brightness jitter before the strength multiplier', b, { minimum: 0 }),
    cj_contrast: num('contrast jitter before the strength multiplier', c, { minimum: 0 }),
    cj_sat: num('saturation jitter before the strength multiplier', s, { minimum: 0 }),
    cj_hue: num('hue jitter before the strength multiplier', h, { minimum: 0, maximum: 0.5 }),
  };
}

const scale = (def: readonly [number, number], what = 'random-resized-crop area scale (min, max)') => range(what, def, 0, 1);
const blurSigma = range('Gaussian blur sigma range in pixels (min, max)', [0.1, 2], 0, 100);
const interpolation = (def: 'bilinear' | 'bicubic') => oneOf('resize interpolation of the crops', ['bilinear', 'bicubic'], def);
const views = (what: string, def: number, minimum = 1): NumberSpec => int(what, def, { minimum });
const size = (what: string, def: number) => int(`${what} (pixels)`, def, { minimum: 1 });
const flips = {
  hflip_prob: prob('probability of a horizontal flip', 0.5),
  vflip_prob: prob('probability of a vertical flip', 0),
};
const gray = { gray_prob: prob('probability of converting to grayscale', 0.2) };

function symmetricTwoView(def: { scale: readonly [number, number]; jitter: Jitter; strength?: number; blur: number; solarize: number; nViews?: number }) {
  return {
    n_views: views('identical-pipeline views per image', def.nViews ?? 2, 2),
    scale: scale(def.scale),
    interpolation: interpolation('bilinear'),
    ...flips,
    ...colorJitter(0.8, def.strength ?? 1.0, def.jitter),
    ...gray,
    blur_prob: prob('probability of Gaussian blur', def.blur),
    blur_sigma: blurSigma,
    solarize_prob: prob('probability of solarisation (threshold 128)', def.solarize),
  };
}

const byolViews = obj('BYOLTransform (docs/methods.md §3.2): 2 asymmetric views, blur 1.0 / 0.1, solarize 0 / 0.2, jitter (0.4, 0.4, 0.2, 0.1)', {
  scale: scale([0.08, 1]),
  interpolation: interpolation('bilinear'),
  ...flips,
  ...colorJitter(0.8, 1.0, [0.4, 0.4, 0.2, 0.1]),
  ...gray,
  view1_blur_prob: prob('blur probability of view 1', 1.0),
  view2_blur_prob: prob('blur probability of view 2', 0.1),
  blur_sigma: blurSigma,
  view1_solarize_prob: prob('solarisation probability of view 1', 0),
  view2_solarize_prob: prob('solarisation probability of view 2', 0.2),
});

function multiCrop(def: { global: number; local: number; localSize: number; globalScale: readonly [number, number]; localScale: readonly [number, number] }) {
  return {
    n_global_views: views('high-resolution (global) views, cropped to input_size', def.global),
    n_local_views: views('low-resolution (local) views', def.local, 0),
    local_size: size('local view crop size', def.localSize),
    global_scale: scale(def.globalScale, 'crop area scale of global views (min, max)'),
    local_scale: scale(def.localScale, 'crop area scale of local views (min, max)'),
  };
}

export const PRESET_PARAMS = {
  simclr: obj('SimCLRTransform (docs/methods.md §3.2): 2 views, crop scale (0.08, 1), colour jitter 0.8 x (0.8, 0.8, 0.8, 0.2), gray 0.2, blur 0.5', symmetricTwoView({ scale: [0.08, 1], jitter: [0.8, 0.8, 0.8, 0.2], blur: 0.5, solarize: 0 })),
  mocov2: obj('MoCoV2Transform (docs/methods.md §3.2): 2 views, crop scale (0.2, 1), colour jitter (0.4, 0.4, 0.4, 0.1), gray 0.2, blur 0.5', symmetricTwoView({ scale: [0.2, 1], jitter: [0.4, 0.4, 0.4, 0.1], blur: 0.5, solarize: 0 })),
  byol: byolViews,
  tico: obj('TiCoTransform (docs/methods.md §3.2): identical to the BYOL views', byolViews.fields),
  simsiam: obj('SimSiamTransform (docs/methods.md §3.2): 2 views, crop scale (0.2, 1), jitter (0.4, 0.4, 0.4, 0.1), gray 0.2, blur 0.5', symmetricTwoView({ scale: [0.2, 1], jitter: [0.4, 0.4, 0.4, 0.1], blur: 0.5, solarize: 0 })),
  fastsiam: obj('FastSiamTransform (docs/methods.md §3.2): 4 SimSiam views', symmetricTwoView({ scale: [0.2, 1], jitter: [0.4, 0.4, 0.4, 0.1], blur: 0.5, solarize: 0, nViews: 4 })),
  swav: obj('SwaVTransform (docs/methods.md §3.2): multi-crop, 2 x 224 px (scale 0.14-1) + 6 x 96 px (scale 0.05-0.14)', {
    ...multiCrop({ global: 2, local: 6, localSize: 96, globalScale: [0.14, 1], localScale: [0.05, 0.14] }),
    interpolation: interpolation('bilinear'),
    ...flips,
    ...colorJitter(0.8, 1.0, [0.8, 0.8, 0.8, 0.2]),
    ...gray,
    blur_prob: prob('probability of Gaussian blur (all crops)', 0.5),
    blur_sigma: blurSigma,
  }),
  dino: obj('DINOTransform (docs/methods.md §3.2): 2 global (224, scale 0.4-1) + 6 local (96, scale 0.05-0.4) views, bicubic', {
    ...multiCrop({ global: 2, local: 6, localSize: 96, globalScale: [0.4, 1], localScale: [0.05, 0.4] }),
    interpolation: interpolation('bicubic'),
    ...flips,
    ...colorJitter(0.8, 0.5, [0.8, 0.8, 0.4, 0.2]),
    ...gray,
    global1_blur_prob: prob('blur probability of global view 1', 1.0),
    global2_blur_prob: prob('blur probability of global view 2', 0.1),
    local_blur_prob: prob('blur probability of local views', 0.5),
    blur_sigma: blurSigma,
    global2_solarize_prob: prob('solarisation probability of global view 2', 0.2),
  }),
  mae: obj('MAETransform (docs/methods.md §3.2): 1 view, crop scale (0.2, 1), bicubic, horizontal flip only', {
    scale: scale([0.2, 1]),
    interpolation: interpolation('bicubic'),
    hflip_prob: prob('probability of a horizontal flip', 0.5),
  }),
  msn: obj('MSNTransform (docs/methods.md §3.2): 2 random (224, scale 0.3-1) + 10 focal (96, scale 0.05-0.3) views', {
    n_random_views: views('random (large) views, cropped to input_size', 2),
    n_focal_views: views('focal (small) views', 10, 0),
    focal_size: size('focal view crop size', 96),
    random_scale: scale([0.3, 1], 'crop area scale of random views (min, max)'),
    focal_scale: scale([0.05, 0.3], 'crop area scale of focal views (min, max)'),
    interpolation: interpolation('bilinear'),
    ...flips,
    ...colorJitter(0.8, 1.0, [0.8, 0.8, 0.8, 0.2]),
    ...gray,
    blur_prob: prob('probability of Gaussian blur', 0.5),
    blur_sigma: blurSigma,
  }),
  smog: obj('SMoGTransform (docs/methods.md §3.2): 4 + 4 crops (224 / 96), colour jitter always on at strength 0.5', {
    ...multiCrop({ global: 4, local: 4, localSize: 96, globalScale: [0.2, 1], localScale: [0.05, 0.2] }),
    interpolation: interpolation('bilinear'),
    hflip_prob: prob('probability of a horizontal flip', 0.5),
    ...colorJitter(1.0, 0.5, [0.8, 0.8, 0.4, 0.2]),
    ...gray,
    global_blur_prob: prob('blur probability of the first crop group', 0.5),
    local_blur_prob: prob('blur probability of the second crop group', 0.1),
    blur_sigma: blurSigma,
    global_solarize_prob: prob('solarisation probability of the first crop group', 0),
    local_solarize_prob: prob('solarisation probability of the second crop group', 0.2),
  }),
  vicreg: obj('VICRegTransform (docs/methods.md §3.2): 2 views, jitter strength 0.5, solarize 0.1 before blur', symmetricTwoView({ scale: [0.08, 1], jitter: [0.8, 0.8, 0.4, 0.2], strength: 0.5, blur: 0.5, solarize: 0.1 })),
  vicregl: obj('VICRegLTransform (docs/methods.md §3.2): 2 global + 6 local views with coordinate grids for local matching', {
    ...multiCrop({ global: 2, local: 6, localSize: 96, globalScale: [0.2, 1], localScale: [0.05, 0.2] }),
    interpolation: interpolation('bilinear'),
    hflip_prob: prob('probability of a horizontal flip', 0.5),
    global_vflip_prob: prob('vertical flip probability of global views', 0),
    local_vflip_prob: prob('vertical flip probability of local views', 0.5),
    ...colorJitter(1.0, 0.5, [0.8, 0.8, 0.4, 0.2]),
    ...gray,
    global_blur_prob: prob('blur probability of global views', 0.5),
    local_blur_prob: prob('blur probability of local views', 0.1),
    blur_sigma: blurSigma,
    global_solarize_prob: prob('solarisation probability of global views', 0),
    local_solarize_prob: prob('solarisation probability of local views', 0.2),
    global_grid_size: int('grid size of global-view coordinate grids', 7, { minimum: 1 }),
    local_grid_size: int('grid size of local-view coordinate grids', 3, { minimum: 1 }),
  }),
  none: obj('No augmentation: each view is the normalised image (for debugging and evaluation checks)', {}),
} satisfies Record<string, ObjectSpec>;

export type PresetId = keyof typeof PRESET_PARAMS;

/** The resolved `augmentation.overrides` of one preset, e.g. `PresetFields<'dino'>['local_size']`. */
export type PresetFields<P extends PresetId> = ValuesOf<(typeof PRESET_PARAMS)[P]>;
