/**
 * Negative cosine similarity, the prediction loss of BYOL (Grill et al. 2020, arXiv:2006.07733) and
 * SimSiam (Chen & He 2021, arXiv:2011.10566), as lightly's NegativeCosineSimilarity:
 * `NC(a, b) = −mean_i cos(a_i, b_i)` (docs/methods.md §4.2). Each norm is clamped at eps = 1e-8
 * separately, as torch.nn.functional.cosine_similarity does (docs/methods.md §0 marks the placement
 * unverified; checked against Debian's torch 1.13, where clamping the product instead differs).
 *
 *   const loss = negativeCosineSimilarity(p0, stopGradient(z1));
 */
import { neg, reduceMean, type Tensor } from '../graph';
import { COSINE_EPS, rowCosine, staticBatchSize } from './similarity';

export const NEGATIVE_COSINE_DEFAULTS = { eps: COSINE_EPS } as const;

/** −mean_i cos(a_i, b_i) over a batch of [N, D] rows. Symmetric in its arguments; no stop-gradient. */
export function negativeCosineSimilarity(a: Tensor, b: Tensor, eps: number = NEGATIVE_COSINE_DEFAULTS.eps): Tensor {
  staticBatchSize('negativeCosineSimilarity', a, b);
  return neg(reduceMean(rowCosine(a, b, eps)));
}
