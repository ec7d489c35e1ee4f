/**
 * SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
 * Representations", arXiv:2002.05709), as the Lightly benchmarks run it (docs/methods.md §4.12):
 *
 *   for each view x_v (separate batches by default):  z_v = g(f(x_v))        f backbone, g SimCLRProjectionHead
 *   L = NT-Xent(z_0, z_1; τ)                                      no memory bank, τ = 0.5 (docs default)
 *
 * g = Lin(D→hidden, no bias)–BN–ReLU–Lin(hidden→out, no bias)–BN(out). kNN uses f.
 * `view_batches: grouped` forwards cat(x_0, x_1) as one 2·B batch through f and g and splits z
 * back (the ImageNet1k R50 script), so every batch norm sees both views (projected-pair.ts). The
 * online linear classifier trains on f's output for both views, labels repeated (docs/methods.md §5.2).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { ntXentLoss } from '../losses';
import { simclrProjectionHead } from '../nn/heads';
import { choiceParam } from './choice-param';
import { numberParam, type Method } from './method';
import { VIEW_BATCHES, projectedPairMethod } from './projected-pair';

export const simclr: Method = {
  id: 'simclr',
  label: 'SimCLR',
  description: 'SimCLR: NT-Xent contrastive loss between two augmented views (Chen et al., 2020)',
  section: '§4.12',
  params: METHOD_PARAMS.simclr,
  defaultPreset: 'simclr',
  onlineClassifierViews: 'all',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
    const projectionHead = simclrProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'));
    return projectedPairMethod(backbone, projectionHead, choiceParam(params, 'view_batches', VIEW_BATCHES), (z0, z1) => ({ loss: ntXentLoss(z0, z1, temperature) }));
  },
};
