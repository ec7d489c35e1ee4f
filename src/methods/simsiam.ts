/**
 * SimSiam (Chen & He 2021, "Exploring Simple Siamese Representation Learning", arXiv:2011.10566),
 * as the Lightly benchmarks run it (docs/methods.md §4.14):
 *
 *   for each view x_v (separate batches):  z_v = g(f(x_v)),  p_v = h(z_v)
 *   L = ½[NC(p_1, sg z_0) + NC(p_0, sg z_1)]          NC = −mean cos; no momentum network
 *
 * CIFAR-10 (`projection_layers: 2`): g = Lin(D→2048, no bias)–BN–ReLU–Lin(2048→2048, no bias)–BN(2048,
 * affine); Imagenette/ImageNet100 (`projection_layers: 3`): SimSiamProjectionHead, last BN without
 * affine. h = SimSiamPredictionHead(2048, 512, 2048). Optimiser: lr 0.06 without batch scaling
 * (a config setting). kNN uses f.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { simSiamLoss } from '../losses';
import { simclrProjectionHead, simsiamPredictionHead, simsiamProjectionHead } from '../nn/heads';
import type { Backbone } from '../nn/backbones';
import type { ParamValue } from '../config';
import { numberParam, type Method } from './method';

/** SimSiam's projection and prediction heads (shared with FastSiam, docs/methods.md §4.6). */
export function simsiamHeads(backbone: Backbone, params: Record<string, ParamValue>) {
  const hidden = numberParam(params, 'projection_hidden_dim');
  const outDim = numberParam(params, 'projection_out_dim');
  const projectionHead = numberParam(params, 'projection_layers') === 3
    ? simsiamProjectionHead(backbone.featureDim, hidden, outDim)
    : simclrProjectionHead(backbone.featureDim, hidden, outDim);
  const predictionHead = simsiamPredictionHead(outDim, numberParam(params, 'prediction_hidden_dim'), outDim);
  return { projectionHead, predictionHead };
}

export const simsiam: Method = {
  id: 'simsiam',
  label: 'SimSiam',
  description: 'SimSiam: siamese prediction with stop-gradient, no negatives (Chen & He, 2021)',
  section: '§4.14',
  params: METHOD_PARAMS.simsiam,
  defaultPreset: 'simsiam',
  create({ backbone, params }) {
    const { projectionHead, predictionHead } = simsiamHeads(backbone, params);
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'prediction_head', module: predictionHead, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const h = step.forward(predictionHead, { prefix: 'prediction_head' });
        const z0 = projectionHead.forward(g, backbone.module.forward(f, x0));
        const p0 = predictionHead.forward(h, z0);
        const z1 = projectionHead.forward(g, backbone.module.forward(f, x1));
        const p1 = predictionHead.forward(h, z1);
        return { loss: simSiamLoss(p0, p1, z0, z1) };
      },
    };
  },
};
