/**
 * NNCLR (Dwibedi et al. 2021, "With a Little Help from My Friends: Nearest-Neighbor Contrastive
 * Learning of Visual Representations", arXiv:2104.14548), as the Lightly benchmarks run it
 * (docs/methods.md §4.10):
 *
 *   for each view x_v (separate batches):  z_v = g(f(x_v)),  p_v = h(z_v)
 *   nn_v = NN(sg z_v; support set)          most cosine-similar stored projection, set before this step
 *   L = ½[NT-Xent(nn_0, p_1) + NT-Xent(nn_1, p_0)]                τ = 0.5, no bank in the NT-Xent
 *   enqueue z_1 (raw, detached)                                   support set 4096 × 256 (8192 starred rows)
 *
 * CIFAR-10: g = Lin(D→2048, no bias)–BN–ReLU–Lin(2048→256, no bias)–BN (`projection_layers: 2`);
 * Imagenette/ImageNet100: NNCLRProjectionHead with 3 Linears (`projection_layers: 3`).
 * h = NNCLRPredictionHead: Lin(256→4096, no bias)–BN–ReLU–Lin(4096→256). kNN uses f.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { nnclrLoss } from '../losses';
import { nnclrPredictionHead, nnclrProjectionHead, simclrProjectionHead } from '../nn/heads';
import { memoryBankState } from './memory-bank-state';
import { numberParam, type Method } from './method';

export const nnclr: Method = {
  id: 'nnclr',
  label: 'NNCLR',
  description: 'Nearest-Neighbour Contrastive Learning: positives from a support set (Dwibedi et al., 2021)',
  section: '§4.10',
  params: METHOD_PARAMS.nnclr,
  defaultPreset: 'simclr',
  create({ backbone, params }) {
    const temperature = numberParam(params, 'temperature');
    const hidden = numberParam(params, 'projection_hidden_dim');
    const outDim = numberParam(params, 'projection_out_dim');
    const projectionHead = numberParam(params, 'projection_layers') === 3
      ? nnclrProjectionHead(backbone.featureDim, hidden, outDim)
      : simclrProjectionHead(backbone.featureDim, hidden, outDim);
    const predictionHead = nnclrPredictionHead(outDim, numberParam(params, 'prediction_hidden_dim'), outDim);
    const supportSet = memoryBankState('support_set', numberParam(params, 'memory_bank_size'), outDim);
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'prediction_head', module: predictionHead, role: 'trained' },
      ],
      state: [supportSet.bank, supportSet.ptr],
      evalBackbone: 'backbone',
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const h = step.forward(predictionHead, { prefix: 'prediction_head' });
        const z0 = projectionHead.forward(g, backbone.module.forward(f, x0));
        const p0 = predictionHead.forward(h, z0);
        const z1 = projectionHead.forward(g, backbone.module.forward(f, x1));
        const p1 = predictionHead.forward(h, z1);
        const { loss, bankNext, ptrNext } = nnclrLoss({ z0, z1, p0, p1 }, step.state(supportSet.bank.name), step.state(supportSet.ptr.name), temperature);
        step.setState(supportSet.bank.name, bankNext);
        step.setState(supportSet.ptr.name, ptrNext);
        return { loss };
      },
    };
  },
};
