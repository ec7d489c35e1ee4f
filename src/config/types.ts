/**
 * The resolved experiment config: every field present, every default filled, `extends` merged,
 * `--set` applied and `${VAR}` interpolated. Mirrors CONFIG_SCHEMA (schema.ts) field for field.
 */

export type OptimizerName = 'sgd' | 'lars' | 'adam' | 'adamw';
export type ScheduleName = 'cosine' | 'cosine-warmup' | 'constant';
export type ParamValue = number | string | boolean | number[];

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weight_decay: number;
  betas: [number, number];
  eps: number;
  exclude_norm_bias_from_wd: boolean;
  trust_coefficient: number;
}

export interface ScheduleConfig {
  name: ScheduleName;
  interval: 'epoch' | 'step';
  warmup_epochs: number;
  end_factor: number;
}

export interface ProbeConfig {
  enabled: boolean;
  epochs: number;
  /** null = train.batch_size */
  batch_size: number | null;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
}

export interface ResolvedConfig {
  name: string;
  seed: number;
  n_runs: number;
  device: 'cpu' | 'cuda' | 'webgpu' | 'auto';
  output: string;
  method: {
    name: string;
    label: string;
    marker: string;
    /** Every parameter of the method (src/config/method-params.ts), defaults filled. */
    params: Record<string, ParamValue>;
  };
  backbone: {
    name: string;
    label: string;
    width: number;
    split_bn: number;
    patch_size: number | null;
    depth: number | null;
    image_size: number | null;
  };
  data: {
    dataset: string;
    root: string;
    train_split: string;
    test_split: string;
    image_size: number;
    subset: {
      per_class: number | null;
      fraction: number | null;
      test_per_class: number | null;
    };
    cache_dir: string;
    workers: number;
    prefetch: boolean;
  };
  augmentation: {
    preset: string;
    input_size: number;
    /** Every field of the preset (src/config/preset-params.ts), defaults filled. */
    overrides: Record<string, ParamValue>;
    eval_transform: 'normalize' | 'resize-center-crop';
    eval_resize: number | null;
  };
  train: {
    epochs: number;
    batch_size: number;
    max_steps: number | null;
    optimizer: OptimizerConfig;
    lr_scaling: {
      rule: 'linear' | 'sqrt' | 'none';
      reference_batch_size: number;
    };
    schedule: ScheduleConfig;
    grad_clip_norm: number | null;
    checkpoint_every: number;
  };
  eval: {
    knn: {
      enabled: boolean;
      k: number;
      temperature: number;
      every: number;
      feature: 'default' | 'pooled' | 'class-token';
    };
    linear: ProbeConfig & {
      /** eval-features: the eval transform's features once; augmented: fresh RandomResizedCrop + hflip views every epoch (the reference). */
      train_features: 'eval-features' | 'augmented';
    };
    finetune: ProbeConfig & {
      label_smoothing: number;
      mixup_alpha: number;
      cutmix_alpha: number;
      mixup_switch_prob: number;
      interpolation: 'bilinear' | 'bicubic';
      rand_augment: string | null;
      random_erasing: number;
      layer_decay: number | null;
      head_lr: number | null;
      freeze_class_token: boolean;
    };
    online_linear: boolean;
  };
  report: {
    links: Record<string, string>;
  };
}
