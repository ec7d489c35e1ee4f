/**
 * The reconstruction loss of MAE (He et al. 2022, "Masked Autoencoders Are Scalable Vision
 * Learners", arXiv:2111.06377) as the Lightly benchmarks run it (docs/methods.md §4.7;
 * benchmarks/imagenet/vitb16/mae.py, imagenette_benchmark.py MAEModel.training_step):
 *
 *   target = patchify(images)[b, idx_mask − 1]        patches of the *normalised input image*
 *   L = mean over every element of (prediction − target)²                      (nn.MSELoss)
 *
 * No per-patch pixel normalisation (the paper's norm_pix_loss): the reference does not use it.
 *
 *   const target = maskedPatchTargets(images, 32, maskIndices);
 *   const loss = maePixelLoss(prediction, target);
 */
import { GraphError, formatShape, mul, reduceMean, sub, type Tensor } from '../graph';
import { gatherTokens, patchify } from '../nn/backbones/vit';

/**
 * The patches at `maskIndices` [B, M] (sequence indices with the class token at 0, as
 * random_token_mask returns them): [B, M, p·p·C] in patchify's layout.
 */
export function maskedPatchTargets(images: Tensor, patchSize: number, maskIndices: Tensor): Tensor {
  return gatherTokens(patchify(images, patchSize), sub(maskIndices, 1));
}

function checkPair(name: string, prediction: Tensor, target: Tensor): void {
  if (formatShape(prediction.shape) !== formatShape(target.shape)) {
    throw new GraphError(`${prediction.graph.where()}${name}: prediction ${formatShape(prediction.shape)} vs target ${formatShape(target.shape)}`);
  }
}

/** nn.MSELoss(): the mean of (prediction − target)² over all elements. */
export function maePixelLoss(prediction: Tensor, target: Tensor): Tensor {
  checkPair('maePixelLoss', prediction, target);
  const d = sub(prediction, target);
  return reduceMean(mul(d, d));
}
