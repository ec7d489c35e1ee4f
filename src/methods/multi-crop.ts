/**
 * How many of a run's views are global (high-resolution) and how many local, for the multi-crop
 * methods (DINO, SwaV, SwaVQueue). The presets order views globals first (src/augment/presets.ts);
 * a two-view preset counts as two globals and no locals.
 */
import type { ResolvedConfig } from '../config';
import { UserError } from '../errors';

export interface MultiCropViews {
  global: number;
  local: number;
}

export function multiCropViews(config: ResolvedConfig): MultiCropViews {
  const f = config.augmentation.overrides;
  if (typeof f.n_global_views === 'number') return { global: f.n_global_views, local: typeof f.n_local_views === 'number' ? f.n_local_views : 0 };
  if (typeof f.n_views === 'number') return { global: f.n_views, local: 0 };
  return { global: 2, local: 0 };
}

/** The views of `config`, or a user error when `method` cannot use them (fewer than `minGlobal` globals or `minTotal` views). */
export function requireMultiCropViews(config: ResolvedConfig, method: string, minGlobal: number, minTotal: number): MultiCropViews {
  const v = multiCropViews(config);
  if (v.global < minGlobal || v.global + v.local < minTotal) {
    throw new UserError(`augmentation.overrides: method ${method} needs at least ${minGlobal} global view(s) and ${minTotal} views in all; preset ${config.augmentation.preset} gives ${v.global} global + ${v.local} local`);
  }
  return v;
}
