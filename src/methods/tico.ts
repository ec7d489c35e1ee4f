/**
 * TiCo (Zhu et al. 2022, "TiCo: Transformation Invariance and Covariance Contrast for
 * Self-Supervised Visual Representation Learning", arXiv:2206.10698), as the Lightly benchmarks run
 * it (docs/methods.md §4.18):
 *
 *   θ_t ← m·θ_t + (1−m)·θ                   momentum backbone and head, before the forward
 *   z_a = g(f(x_0)),  z_b = g_t(f_t(x_1))    online view 0, momentum view 1 (no gradient)
 *   C = β·C_prev + (1−β)·sg(ẑ_aᵀ ẑ_a)/N      running covariance, state (zeros at the start)
 *   L = 1 − mean_i(ẑ_a,i·ẑ_b,i) + ρ·mean_i(ẑ_a,iᵀ C ẑ_a,i)              β = 0.9, ρ = 8
 *
 * Imagenette: g = TiCoProjectionHead(D, 1024, 256): Lin(D→1024, no bias)–BN–ReLU–Lin(1024→256);
 * m follows lightly's cosine schedule 0.996 → 1.0 evaluated on the *epoch* index. One asymmetric
 * term per step. kNN uses f (the online backbone). `detach_batch_covariance: false` (and ρ = 20 on
 * Imagenette) is how the published rows were run (§4.21).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { ticoLoss } from '../losses';
import { cosineValue } from '../optim';
import { ticoProjectionHead } from '../nn/heads';
import { booleanParam, numberParam, type Method, type MethodState } from './method';
import { momentumCopies } from './projected-pair';

export const tico: Method = {
  id: 'tico',
  label: 'TiCo',
  description: 'Transformation Invariance and Covariance Contrast (Zhu et al., 2022)',
  section: '§4.18',
  params: METHOD_PARAMS.tico,
  defaultPreset: 'tico',
  create({ backbone, params }) {
    const beta = numberParam(params, 'beta');
    const rho = numberParam(params, 'rho');
    const detachBatchCovariance = booleanParam(params, 'detach_batch_covariance');
    const outDim = numberParam(params, 'projection_out_dim');
    const projectionHead = ticoProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), outDim);
    const momentumStart = numberParam(params, 'momentum_start');
    const momentumEnd = numberParam(params, 'momentum_end');
    const covariance: MethodState = { name: 'tico.C', shape: [outDim, outDim], dtype: 'float32', initial: () => new Float32Array(outDim * outDim) };
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        ...momentumCopies(backbone, projectionHead),
      ],
      state: [covariance],
      evalBackbone: 'backbone',
      emaMomentum: (at) => cosineValue(at.epoch, at.totalEpochs, momentumStart, momentumEnd),
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const ft = step.forward(backbone.module, { prefix: 'backbone_momentum' });
        const gt = step.forward(projectionHead, { prefix: 'projection_head_momentum' });
        const za = projectionHead.forward(g, backbone.module.forward(f, x0));
        const zb = projectionHead.forward(gt, backbone.module.forward(ft, x1));
        const { loss, cNext } = ticoLoss(za, zb, step.state(covariance.name), beta, rho, detachBatchCovariance);
        step.setState(covariance.name, cNext);
        return { loss };
      },
    };
  },
};
