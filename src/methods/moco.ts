/**
 * MoCo v2 (He et al. 2020, arXiv:1911.05722; Chen et al. 2020, arXiv:2003.04297) as the Lightly docs
 * scripts run it (docs/methods.md §4.9): the symmetric variant with two enqueues per step.
 *
 *   θ_k ← m·θ_k + (1−m)·θ_q                              backbone and head, before the forward; m = 0.99
 *   for (a, b) in [(0, 1), (1, 0)]:
 *     q_a = g(f(x_a))                                     online query
 *     k_b = unshuffle(g_k(f_k(shuffle(x_b))))             momentum key, no gradient; shuffle-BN
 *     ℓ_ab = NT-Xent(q_a, k_b; queue)                     queue before this call, then k_b enqueued
 *   L = ½[ℓ_01 + ℓ_10]                                    τ = 0.1, queue 4096 × 128 (8192 starred rows)
 *
 * g = MoCoProjectionHead: Lin(D→hidden)–ReLU–Lin(hidden→out), (512, 128) on CIFAR-10. The CIFAR
 * script's SplitBatchNorm (8 splits) is a backbone setting (`backbone.split_bn: 8`); the key batch
 * shuffle is what makes it matter: samples share a split by index, and shuffling keeps a query's
 * key out of its batch-statistics group (the paper's shuffling BN on one device). Each key pass
 * draws a fresh permutation in TypeScript (`sampleInputs`) from the run's 'method' stream.
 * `symmetric: false` is the single loss of the ImageNet1k MoCoV2 script: query view 1, key view 0.
 * kNN uses f (the online backbone).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { gather, type Tensor } from '../graph';
import { mocoLoss, mocoSymmetricLoss } from '../losses';
import { mocoProjectionHead } from '../nn/heads';
import type { Rng } from '../data/rng';
import { memoryBankState } from './memory-bank-state';
import { booleanParam, numberParam, type Method, type SampledInput } from './method';
import { momentumCopies } from './projected-pair';

/** A permutation of 0..n−1 and its inverse (torch.randperm and argsort of it, as lightly's batch_shuffle). */
function permutationPair(rng: Rng, n: number): { shuffle: BigInt64Array; unshuffle: BigInt64Array } {
  const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const shuffle = new BigInt64Array(n);
  const unshuffle = new BigInt64Array(n);
  perm.forEach((from, to) => {
    shuffle[to] = BigInt(from);
    unshuffle[from] = BigInt(to);
  });
  return { shuffle, unshuffle };
}

export const moco: Method = {
  id: 'moco',
  label: 'Moco',
  description: 'Momentum Contrast v2: contrast against a queue of momentum-encoder keys (He et al., 2020; Chen et al., 2020)',
  section: '§4.9',
  params: METHOD_PARAMS.moco,
  defaultPreset: 'mocov2',
  create({ backbone, params, batchSize }) {
    const temperature = numberParam(params, 'temperature');
    const momentum = numberParam(params, 'momentum');
    const symmetric = booleanParam(params, 'symmetric');
    const shuffleBn = booleanParam(params, 'shuffle_bn');
    const outDim = numberParam(params, 'projection_out_dim');
    const projectionHead = mocoProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), outDim);
    const queue = memoryBankState('queue', numberParam(params, 'memory_bank_size'), outDim);
    const keyPasses = symmetric ? 2 : 1;
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        ...momentumCopies(backbone, projectionHead),
      ],
      state: [queue.bank, queue.ptr],
      evalBackbone: 'backbone',
      emaMomentum: () => momentum,
      sampleInputs(rng, b) {
        const inputs: Record<string, SampledInput> = {};
        if (!shuffleBn) return inputs;
        for (let pass = 0; pass < keyPasses; pass++) {
          const { shuffle, unshuffle } = permutationPair(rng, b);
          inputs[`moco.shuffle${pass}`] = { dtype: 'int64', data: shuffle, dims: [b] };
          inputs[`moco.unshuffle${pass}`] = { dtype: 'int64', data: unshuffle, dims: [b] };
        }
        return inputs;
      },
      buildLoss(step, [x0, x1]) {
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const fk = step.forward(backbone.module, { prefix: 'backbone_momentum' });
        const gk = step.forward(projectionHead, { prefix: 'projection_head_momentum' });
        const query = (x: Tensor) => projectionHead.forward(g, backbone.module.forward(f, x));
        let keyPass = 0;
        const key = (x: Tensor) => {
          const pass = keyPass++;
          if (!shuffleBn) return projectionHead.forward(gk, backbone.module.forward(fk, x));
          const shuffled = gather(x, step.input(`moco.shuffle${pass}`, [batchSize], 'int64'), 0);
          const k = projectionHead.forward(gk, backbone.module.forward(fk, shuffled));
          return gather(k, step.input(`moco.unshuffle${pass}`, [batchSize], 'int64'), 0);
        };
        const bank = step.state(queue.bank.name);
        const ptr = step.state(queue.ptr.name);
        // The docs script's order: query and key of the first pair, then of the swapped pair.
        let result;
        if (symmetric) {
          const q0 = query(x0);
          const k1 = key(x1);
          const q1 = query(x1);
          const k0 = key(x0);
          result = mocoSymmetricLoss({ q0, k1, q1, k0 }, bank, ptr, temperature);
        } else {
          result = mocoLoss(query(x1), key(x0), bank, ptr, temperature);
        }
        step.setState(queue.bank.name, result.bankNext);
        step.setState(queue.ptr.name, result.ptrNext);
        return { loss: result.loss };
      },
    };
  },
};
