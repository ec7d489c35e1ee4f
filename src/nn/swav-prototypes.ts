/**
 * SwaV's prototypes (lightly/models/modules/heads.py SwaVPrototypes with one head; docs/methods.md
 * §4.0): an nn.Linear(in → K) *with* bias under `heads.0`, whose weight rows the method
 * re-normalises to unit length before every training step (SwaVPrototypes.normalize). Scores of a
 * batch of L2-normalised projections are `heads.0(z)`.
 */
import { l2Normalize, type Tensor } from '../graph';
import { Linear } from './linear';
import { Module, type ForwardContext } from './module';
import { Sequential } from './sequential';

export class SwavPrototypes extends Module {
  constructor(readonly inDim: number, readonly count: number) {
    super();
    this.addModule('heads', new Sequential([new Linear(inDim, count)]));
  }

  forward(ctx: ForwardContext, z: Tensor): Tensor {
    return this.call(ctx, 'heads', z);
  }
}

/** lightly's utils.normalize_weight: each prototype row w_k ← w_k / max(‖w_k‖, 1e-12). */
export function normalizePrototypeRows(weight: Tensor): Tensor {
  return l2Normalize(weight, 1);
}
