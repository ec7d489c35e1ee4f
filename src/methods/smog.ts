/**
 * SMoG (Pang et al. 2022, "Unsupervised Visual Representation Learning by Synchronous Momentum
 * Grouping", arXiv:2207.06167), as the Lightly benchmarks run it (docs/methods.md §4.17; lightly
 * `cifar10_benchmark.py SMoGModel.training_step`):
 *
 *   every reset_interval steps (s > 0):  G ← normalize(kmeans(bank, K));  θ_m ← θ (fresh copies)     host, beforeStep
 *   otherwise:                           θ_m ← m·θ_m + (1−m)·θ                                        m = 0.99
 *   odd batch index (within the epoch):  swap the two views
 *   e0 = g(f(x0)), p0 = q(e0), e1 = g_m(f_m(x1))
 *   L = CE(cos(p0, G')/τ, argmax_g cos(e1, G)),  G ← sg(G')      group update with β (losses/smog.ts)
 *   enqueue e0 (raw) into the bank of `memory_bank_size` rows
 *
 * g = SMoGProjectionHead (Lin–BN–ReLU–Lin–BN without affine), q = SMoGPredictionHead; groups start
 * as L2-normalised U(0, 1) rows, the bank as lightly's MemoryBankModule (normalised N(0, 1) rows).
 * The k-means is scikit-learn's KMeans(K) with its 1.2 defaults (methods/kmeans.ts), seeded from the
 * run's 'method' stream. kNN uses f.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { greater, type Tensor, where } from '../graph';
import { memoryBankUpdate, smogLoss } from '../losses';
import { smogPredictionHead, smogProjectionHead } from '../nn/heads';
import { kmeans } from './kmeans';
import { memoryBankState } from './memory-bank-state';
import { numberParam, type HostStepAccess, type Method, type MethodState, type SchedulePoint } from './method';
import { momentumCopies } from './projected-pair';

const SWAP = 'smog.swap';

/** Whether the step at `at` re-clusters the groups and resets the momentum networks. */
export function isResetStep(at: SchedulePoint, interval: number): boolean {
  return at.globalStep > 0 && at.globalStep % interval === 0;
}

/** Lightning's batch_idx: the step's index within its epoch (every epoch has the same number of steps). */
export function batchIndex(at: SchedulePoint): number {
  const perEpoch = Math.round(at.totalSteps / at.totalEpochs);
  return at.globalStep - at.epoch * perEpoch;
}

/** Rows of `dim` U(0, 1) values, each scaled to unit L2 norm (normalize(torch.rand(K, D), dim=1)). */
export function normalisedUniformRows(rng: { uniform(): number }, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      row[d] = rng.uniform();
      sq += row[d] * row[d];
    }
    const norm = Math.max(Math.sqrt(sq), 1e-12);
    for (let d = 0; d < dim; d++) out[r * dim + d] = row[d] / norm;
  }
  return out;
}

/** k-means centres of the [size, dim] bank, each L2-normalised, as float32 groups [k, dim]. */
export async function clusterBank(bank: Float32Array, size: number, dim: number, k: number, seed: number, nInit: number): Promise<Float32Array> {
  const { centers } = await kmeans(bank, size, dim, k, { seed, nInit });
  const groups = new Float32Array(k * dim);
  for (let j = 0; j < k; j++) {
    const c = Array.from(Float32Array.from(centers.subarray(j * dim, (j + 1) * dim)));
    const norm = Math.max(Math.sqrt(c.reduce((s, v) => s + v * v, 0)), 1e-12);
    c.forEach((v, f) => (groups[j * dim + f] = v / norm));
  }
  return groups;
}

/** Copies every parameter and buffer of `from.*` onto `to.*` (copy.deepcopy of the online network). */
export function copyNetwork(host: HostStepAccess, from: string, to: string): void {
  for (const name of host.names) {
    if (!name.startsWith(`${from}.`)) continue;
    const target = `${to}${name.slice(from.length)}`;
    if (host.names.includes(target)) host.write(target, host.read(name));
  }
}

export const smog: Method = {
  id: 'smog',
  label: 'SMoG',
  description: 'Synchronous Momentum Grouping: group-level contrast with k-means resets (Pang et al., 2022)',
  section: '§4.17',
  params: METHOD_PARAMS.smog,
  defaultPreset: 'smog',
  create({ backbone, params }) {
    const k = numberParam(params, 'groups');
    const beta = numberParam(params, 'group_momentum');
    const temperature = numberParam(params, 'temperature');
    const bankSize = numberParam(params, 'memory_bank_size');
    const interval = numberParam(params, 'reset_interval');
    const momentum = numberParam(params, 'momentum');
    const nInit = numberParam(params, 'kmeans_n_init');
    const dim = numberParam(params, 'projection_out_dim');
    const projectionHead = smogProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), dim);
    const predictionHead = smogPredictionHead(dim, numberParam(params, 'prediction_hidden_dim'), dim);
    const groups: MethodState = { name: 'smog.groups', shape: [k, dim], dtype: 'float32', initial: (rng) => normalisedUniformRows(rng, k, dim) };
    const bank = memoryBankState('smog', bankSize, dim);
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'prediction_head', module: predictionHead, role: 'trained' },
        ...momentumCopies(backbone, projectionHead),
      ],
      state: [groups, bank.bank, bank.ptr],
      evalBackbone: 'backbone',
      // A reset step copies the online networks in beforeStep; momentum 1 leaves the copies as they are.
      emaMomentum: (at) => (isResetStep(at, interval) ? 1 : momentum),
      scalars: { [SWAP]: (at) => batchIndex(at) % 2 },
      async beforeStep(at, host) {
        if (!isResetStep(at, interval)) return;
        const seed = host.rng.int(2 ** 32);
        host.write(groups.name, await clusterBank(host.read(bank.bank.name) as Float32Array, bankSize, dim, k, seed, nInit));
        copyNetwork(host, 'backbone', 'backbone_momentum');
        copyNetwork(host, 'projection_head', 'projection_head_momentum');
      },
      buildLoss(step, [v0, v1]) {
        const swap = greater(step.scalar(SWAP), 0.5);
        const x0: Tensor = where(swap, v1, v0);
        const x1: Tensor = where(swap, v0, v1);
        const f = step.forward(backbone.module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const q = step.forward(predictionHead, { prefix: 'prediction_head' });
        const fm = step.forward(backbone.module, { prefix: 'backbone_momentum' });
        const gm = step.forward(projectionHead, { prefix: 'projection_head_momentum' });
        const e0 = projectionHead.forward(g, backbone.module.forward(f, x0));
        const p0 = predictionHead.forward(q, e0);
        const e1 = projectionHead.forward(gm, backbone.module.forward(fm, x1));
        const { loss, groupsNext } = smogLoss({ e0, p0, e1 }, step.state(groups.name), beta, temperature);
        step.setState(groups.name, groupsNext);
        const { bankNext, ptrNext } = memoryBankUpdate(step.state(bank.bank.name), step.state(bank.ptr.name), e0);
        step.setState(bank.bank.name, bankNext);
        step.setState(bank.ptr.name, ptrNext);
        return { loss };
      },
    };
  },
};
