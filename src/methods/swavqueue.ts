/**
 * SwaVQueue: SwaV with one queue of past projections per high-resolution crop, as the Imagenette
 * benchmark's SwaVQueueModel runs it (docs/methods.md §4.16): each queue (384 × 128) is a lightly
 * MemoryBankModule filled with that crop's L2-normalised projections at every step from epoch 0;
 * from `queue_start_epoch` (15) on, the prototype scores of the queue entries as they were before
 * this step's enqueue (no gradient) are appended below the crop's scores for Sinkhorn, and only the
 * batch's rows of the codes are kept. Prototypes frozen during epoch 0 (freeze_prototypes_epochs 1).
 * Everything else is SwaV (swav.ts). The ImageNet1k R50 SwAV script's queue (benchmarks/imagenet/
 * resnet50/swav.py) is the same module with queue_fill_start_epoch 15 (filled only from epoch 15)
 * and queue_after_batch 15 (scores used only when the batch index within the epoch is > 15).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { numberParam, type Method } from './method';
import { createSwav } from './swav';

export const swavqueue: Method = {
  id: 'swavqueue',
  label: 'SwaVQueue',
  description: 'SwAV with a feature queue feeding Sinkhorn for small batches (Caron et al., 2020)',
  section: '§4.16',
  params: METHOD_PARAMS.swavqueue,
  defaultPreset: 'swav',
  create: (ctx) => createSwav(ctx, {
    length: numberParam(ctx.params, 'queue_length'),
    startEpoch: numberParam(ctx.params, 'queue_start_epoch'),
    fillStartEpoch: numberParam(ctx.params, 'queue_fill_start_epoch'),
    afterBatch: typeof ctx.params.queue_after_batch === 'number' ? ctx.params.queue_after_batch : null,
  }),
};
