import { GraphError, formatShape, isFloat, type DType, type Tensor } from '../graph';
import { guard, fail } from '../op';
import { cast, div, equal, maximum, mul, neg, sqrt } from './elementwise';
import { reduceMean, reduceSum } from './reduce';
import { unsqueeze } from './shape';
import { logSoftmax } from './softmax';

/** labels (int) of any shape → one-hot [..., numClasses] of `dtype`. */
export function oneHot(labels: Tensor, numClasses: number, dtype: DType = 'float32'): Tensor {
  guard('oneHot', [labels], () => {
    if (labels.dtype !== 'int64' && labels.dtype !== 'int32') fail(`labels must be int64 or int32, got ${labels.dtype}`);
    if (!Number.isInteger(numClasses) || numClasses < 1) fail(`numClasses ${numClasses} must be a positive integer`);
  });
  const classes = labels.graph.constant(BigInt64Array.from({ length: numClasses }, (_, i) => BigInt(i)), [numClasses], 'int64');
  return cast(equal(unsqueeze(cast(labels, 'int64'), -1), classes), dtype);
}

/**
 * Mean cross-entropy of logits [..., C] against hard labels (int, shape [...]) or soft targets
 * (float, shape [..., C], rows summing to 1), as torch.nn.functional.cross_entropy.
 */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  const numClasses = guard('crossEntropy', [logits, target], () => {
    if (!isFloat(logits.dtype)) fail(`logits must be float, got ${logits.dtype}`);
    const c = logits.shape[logits.rank - 1];
    if (typeof c !== 'number') fail('the class axis (last) must be static');
    const hard = !isFloat(target.dtype);
    const expected = hard ? logits.shape.slice(0, -1) : logits.shape;
    if (formatShape(expected) !== formatShape(target.shape)) {
      fail(`logits ${formatShape(logits.shape)} vs ${hard ? 'labels' : 'soft targets'} ${formatShape(target.shape)}: expected ${formatShape(expected)}`);
    }
    if (!hard && target.dtype !== logits.dtype) fail(`soft targets ${target.dtype} vs logits ${logits.dtype}`);
    return c;
  });
  const probs = isFloat(target.dtype) ? target : oneHot(target, numClasses, logits.dtype);
  return neg(reduceMean(reduceSum(mul(probs, logSoftmax(logits, -1)), [-1])));
}

/** x / max(||x||₂, eps) along `axis`, as torch.nn.functional.normalize (eps 1e-12). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  if (!isFloat(x.dtype)) throw new GraphError(`${x.graph.where()}l2Normalize: needs a float tensor, got ${x.dtype}`);
  const norm = sqrt(reduceSum(mul(x, x), [axis], true));
  return div(x, maximum(norm, eps));
}
