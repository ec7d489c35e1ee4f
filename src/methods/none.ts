/**
 * Method none: no pretraining. A floor row of a results table evaluates the backbone as
 * initialised (src/runner/no-pretraining.ts, train.epochs 0); there is no training step to build.
 */
import { METHOD_PARAMS } from '../config/method-params';
import type { Method } from './method';

export const none: Method = {
  id: 'none',
  label: 'No pretraining',
  description: 'evaluates the backbone as initialised, no training (train.epochs: 0): the floor rows of a results table',
  section: '§5',
  params: METHOD_PARAMS.none,
  // The preset every config got before presets followed the method; keeps the floors' run identities.
  defaultPreset: 'simclr',
  create() {
    throw new Error('method none has no training step: the runner evaluates the backbone as initialised (src/runner/no-pretraining.ts)');
  },
};
