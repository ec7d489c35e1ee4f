/**
 * DCL (Yeh et al. 2022, "Decoupled Contrastive Learning", arXiv:2110.06848), as the Lightly
 * benchmarks run it (METHODS.md §4.3):
 *
 *   for each view x_v (separate batches):  z_v = g(f(x_v))        f backbone, g SimCLRProjectionHead
 *   L = DCL(z_0, z_1; τ)                                          positive left out of the denominator, τ = 0.1
 *
 * g = Lin(D→hidden, no bias)–BN–ReLU–Lin(hidden→out, no bias)–BN(out), (512, 128) on CIFAR-10. kNN uses f.
 */
import { dclLoss } from '../losses';
import { simclrProjectionHead } from '../nn/heads';
import { numberParam, type Method } from './method';

export const dcl: Method = {
  id: 'dcl',
  section: '§4.3',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
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
        return { loss: dclLoss(z0, z1, temperature) };
      },
    };
  },
};
