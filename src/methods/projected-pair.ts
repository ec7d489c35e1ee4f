import { concat, split, type Tensor } from '../graph';
import type { Module } from '../nn/module';
import type { Backbone } from '../nn/backbones';
import type { MethodInstance, MethodNetwork } from './method';

/** How the two views pass through the networks (method param `view_batches`). */
export type ViewBatches = 'separate' | 'grouped';
export const VIEW_BATCHES: readonly ViewBatches[] = ['separate', 'grouped'];

/**
 * The shape SimCLR, DCL, DCLW, Barlow Twins and VICReg share: both views go through the backbone
 * f and the projection head g, and one symmetric loss compares z_0 = g(f(x_0)) with
 * z_1 = g(f(x_1)). No momentum network, no state; kNN uses f.
 *
 * `separate` forwards each view as its own batch (the docs scripts' order); `grouped` forwards
 * cat(x_0, x_1) as one 2·B batch through f and g and splits g's output back into z_0, z_1 (the
 * ImageNet1k R50 scripts' `self.forward(torch.cat(views))` then `z.chunk(2)`), so every batch norm
 * normalises over both views. The loss sees the same [B, D] halves either way.
 */
export function projectedPairMethod(
  backbone: Backbone,
  projectionHead: Module,
  viewBatches: ViewBatches,
  loss: (z0: Tensor, z1: Tensor) => { loss: Tensor; metrics?: Record<string, Tensor> },
): MethodInstance {
  return {
    views: 2,
    networks: [
      { prefix: 'backbone', module: backbone.module, role: 'trained' },
      { prefix: 'projection_head', module: projectionHead, role: 'trained' },
    ],
    evalBackbone: 'backbone',
    buildLoss(step, [x0, x1]) {
      const f = step.forward(backbone.module, { prefix: 'backbone' });
      const g = step.forward(projectionHead, { prefix: 'projection_head' });
      if (viewBatches === 'grouped') {
        const [z0, z1] = split(projectionHead.forward(g, backbone.module.forward(f, concat([x0, x1], 0))), 2, 0);
        return loss(z0, z1);
      }
      const z0 = projectionHead.forward(g, backbone.module.forward(f, x0));
      const z1 = projectionHead.forward(g, backbone.module.forward(f, x1));
      return loss(z0, z1);
    },
  };
}

/**
 * Deep-copied momentum (EMA) encoders of `backbone` and `projection_head`, as MoCo, BYOL and TiCo
 * keep them (docs/methods.md §4.0): `<prefix>_momentum` follows `<prefix>` parameter by parameter.
 */
export function momentumCopies(backbone: Backbone, projectionHead: Module): MethodNetwork[] {
  return [
    { prefix: 'backbone_momentum', module: backbone.module, role: 'ema', emaOf: 'backbone', initFrom: 'backbone' },
    { prefix: 'projection_head_momentum', module: projectionHead, role: 'ema', emaOf: 'projection_head', initFrom: 'projection_head' },
  ];
}
