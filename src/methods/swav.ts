/**
 * SwaV (Caron et al. 2020, arXiv:2006.09882) as the Lightly benchmark scripts run it
 * (docs/methods.md §4.15; lightly docs/.../cifar10_benchmark.py SwaVModel):
 *
 *   prototypes.normalize()                            every weight row to unit length, before the step
 *   s_v = P(normalize(g(f(x_v))))                      every crop, high-resolution crops first
 *   L   = SwaVLoss(s_high, s_low)                      codes by Sinkhorn (ε 0.05, 3 iterations), τ 0.1
 *
 * g = SwaVProjectionHead Lin(D→h, nb)–BN–ReLU–Lin(h→out); P = SwaVPrototypes, a Linear(out→K) with
 * bias (512 prototypes on CIFAR-10). The normalisation is a pre-forward transform: the forward
 * pass, the gradient and the optimizer all see the normalised rows, as with the in-place
 * `w.data = normalize(w.data)` of the reference. `freeze_prototypes_epochs` k keeps the prototypes
 * out of the update while epoch < k (requires_grad switched by the epoch passed as `step`).
 * SwaVQueue (swavqueue.ts) adds per-crop queues. kNN uses f.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { greater, l2Normalize, stopGradient, where, type Tensor } from '../graph';
import { memoryBankUpdate } from '../losses/memory-bank';
import { swavLoss } from '../losses/swav';
import { swavProjectionHead } from '../nn/heads';
import { SwavPrototypes, normalizePrototypeRows } from '../nn/swav-prototypes';
import { memoryBankState } from './memory-bank-state';
import { numberParam, type Method, type MethodContext, type MethodInstance, type MethodState, type ParamGroup, type SchedulePoint } from './method';
import { requireMultiCropViews } from './multi-crop';

export const SWAV_USE_QUEUE = 'swav.use_queue';
export const SWAV_FILL_QUEUE = 'swav.fill_queue';

export interface SwavQueueOptions {
  length: number;
  /** Queue scores join Sinkhorn from this epoch on. */
  startEpoch: number;
  /** The queues are filled from this epoch on (Imagenette 0; ImageNet1k R50 15, with the scores). */
  fillStartEpoch: number;
  /** Scores are used only when the batch index within the epoch exceeds this (ImageNet1k R50: 15). */
  afterBatch: number | null;
}

/** 0-based index of the step within its epoch. */
const batchIndex = (at: SchedulePoint): number => at.globalStep - at.epoch * (at.totalSteps / at.totalEpochs);

export function createSwav({ backbone, params, config }: MethodContext, queue: SwavQueueOptions | null): MethodInstance {
  const { global, local } = requireMultiCropViews(config, queue ? 'swavqueue' : 'swav', 1, 2);
  const outDim = numberParam(params, 'projection_out_dim');
  const projectionHead = swavProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), outDim);
  const prototypes = new SwavPrototypes(outDim, numberParam(params, 'prototypes'));
  const frozenEpochs = numberParam(params, 'freeze_prototypes_epochs');
  const lossOptions = {
    temperature: numberParam(params, 'temperature'),
    sinkhornIterations: numberParam(params, 'sinkhorn_iterations'),
    sinkhornEpsilon: numberParam(params, 'sinkhorn_epsilon'),
  };
  const queues = queue ? Array.from({ length: global }, (_, i) => memoryBankState(`swav.queue${i}`, queue.length, outDim)) : [];
  const paramGroups: ParamGroup[] = frozenEpochs > 0
    ? [{ name: 'swav_prototypes', params: (n) => n.startsWith('prototypes.'), trains: (at) => at.epoch >= frozenEpochs }]
    : [];
  const state: MethodState[] = queues.flatMap((q) => [q.bank, q.ptr]);
  return {
    views: global + local,
    networks: [
      { prefix: 'backbone', module: backbone.module, role: 'trained' },
      { prefix: 'projection_head', module: projectionHead, role: 'trained' },
      { prefix: 'prototypes', module: prototypes, role: 'trained' },
    ],
    state,
    evalBackbone: 'backbone',
    paramGroups,
    transforms: [{ name: 'normalize-prototypes', stage: 'pre-forward', targets: (n) => n === 'prototypes.heads.0.weight', apply: (w) => normalizePrototypeRows(w) }],
    ...(queue ? {
      scalars: {
        [SWAV_USE_QUEUE]: (at: SchedulePoint) => (at.epoch >= queue.startEpoch && (queue.afterBatch === null || batchIndex(at) > queue.afterBatch) ? 1 : 0),
        [SWAV_FILL_QUEUE]: (at: SchedulePoint) => (at.epoch >= queue.fillStartEpoch ? 1 : 0),
      },
    } : {}),
    buildLoss(step, views) {
      const f = step.forward(backbone.module, { prefix: 'backbone' });
      const g = step.forward(projectionHead, { prefix: 'projection_head' });
      const p = step.forward(prototypes, { prefix: 'prototypes' });
      const features = views.map((x) => l2Normalize(projectionHead.forward(g, backbone.module.forward(f, x))));
      const scores = features.map((z) => prototypes.forward(p, z));
      if (!queue) return { loss: swavLoss(scores.slice(0, global), scores.slice(global), lossOptions) };
      // Each high-resolution crop's queue: scores of the entries before this step's enqueue
      // (prototypes applied without gradient), then this step's normalised projections go in
      // (from the fill epoch on; before it the queue keeps its value).
      const fill = greater(step.scalar(SWAV_FILL_QUEUE), 0.5);
      const queueScores: Tensor[] = queues.map((q, i) => {
        const bank = step.state(q.bank.name);
        const ptr = step.state(q.ptr.name);
        const { bankBefore, bankNext, ptrNext } = memoryBankUpdate(bank, ptr, features[i]);
        step.setState(q.bank.name, where(fill, bankNext, bank));
        step.setState(q.ptr.name, where(fill, ptrNext, ptr));
        return stopGradient(prototypes.forward(p, bankBefore));
      });
      return { loss: swavLoss(scores.slice(0, global), scores.slice(global), { ...lossOptions, queueScores, useQueue: step.scalar(SWAV_USE_QUEUE) }) };
    },
  };
}

export const swav: Method = {
  id: 'swav',
  label: 'SwaV',
  description: 'SwAV: swapped prediction of Sinkhorn cluster assignments over multi-crops (Caron et al., 2020)',
  section: '§4.15',
  params: METHOD_PARAMS.swav,
  defaultPreset: 'swav',
  create: (ctx) => createSwav(ctx, null),
};
