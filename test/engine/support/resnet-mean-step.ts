import { reduceMean } from '../../../src/graph';
import { ResNet18Cifar } from '../../../src/nn/backbones/resnet-cifar';
import { sgd } from '../../../src/optim';
import { buildTrainStep } from '../../../src/engine';

/**
 * A ResNet-18-CIFAR of `baseWidth` trained by SGD (momentum 0.9) to minimise the mean of its
 * features for input `x` [batch, 3, size, size]: a small real training step for engine tests.
 */
export function resnetMeanStep(name: string, baseWidth: number, batch: number, size: number) {
  const backbone = new ResNet18Cifar({ baseWidth });
  const specs = [...backbone.parameters('backbone'), ...backbone.buffers('backbone')];
  const model = buildTrainStep({
    name,
    trainable: backbone.parameters('backbone'),
    buffers: backbone.buffers('backbone'),
    optimizer: sgd({ momentum: 0.9 }),
    build(step) {
      const f = backbone.forward(step.forward(backbone, { prefix: 'backbone' }), step.input('x', [batch, 3, size, size]));
      return { loss: reduceMean(f) };
    },
  });
  return { backbone, specs, model };
}
