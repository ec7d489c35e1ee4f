import { globalAvgPool, maxPool2d, type Tensor } from '../graph';
import { Module, type ForwardContext } from './module';

/** torch.nn.MaxPool2d(kernel, stride, padding), e.g. the ImageNet ResNet stem's (3, 2, 1). */
export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number, readonly stride: number = kernelSize, readonly padding = 0) {
    super();
  }

  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.stride, this.padding);
  }
}

/** AdaptiveAvgPool2d(1) followed by flatten: [N, C, H, W] → [N, C]. */
export class GlobalAvgPool extends Module {
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    return globalAvgPool(x);
  }
}
