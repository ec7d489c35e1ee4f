/**
 * Online linear classifier (docs/methods.md §5.2; lightly's OnlineLinearClassifier, ImageNet1k scripts):
 * Linear(D → C) on detached backbone features, trained with cross-entropy inside the pretraining
 * step; its loss is added to the SSL loss and it is trained by the same optimizer and LR schedule
 * in a weight-decay-0 group. Validated each epoch on the test set with `buildClassifierEvalModel`
 * / `evaluateClassifier` (classifier-eval.ts) using `ONLINE_CLASSIFIER_PREFIX`.
 *
 * Weight decay: the head's parameters are marked `decay: false`. The engine honours that only when
 * the step excludes norm/bias parameters from weight decay (`excludeNormBiasFromWd`, which the
 * ImageNet scripts that use this classifier set); without it every trainable parameter decays.
 */
import { crossEntropy, stopGradient, type Tensor } from '../graph';
import type { StepBuilder } from '../engine/train-step';
import { Linear } from '../nn/linear';
import type { ParamSpec } from '../nn/module';

/** lightly's attribute name for the online classifier, so its weights carry torch's names. */
export const ONLINE_CLASSIFIER_PREFIX = 'online_classifier.classification_head';

export class OnlineLinearClassifier {
  readonly head: Linear;

  constructor(readonly featureDim: number, readonly numClasses: number, readonly prefix = ONLINE_CLASSIFIER_PREFIX) {
    this.head = new Linear(featureDim, numClasses);
  }

  /** The head's parameters for the train step's `trainable` list, in the weight-decay-0 group. */
  parameters(): ParamSpec[] {
    return this.head.parameters(this.prefix).map((p) => ({ ...p, decay: false }));
  }

  /**
   * Adds the head to a training step: logits of `features` [B, D] with the gradient stopped at the
   * features (the backbone is not trained by this loss), and the mean cross-entropy against
   * `labels` [B] (int). Add `loss` to the method's loss.
   */
  addToStep(step: StepBuilder, features: Tensor, labels: Tensor): { loss: Tensor; logits: Tensor } {
    return step.graph.scope('online_classifier', () => {
      const ctx = step.forward(this.head, { prefix: this.prefix });
      const logits = this.head.forward(ctx, stopGradient(features));
      return { loss: crossEntropy(logits, labels), logits };
    });
  }
}
