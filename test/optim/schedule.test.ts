import { LrSchedule, cosineAnnealingFactor, cosineValue, cosineWarmupFactor, createOptimizer, decayMask, emaMomentum, scaleLr } from '../../src/optim';
import { UserError } from '../../src/errors';

describe('schedules', () => {
  it('CosineWarmupScheduler(W=10, M=100, end 0.001) at known points', () => {
    expect(cosineWarmupFactor(0, 10, 100)).toBeCloseTo(0.1, 12);
    expect(cosineWarmupFactor(9, 10, 100)).toBeCloseTo(1.0, 12);
    expect(cosineWarmupFactor(10, 10, 100)).toBeCloseTo(1.0, 12); // cosine(0, 90, 1, end) = start
    expect(cosineWarmupFactor(99, 10, 100)).toBeCloseTo(0.001, 12); // step ≥ max−1 → end
    // Halfway through the cosine part: (1 + 0.001)/2.
    expect(cosineWarmupFactor(10 + 44.5, 10, 100)).toBeCloseTo((1 + 0.001) / 2, 12);
  });

  it('cosine value schedule (EMA momentum 0.99 → 1)', () => {
    expect(cosineValue(0, 11, 0.99, 1)).toBeCloseTo(0.99, 12);
    expect(cosineValue(5, 11, 0.99, 1)).toBeCloseTo(0.995, 12);
    expect(cosineValue(10, 11, 0.99, 1)).toBe(1);
    expect(cosineValue(3, 1, 0.99, 1)).toBe(1);
    expect(emaMomentum(0, 100, 0.996)).toBeCloseTo(0.996, 12);
  });

  it('CosineAnnealingLR per epoch: base·(1 + cos(π e/T))/2', () => {
    expect(cosineAnnealingFactor(0, 200)).toBe(1);
    expect(cosineAnnealingFactor(100, 200)).toBeCloseTo(0.5, 12);
    expect(cosineAnnealingFactor(50, 200)).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12);
    expect(cosineAnnealingFactor(200, 200)).toBeCloseTo(0, 12);
  });

  it('LrSchedule: per epoch holds within an epoch; per step advances every step', () => {
    const perEpoch = new LrSchedule({ name: 'cosine', interval: 'epoch', warmup_epochs: 0, end_factor: 0 }, 10, 50);
    expect(perEpoch.factor({ epoch: 5, stepInEpoch: 0 })).toBeCloseTo(0.5, 12);
    expect(perEpoch.factor({ epoch: 5, stepInEpoch: 49 })).toBeCloseTo(0.5, 12);
    const perStep = new LrSchedule({ name: 'cosine-warmup', interval: 'step', warmup_epochs: 1, end_factor: 0.001 }, 10, 50);
    expect(perStep.factor({ epoch: 0, stepInEpoch: 0 })).toBeCloseTo(1 / 50, 12);
    expect(perStep.factor({ epoch: 0, stepInEpoch: 49 })).toBeCloseTo(1, 12);
    expect(perStep.factor({ epoch: 9, stepInEpoch: 49 })).toBeCloseTo(0.001, 12);
    expect(perStep.factor({ epoch: 5, stepInEpoch: 0 })).toBeCloseTo(cosineValue(200, 450, 1, 0.001), 12);
    const constant = new LrSchedule({ name: 'constant', interval: 'epoch', warmup_epochs: 0, end_factor: 0 }, 3, 1);
    expect(constant.factor({ epoch: 2, stepInEpoch: 0 })).toBe(1);
  });

  it('LR scaling rules', () => {
    expect(scaleLr(0.06, 512, 128, 'linear')).toBeCloseTo(0.24, 12);
    expect(scaleLr(0.06, 512, 128, 'sqrt')).toBeCloseTo(0.12, 12);
    expect(scaleLr(0.06, 512, 128, 'none')).toBe(0.06);
  });
});

describe('weight-decay masks and optimizer factory', () => {
  const specs = [
    { name: 'conv1.weight', shape: [4, 3, 3, 3], kind: 'weight' as const, decay: true },
    { name: 'bn1.weight', shape: [4], kind: 'norm' as const, decay: true },
    { name: 'bn1.bias', shape: [4], kind: 'norm' as const, decay: true },
    { name: 'fc.bias', shape: [10], kind: 'bias' as const, decay: true },
    { name: 'fc.weight', shape: [10, 4], kind: 'weight' as const, decay: true },
  ];
  it('docs scripts decay everything; exclude_norm_bias_from_wd keeps only weights of non-norm layers', () => {
    expect([...decayMask(specs, false)]).toHaveLength(5);
    expect([...decayMask(specs, true)].sort()).toEqual(['conv1.weight', 'fc.weight']);
  });
  it('LARS with nesterov is a UserError naming the field', () => {
    expect(() => createOptimizer({ name: 'lars', momentum: 0.9, nesterov: true, betas: [0.9, 0.999], eps: 1e-8, trust_coefficient: 0.001 })).toThrow(UserError);
    expect(createOptimizer({ name: 'adamw', momentum: 0.9, nesterov: false, betas: [0.9, 0.999], eps: 1e-8, trust_coefficient: 0.001 }).name).toBe('adamw');
  });
});
