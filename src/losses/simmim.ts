/**
 * The reconstruction loss of SimMIM (Xie et al. 2022, "SimMIM: a Simple Framework for Masked
 * Image Modeling", arXiv:2111.09886) as Lightly's Imagenette benchmark runs it (docs/methods.md
 * §4.13; imagenette_benchmark.py SimMIMModel.training_step): the L1 distance between the linear
 * decoder's output at the masked positions and the normalised image's patches there,
 *
 *   L = mean over every element of |prediction − target|                        (nn.L1Loss)
 *
 *   const loss = simmimPixelLoss(decoder(tokensAtMask), maskedPatchTargets(images, 32, maskIndices));
 */
import { GraphError, abs, formatShape, reduceMean, sub, type Tensor } from '../graph';

/** nn.L1Loss(): the mean of |prediction − target| over all elements. */
export function simmimPixelLoss(prediction: Tensor, target: Tensor): Tensor {
  if (formatShape(prediction.shape) !== formatShape(target.shape)) {
    throw new GraphError(`${prediction.graph.where()}simmimPixelLoss: prediction ${formatShape(prediction.shape)} vs target ${formatShape(target.shape)}`);
  }
  return reduceMean(abs(sub(prediction, target)));
}
