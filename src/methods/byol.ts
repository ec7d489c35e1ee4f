/**
 * BYOL (Grill et al. 2020, "Bootstrap Your Own Latent", arXiv:2006.07733), as the Lightly docs
 * scripts run it (docs/methods.md §4.2):
 *
 *   θ_t ← m·θ_t + (1−m)·θ                   target backbone and projection, before the forward
 *   for each view x_v (separate batches):  p_v = q(g(f(x_v))),  z'_v = g_t(f_t(x_v))   (no gradient)
 *   L = ½[NC(p_0, z'_1) + NC(p_1, z'_0)]     NC = −mean cos; the mean of the two directions
 *
 * CIFAR-10: g = BYOLProjectionHead(D, 1024, 256), q = BYOLPredictionHead(256, 1024, 256), both
 * Lin(in→h, no bias)–BN–ReLU–Lin(h→out); the target is a deep copy; m = 0.99 constant
 * (`momentum_start` = `momentum_end`; otherwise lightly's cosine schedule over global steps).
 * kNN uses f (the online backbone).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { byolLoss } from '../losses';
import { cosineValue } from '../optim';
import { byolPredictionHead, byolProjectionHead } from '../nn/heads';
import { numberParam, type Method } from './method';
import { momentumCopies } from './projected-pair';

export const byol: Method = {
  id: 'byol',
  label: 'BYOL',
  description: 'Bootstrap Your Own Latent: predictor against an EMA target network (Grill et al., 2020)',
  section: '§4.2',
  params: METHOD_PARAMS.byol,
  defaultPreset: 'byol',
  create({ backbone, params }) {
    const outDim = numberParam(params, 'projection_out_dim');
    const projectionHead = byolProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), outDim);
    const predictionHead = byolPredictionHead(outDim, numberParam(params, 'prediction_hidden_dim'), outDim);
    const momentumStart = numberParam(params, 'momentum_start');
    const momentumEnd = numberParam(params, 'momentum_end');
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'prediction_head', module: predictionHead, role: 'trained' },
        ...momentumCopies(backbone, projectionHead),
      ],
      evalBackbone: 'backbone',
      emaMomentum: (at) => cosineValue(at.globalStep, at.totalSteps, momentumStart, momentumEnd),
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const q = step.forward(predictionHead, { prefix: 'prediction_head' });
        const ft = step.forward(backbone.module, { prefix: 'backbone_momentum' });
        const gt = step.forward(projectionHead, { prefix: 'projection_head_momentum' });
        const online = (x: typeof x0) => predictionHead.forward(q, projectionHead.forward(g, backbone.module.forward(f, x)));
        const target = (x: typeof x0) => projectionHead.forward(gt, backbone.module.forward(ft, x));
        const p0 = online(x0);
        const z0 = target(x0);
        const p1 = online(x1);
        const z1 = target(x1);
        return { loss: byolLoss(p0, p1, z0, z1, 'mean') };
      },
    };
  },
};
