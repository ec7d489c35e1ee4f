import type { ParamInfo } from './rule';

/**
 * Whether weight decay applies to a parameter. By default (the docs scripts) every parameter
 * decays. With `excludeNormBias` (the ImageNet scripts) norm-layer parameters and biases go to
 * the wd-0 group, and so does any parameter its module marks `decay: false`.
 */
export function decays(spec: ParamInfo, excludeNormBias: boolean): boolean {
  if (!excludeNormBias) return true;
  return spec.decay && spec.kind === 'weight' && !spec.name.endsWith('bias');
}

/** Names of the parameters that get weight decay. */
export function decayMask(specs: readonly ParamInfo[], excludeNormBias: boolean): Set<string> {
  return new Set(specs.filter((s) => decays(s, excludeNormBias)).map((s) => s.name));
}
