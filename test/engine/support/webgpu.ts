/**
 * What the WebGPU tests share: Mesa's lavapipe (Vulkan on the CPU; .ci/run installs it from
 * bookworm-backports), the bench:step SimCLR ResNet-18-CIFAR step (scripts/bench-step.js), and the
 * relative difference they bound.
 */
import * as fs from 'node:fs';
import type { TrainStepRunner } from '../../../src/engine';

export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
export const lavapipe = fs.existsSync(LAVAPIPE_ICD);

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { buildSimclrStep, randn } = require('../../../scripts/bench-step.js') as {
  buildSimclrStep(o: { batch: number; width: number }): { model: Parameters<typeof TrainStepRunner.create>[0]; params: never[]; buffers: never[] };
  randn(n: number, seed: number): Float32Array;
};

/** max |a − b| over max |a| (at least 1e-12). */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(a[i]));
  }
  return num / Math.max(den, 1e-12);
}
