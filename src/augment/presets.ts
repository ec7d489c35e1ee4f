import { UserError } from '../errors';
import { PRESET_PARAMS, type PresetId } from '../config/preset-params';
import type { ParamValue, ResolvedConfig } from '../config/types';
import type { NumberSpec, TupleSpec, StringSpec } from '../config/spec';

/**
 * The view pipelines of every method's transform (docs/methods.md §3.2), built from the preset fields of
 * `augmentation.overrides` (src/config/preset-params.ts; same names, same defaults) and
 * `augmentation.input_size`. A preset is data: a list of views, each a fixed pipeline whose random
 * parameters params.ts draws per sample and graph.ts applies inside the training graph.
 */

export type Interpolation = 'bilinear' | 'bicubic';

/** One output view: crop → flips → colour jitter → grayscale → blur/solarise (order per flag) → normalise. */
export interface ViewSpec {
  /** Output side length in pixels (square crops, as every Lightly transform uses). */
  size: number;
  /** 'random-resized': torchvision RandomResizedCrop; 'full': the whole image resized (preset none). */
  crop: 'random-resized' | 'full';
  /** RandomResizedCrop area fraction range (min, max). */
  scale: readonly [number, number];
  /** RandomResizedCrop aspect-ratio range; (3/4, 4/3) in every Lightly transform. */
  ratio: readonly [number, number];
  interpolation: Interpolation;
  hflipProb: number;
  vflipProb: number;
  jitterProb: number;
  /** Effective jitter strengths (base × cj_strength): brightness, contrast, saturation, hue. */
  jitter: readonly [number, number, number, number];
  grayProb: number;
  blurProb: number;
  /** Gaussian blur sigma range in pixels (PIL radius = sigma). */
  blurSigma: readonly [number, number];
  solarizeProb: number;
  /** VICReg applies solarisation before the blur; every other transform after it. */
  solarizeBeforeBlur: boolean;
  /** VICRegL: side of the coordinate grid returned with this view (docs/methods.md §3.2 notes); null = none. */
  gridSize: number | null;
}

/** Per-channel normalisation applied after the pixel ops (x − mean) / std. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/** Fashion-MNIST training-set pixel statistics, for single-channel pipelines. */
export const FASHION_MNIST_NORMALIZATION: Normalization = { mean: [0.286], std: [0.353] };

/**
 * What to do with single-channel (grayscale) datasets such as Fashion-MNIST:
 *  'rgb'  replicate the channel to 3 (what PIL's convert('RGB') before the Lightly transforms
 *         gives; ImageNet mean/std; the 3-channel backbones work unchanged);
 *  'gray' keep 1 channel (saturation/hue/grayscale are no-ops on it and are left out; the
 *         dataset's own mean/std; the backbone's stem must take 1 channel).
 */
export type SingleChannelMode = 'rgb' | 'gray';

export interface AugmentPreset {
  id: PresetId;
  views: ViewSpec[];
  /** Channels of the uint8 images fed to the graph (1 or 3). */
  inputChannels: number;
  /** Channels of every output view. */
  outputChannels: number;
  normalization: Normalization;
}

export interface PresetOptions {
  /** Channels of the dataset's uint8 images (default 3). */
  inputChannels?: number;
  /** Only for inputChannels = 1 (default 'rgb'). */
  singleChannel?: SingleChannelMode;
  /** Overrides the normalisation the channel mode implies. */
  normalization?: Normalization;
}

type Fields = Record<string, ParamValue>;

function specDefault(preset: PresetId, key: string): ParamValue {
  const spec = (PRESET_PARAMS[preset].fields as Record<string, NumberSpec | TupleSpec | StringSpec>)[key];
  return spec.default as ParamValue;
}

/** Fills missing preset fields with the transform class defaults; unknown fields are user errors. */
export function presetFields(preset: PresetId, overrides: Fields = {}): Fields {
  const known = Object.keys(PRESET_PARAMS[preset].fields);
  for (const k of Object.keys(overrides)) {
    if (!known.includes(k)) {
      throw new UserError(`augmentation.overrides.${k}: not a field of preset ${preset}; allowed: ${known.length ? known.join(', ') : '(none)'}`);
    }
  }
  const out: Fields = {};
  for (const k of known) out[k] = overrides[k] ?? specDefault(preset, k);
  return out;
}

const RATIO: readonly [number, number] = [3 / 4, 4 / 3];
const NO_JITTER: readonly [number, number, number, number] = [0, 0, 0, 0];

function pair(v: ParamValue): [number, number] {
  const a = v as number[];
  return [a[0], a[1]];
}

function jitterOf(f: Fields, base?: readonly [number, number, number, number]): [number, number, number, number] {
  const s = f.cj_strength as number;
  const b = base ?? [f.cj_bright as number, f.cj_contrast as number, f.cj_sat as number, f.cj_hue as number];
  return [b[0] * s, b[1] * s, b[2] * s, b[3] * s];
}

function view(size: number, scale: readonly [number, number], rest: Partial<ViewSpec>): ViewSpec {
  return {
    size, crop: 'random-resized', scale, ratio: RATIO, interpolation: 'bilinear',
    hflipProb: 0, vflipProb: 0, jitterProb: 0, jitter: NO_JITTER, grayProb: 0,
    blurProb: 0, blurSigma: [0.1, 2], solarizeProb: 0, solarizeBeforeBlur: false, gridSize: null,
    ...rest,
  };
}

/** Colour part shared by the jittering transforms. */
function colour(f: Fields, jitter = jitterOf(f)): Partial<ViewSpec> {
  return {
    interpolation: f.interpolation as Interpolation,
    hflipProb: f.hflip_prob as number,
    vflipProb: (f.vflip_prob as number | undefined) ?? 0,
    jitterProb: f.cj_prob as number,
    jitter,
    grayProb: f.gray_prob as number,
    blurSigma: pair(f.blur_sigma),
  };
}

function repeat(n: number, make: (i: number) => ViewSpec): ViewSpec[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

/** Views of a preset, in the order the method consumes them (docs/methods.md §3.2). */
function viewsOf(preset: PresetId, f: Fields, inputSize: number): ViewSpec[] {
  switch (preset) {
    case 'simclr': case 'mocov2': case 'simsiam': case 'fastsiam': case 'vicreg':
      return repeat(f.n_views as number, () => view(inputSize, pair(f.scale), {
        ...colour(f), blurProb: f.blur_prob as number, solarizeProb: f.solarize_prob as number,
        solarizeBeforeBlur: preset === 'vicreg',
      }));
    case 'byol': case 'tico':
      return [1, 2].map((k) => view(inputSize, pair(f.scale), {
        ...colour(f), blurProb: f[`view${k}_blur_prob`] as number, solarizeProb: f[`view${k}_solarize_prob`] as number,
      }));
    case 'swav':
      return [
        ...repeat(f.n_global_views as number, () => view(inputSize, pair(f.global_scale), { ...colour(f), blurProb: f.blur_prob as number })),
        ...repeat(f.n_local_views as number, () => view(f.local_size as number, pair(f.local_scale), { ...colour(f), blurProb: f.blur_prob as number })),
      ];
    case 'dino':
      return [
        ...repeat(f.n_global_views as number, (i) => view(inputSize, pair(f.global_scale), {
          ...colour(f),
          blurProb: (i === 0 ? f.global1_blur_prob : f.global2_blur_prob) as number,
          solarizeProb: i === 0 ? 0 : (f.global2_solarize_prob as number),
        })),
        ...repeat(f.n_local_views as number, () => view(f.local_size as number, pair(f.local_scale), { ...colour(f), blurProb: f.local_blur_prob as number })),
      ];
    case 'mae':
      return [view(inputSize, pair(f.scale), { interpolation: f.interpolation as Interpolation, hflipProb: f.hflip_prob as number })];
    case 'msn':
      return [
        ...repeat(f.n_random_views as number, () => view(inputSize, pair(f.random_scale), { ...colour(f), blurProb: f.blur_prob as number })),
        ...repeat(f.n_focal_views as number, () => view(f.focal_size as number, pair(f.focal_scale), { ...colour(f), blurProb: f.blur_prob as number })),
      ];
    case 'smog':
      return [
        ...repeat(f.n_global_views as number, () => view(inputSize, pair(f.global_scale), {
          ...colour(f), blurProb: f.global_blur_prob as number, solarizeProb: f.global_solarize_prob as number,
        })),
        ...repeat(f.n_local_views as number, () => view(f.local_size as number, pair(f.local_scale), {
          ...colour(f), blurProb: f.local_blur_prob as number, solarizeProb: f.local_solarize_prob as number,
        })),
      ];
    case 'vicregl':
      return [
        ...repeat(f.n_global_views as number, () => view(inputSize, pair(f.global_scale), {
          ...colour(f), vflipProb: f.global_vflip_prob as number,
          blurProb: f.global_blur_prob as number, solarizeProb: f.global_solarize_prob as number,
          gridSize: f.global_grid_size as number,
        })),
        // Local views always use the base jitter (0.8, 0.8, 0.4, 0.2) × strength (docs/methods.md §3.2).
        ...repeat(f.n_local_views as number, () => view(f.local_size as number, pair(f.local_scale), {
          ...colour(f, jitterOf(f, [0.8, 0.8, 0.4, 0.2])), vflipProb: f.local_vflip_prob as number,
          blurProb: f.local_blur_prob as number, solarizeProb: f.local_solarize_prob as number,
          gridSize: f.local_grid_size as number,
        })),
      ];
    case 'none':
      return repeat(2, () => view(inputSize, [1, 1], { crop: 'full' }));
  }
}

/**
 * The preset `id` with `overrides` (any subset of its fields; missing ones take the class
 * defaults) and global crop size `inputSize`.
 */
export function buildPreset(id: PresetId, inputSize: number, overrides: Fields = {}, opts: PresetOptions = {}): AugmentPreset {
  if (!(id in PRESET_PARAMS)) throw new UserError(`augmentation.preset: unknown preset '${id}'; allowed: ${Object.keys(PRESET_PARAMS).join(', ')}`);
  if (!(Number.isInteger(inputSize) && inputSize >= 1)) throw new UserError(`augmentation.input_size: ${inputSize} is not a positive integer`);
  const inputChannels = opts.inputChannels ?? 3;
  if (inputChannels !== 1 && inputChannels !== 3) throw new UserError(`augmentation: images with ${inputChannels} channels are not supported; 1 (grayscale) or 3 (RGB)`);
  const mode = opts.singleChannel ?? 'rgb';
  const outputChannels = inputChannels === 1 && mode === 'gray' ? 1 : 3;
  const normalization = opts.normalization ?? (outputChannels === 1 ? FASHION_MNIST_NORMALIZATION : IMAGENET_NORMALIZATION);
  if (normalization.mean.length !== outputChannels || normalization.std.length !== outputChannels) {
    throw new UserError(`augmentation: normalisation has ${normalization.mean.length} means and ${normalization.std.length} stds for ${outputChannels}-channel views`);
  }
  const views = viewsOf(id, presetFields(id, overrides), inputSize);
  if (views.length === 0) throw new UserError(`augmentation.overrides: preset ${id} produces no views; set at least one view count >= 1`);
  return { id, views, inputChannels, outputChannels, normalization };
}

/** The preset a resolved config asks for; `inputChannels` comes from the dataset. */
export function presetFromConfig(cfg: ResolvedConfig, opts: PresetOptions = {}): AugmentPreset {
  const a = cfg.augmentation;
  return buildPreset(a.preset as PresetId, a.input_size, a.overrides, opts);
}

/** A benchmark's transform for one preset: the global crop size and the preset fields it sets. */
export interface BenchmarkTransform {
  input_size: number;
  overrides: Fields;
}

/**
 * What each benchmark script passes to the transform classes (docs/methods.md §3.3), for writing suite
 * configs (`augmentation.input_size` / `augmentation.overrides`). CIFAR-10 methods not listed use
 * the SimCLR-CIFAR transform (MoCo, NNCLR, DCL, DCLW, and BarlowTwins/BYOL as published).
 */
export const BENCHMARK_TRANSFORMS: Record<'cifar10' | 'imagenette', Partial<Record<PresetId, BenchmarkTransform>>> = {
  cifar10: {
    simclr: { input_size: 32, overrides: { cj_strength: 0.5, blur_prob: 0 } },
    byol: { input_size: 32, overrides: { view1_blur_prob: 0, view2_blur_prob: 0 } },
    simsiam: { input_size: 32, overrides: { blur_prob: 0 } },
    fastsiam: { input_size: 32, overrides: { blur_prob: 0 } },
    swav: { input_size: 32, overrides: { n_global_views: 2, n_local_views: 0, global_scale: [0.14, 1], cj_strength: 0.5, blur_prob: 0 } },
    dino: { input_size: 32, overrides: { n_local_views: 0, global_scale: [0.4, 1], cj_strength: 0.5, global1_blur_prob: 0, global2_blur_prob: 0, local_blur_prob: 0 } },
    smog: {
      input_size: 32,
      overrides: { n_global_views: 1, n_local_views: 1, local_size: 32, global_scale: [0.2, 1], local_scale: [0.2, 1], cj_strength: 0.5, global_blur_prob: 0, local_blur_prob: 0 },
    },
  },
  imagenette: {
    simclr: { input_size: 128, overrides: { cj_strength: 0.5 } },
    byol: { input_size: 128, overrides: {} },
    tico: { input_size: 128, overrides: {} },
    simsiam: { input_size: 128, overrides: {} },
    fastsiam: { input_size: 128, overrides: {} },
    swav: { input_size: 128, overrides: { n_global_views: 2, n_local_views: 6, local_size: 64, cj_strength: 0.5 } },
    dino: { input_size: 128, overrides: { n_local_views: 6, local_size: 64, cj_strength: 0.5 } },
    smog: { input_size: 128, overrides: { n_global_views: 1, n_local_views: 1, local_size: 128, global_scale: [0.2, 1], local_scale: [0.2, 1], cj_strength: 0.5 } },
    mae: { input_size: 224, overrides: {} },
    msn: { input_size: 128, overrides: { focal_size: 64, cj_strength: 1 } },
    vicreg: { input_size: 128, overrides: { cj_strength: 0.5 } },
    vicregl: { input_size: 128, overrides: { n_local_views: 0, global_grid_size: 4, cj_strength: 0.5 } },
  },
};
