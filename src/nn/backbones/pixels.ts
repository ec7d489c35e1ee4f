/**
 * The raw-pixel "backbone" of the floor rows (method none): the normalised image itself, flattened
 * in NCHW order, as a feature vector. No parameters, no buffers: kNN on its output is kNN on the
 * mean/std-normalised pixels (docs/methods.md §5.1 with f = the image), the floor every method must beat.
 */
import { reshape, type Tensor } from '../../graph';
import { Module, type ForwardContext } from '../module';

export class Pixels extends Module {
  /** C·H·W of the images it is built for. */
  readonly featureDim: number;

  constructor(opts: { inChannels: number; imageSize: number }) {
    super();
    this.featureDim = opts.inChannels * opts.imageSize * opts.imageSize;
  }

  /** [N, C, H, W] → [N, C·H·W] (the batch dim may be symbolic; C, H and W are known). */
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    const [n, ...chw] = x.shape;
    if (x.rank !== 4 || chw.some((d) => typeof d !== 'number')) throw new RangeError(`pixels: expected images [N, C, H, W] with known C, H, W, got [${x.shape.join(', ')}]`);
    return reshape(x, [n, (chw as number[]).reduce((a, d) => a * d, 1)]);
  }
}
