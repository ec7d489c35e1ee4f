/**
 * optim/ — optimizers as in-graph update rules, weight-decay masks, gradient clipping, EMA, and
 * the TypeScript schedules whose values are fed to the training graph as scalars.
 *
 *   const rule = createOptimizer(cfg.train.optimizer);              // OptimizerRule
 *   rule.stateFor(spec) → OptimizerStateSpec[]                       // zero-initialised state
 *   rule.update({ spec, param, grad, state, lr, weightDecay })      // → { param, state } (next values)
 *   decays(spec, excludeNormBias) / decayMask(specs, excludeNormBias)
 *   clipGradNorm(grads, maxNorm) → { grads, totalNorm };  emaUpdate(target, source, m)
 *   new LrSchedule(cfg.train.schedule, epochs, stepsPerEpoch).factor({ epoch, stepInEpoch })
 *   scaleLr(base, batch, reference, rule); cosineValue; cosineWarmupFactor; cosineAnnealingFactor; emaMomentum
 */
import { UserError } from '../errors';
import { adam, adamw } from './adam';
import { lars } from './lars';
import type { OptimizerRule } from './rule';
import { sgd } from './sgd';

export { sgd, lars, adam, adamw };
export type { SgdOptions } from './sgd';
export type { LarsOptions } from './lars';
export type { AdamOptions } from './adam';
export { stateName } from './rule';
export type { OptimizerRule, OptimizerStateSpec, ParamInfo, UpdateArgs, UpdateResult } from './rule';
export { decays, decayMask } from './weight-decay';
export { clipGradNorm } from './clip';
export { emaUpdate } from './ema';
export { LrSchedule, cosineValue, cosineWarmupFactor, cosineAnnealingFactor, scaleLr, emaMomentum } from './schedule';
export type { ScheduleSpec, SchedulePosition, LrScalingRule } from './schedule';

/** The optimizer fields of a config (config/types.ts OptimizerConfig). */
export interface OptimizerSettings {
  name: 'sgd' | 'lars' | 'adam' | 'adamw';
  momentum: number;
  nesterov: boolean;
  betas: readonly [number, number];
  eps: number;
  trust_coefficient: number;
}

export function createOptimizer(cfg: OptimizerSettings): OptimizerRule {
  switch (cfg.name) {
    case 'sgd': return sgd({ momentum: cfg.momentum, nesterov: cfg.nesterov });
    case 'lars':
      if (cfg.nesterov) throw new UserError('optimizer.nesterov: LARS has no Nesterov variant; set nesterov: false or use sgd');
      return lars({ momentum: cfg.momentum, trustCoefficient: cfg.trust_coefficient, eps: cfg.eps });
    case 'adam': return adam({ betas: cfg.betas, eps: cfg.eps });
    case 'adamw': return adamw({ betas: cfg.betas, eps: cfg.eps });
  }
}
