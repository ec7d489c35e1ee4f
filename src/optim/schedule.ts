/**
 * Learning-rate and momentum schedules, computed in TypeScript once per step and fed to the
 * training graph as scalars. Formulas follow docs/methods.md §0 and §4.0.
 */

/** lightly's cosine_schedule: end − (end − start)·(1 + cos(π·step/(maxSteps−1)))/2; `end` from maxSteps−1 on. */
export function cosineValue(step: number, maxSteps: number, start: number, end: number): number {
  if (step < 0) throw new RangeError(`cosine schedule: step ${step} < 0`);
  if (maxSteps <= 1 || step >= maxSteps - 1) return end;
  return end - (end - start) * (1 + Math.cos((Math.PI * step) / (maxSteps - 1))) / 2;
}

/**
 * CosineWarmupScheduler's LR factor at index s (epoch or global step): (s+1)/W while s < W,
 * then cosineValue(s − W, M − W, 1, end).
 */
export function cosineWarmupFactor(s: number, warmup: number, max: number, end = 0.001): number {
  if (s < warmup) return (s + 1) / warmup;
  return cosineValue(s - warmup, max - warmup, 1, end);
}

/**
 * CosineAnnealingLR(T_max = t) as a factor of the base LR at index s (0-based epoch):
 * end + (1 − end)·(1 + cos(π·s/t))/2 (η_min = end·base; torch's default η_min 0 is end = 0).
 */
export function cosineAnnealingFactor(s: number, t: number, end = 0): number {
  if (t <= 0) return 1;
  return end + (1 - end) * (1 + Math.cos((Math.PI * Math.min(s, t)) / t)) / 2;
}

export type LrScalingRule = 'linear' | 'sqrt' | 'none';

/** Batch-size LR scaling: base·(b/ref) (linear), base·√(b/ref) (sqrt) or base. */
export function scaleLr(base: number, batchSize: number, referenceBatchSize: number, rule: LrScalingRule): number {
  const ratio = batchSize / referenceBatchSize;
  switch (rule) {
    case 'linear': return base * ratio;
    case 'sqrt': return base * Math.sqrt(ratio);
    case 'none': return base;
  }
}

export interface ScheduleSpec {
  name: 'cosine' | 'cosine-warmup' | 'constant';
  /** Advance once per epoch (Lightning's default) or once per optimizer step. */
  interval: 'epoch' | 'step';
  warmup_epochs: number;
  end_factor: number;
}

export interface SchedulePosition {
  /** 0-based epoch of the current step. */
  epoch: number;
  /** 0-based index of the step inside its epoch. */
  stepInEpoch: number;
}

/**
 * The LR factor schedule of a run: `factor({epoch, stepInEpoch})` multiplies the (scaled) base LR.
 * Per epoch, index = epoch, W = warmup_epochs, M = epochs; per step, index = global step,
 * W = warmup_epochs·stepsPerEpoch, M = epochs·stepsPerEpoch (lightly's ImageNet recipe).
 */
export class LrSchedule {
  constructor(readonly spec: ScheduleSpec, readonly epochs: number, readonly stepsPerEpoch: number) {
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw new RangeError(`LR schedule: epochs must be an integer >= 1, got ${epochs}`);
    if (!(Number.isInteger(stepsPerEpoch) && stepsPerEpoch >= 1)) throw new RangeError(`LR schedule: stepsPerEpoch must be an integer >= 1, got ${stepsPerEpoch}`);
  }

  factor({ epoch, stepInEpoch }: SchedulePosition): number {
    const perStep = this.spec.interval === 'step';
    const unit = perStep ? this.stepsPerEpoch : 1;
    const s = perStep ? epoch * this.stepsPerEpoch + stepInEpoch : epoch;
    const total = this.epochs * unit;
    switch (this.spec.name) {
      case 'constant': return 1;
      case 'cosine': return cosineAnnealingFactor(s, total, this.spec.end_factor);
      case 'cosine-warmup': return cosineWarmupFactor(s, Math.round(this.spec.warmup_epochs * unit), total, this.spec.end_factor);
    }
  }
}

/**
 * Teacher EMA momentum over training (lightly's scripts: cosine_schedule(step, max_steps, start, end)
 * with start e.g. 0.99 and end 1.0), by global step.
 */
export function emaMomentum(globalStep: number, totalSteps: number, start: number, end = 1): number {
  return cosineValue(globalStep, totalSteps, start, end);
}
