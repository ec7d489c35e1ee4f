import type { ResolvedConfig } from '../config';
import { NoPretraining } from './no-pretraining';
import { Pretraining, type PretrainOptions } from './pretrain';
import type { Training } from './training';

/**
 * The TrainingFactory of `ssl-bench run`: method `none` (train.epochs 0, the floor rows) evaluates
 * the backbone as initialised (NoPretraining); every other method trains (Pretraining).
 */
export function createTraining(config: ResolvedConfig, runDir: string, opts: PretrainOptions): Promise<Training> {
  if (config.method.name === 'none') return NoPretraining.create(config, runDir, opts);
  return Pretraining.create(config, runDir, opts);
}
