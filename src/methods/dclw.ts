/**
 * DCLW (Yeh et al. 2022, "Decoupled Contrastive Learning", arXiv:2110.06848, the weighted
 * variant), as the Lightly benchmarks run it (METHODS.md §4.4): DCL (§4.3) with every positive
 * term weighted by the negative von Mises-Fisher weight of its pair:
 *
 *   for each view x_v (separate batches):  z_v = g(f(x_v))        f backbone, g SimCLRProjectionHead
 *   w_i = 2 − N·softmax_i(sg(ẑ_0,i·ẑ_1,i)/σ)                      σ = 0.5, over the local batch
 *   L = DCLW(z_0, z_1; τ, σ)                                      τ = 0.1
 *
 * Same head as DCL: (512, 128) on CIFAR-10. kNN uses f.
 */
import { dclwLoss } from '../losses';
import { simclrProjectionHead } from '../nn/heads';
import { numberParam, type Method } from './method';

export const dclw: Method = {
  id: 'dclw',
  section: '§4.4',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
    const sigma = numberParam(params, 'sigma');
    const projectionHead = simclrProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'));
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const z0 = projectionHead.forward(g, backbone.module.forward(f, x0));
        const z1 = projectionHead.forward(g, backbone.module.forward(f, x1));
        return { loss: dclwLoss(z0, z1, temperature, sigma) };
      },
    };
  },
};
