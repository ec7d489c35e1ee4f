/**
 * The ViT a masked-image method (MAE, SimMIM, MSN, PMSN) needs: the configured backbone must be a
 * VisionTransformer, and the method reads its patch size and token grid.
 */
import { UserError } from '../errors';
import type { Backbone } from '../nn/backbones';
import { VisionTransformer } from '../nn/backbones/vit';

export function vitOf(method: string, backbone: Backbone): VisionTransformer {
  if (!(backbone.module instanceof VisionTransformer)) {
    throw new UserError(`backbone.name: method ${method} masks ViT patch tokens and needs a ViT backbone (vit-s16, vit-b16, vit-b32), got '${backbone.id}'`);
  }
  return backbone.module;
}

/** Patches of a square view of `size` pixels; a user error unless size is a multiple of the patch. */
export function patchesOf(method: string, vit: VisionTransformer, size: number, field: string): number {
  const p = vit.config.patchSize;
  if (!(Number.isInteger(size) && size >= p && size % p === 0)) {
    throw new UserError(`${field}: method ${method} needs views whose size is a multiple of the ViT patch size ${p} (backbone.patch_size), got ${size}`);
  }
  return (size / p) ** 2;
}
