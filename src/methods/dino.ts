/**
 * DINO (Caron et al. 2021, arXiv:2104.14294) as the Lightly benchmark scripts run it
 * (docs/methods.md §4.5; lightly docs/.../cifar10_benchmark.py DINOModel):
 *
 *   θ_t ← m·θ_t + (1−m)·θ_s                           teacher backbone + head, before the forward; m = 0.99
 *   g_t = h_t(f_t(x_v)) for the global views v         teacher: no gradient
 *   g_s = h_s(f_s(x_v)) for every view, globals first  student
 *   L   = DINOLoss(g_t, g_s; centre c, τ_t(epoch), τ_s)   c ← 0.9·c + 0.1·mean(g_t) after the loss
 *
 * h = DINOProjectionHead: MLP → L2 → weight-normalised Linear (src/nn/dino-head.ts). CIFAR-10 replaces
 * the MLP by Lin(512→2048, nb)–BN–GELU–Lin(2048→256) with torch's default init; the teacher backbone
 * is a deep copy, the teacher head is built separately (its own init). With norm_last_layer the
 * weight-norm magnitude g never trains (requires_grad = False); `freeze_last_layer_epochs` drops the
 * whole last layer's update while epoch < k (cancel_last_layer_gradients). τ_t follows lightly's
 * linear warmup by epoch. `weight_decay_end` turns the weight decay into the cosine schedule of the
 * ImageNet1k ViT recipe (train.optimizer.weight_decay → end over global steps). kNN embeds with
 * the student backbone (docs scripts) or the teacher (ImageNet1k), `eval_backbone`. `view_batches:
 * grouped` forwards the global views as one batch and the local views as another (the ImageNet1k
 * scripts' torch.cat), instead of one batch per view.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { concat, split, type Tensor } from '../graph';
import { teacherTemperature, dinoLoss } from '../losses/dino';
import { cosineValue } from '../optim';
import { DinoProjectionHead } from '../nn/dino-head';
import { booleanParam, numberParam, type Method, type ParamGroup, type SchedulePoint } from './method';
import { requireMultiCropViews } from './multi-crop';

export const DINO_CENTER = 'dino.center';
export const DINO_TEACHER_TEMPERATURE = 'dino.teacher_temperature';

export const dino: Method = {
  id: 'dino',
  label: 'DINO',
  description: 'Self-distillation with no labels: student matches a centred, sharpened EMA teacher (Caron et al., 2021)',
  section: '§4.5',
  params: METHOD_PARAMS.dino,
  defaultPreset: 'dino',
  create({ backbone, params, config }) {
    const { global, local } = requireMultiCropViews(config, 'dino', 1, 2);
    const output = numberParam(params, 'output_dim');
    const layers = numberParam(params, 'projection_layers');
    if (layers !== 2 && layers !== 3) throw new Error(`method.params.projection_layers: expected 2 or 3, got ${layers}`);
    const head = new DinoProjectionHead({
      input: backbone.featureDim,
      hidden: numberParam(params, 'projection_hidden_dim'),
      bottleneck: numberParam(params, 'bottleneck_dim'),
      output,
      layers,
      batchNorm: booleanParam(params, 'batch_norm'),
      mlpInit: params.head_init === 'trunc_normal' ? { truncNormalStd: numberParam(params, 'head_trunc_normal_std') } : 'torch',
      sharedBatchNorm: booleanParam(params, 'head_shared_batch_norm'),
    });
    const normLastLayer = booleanParam(params, 'norm_last_layer');
    const freezeEpochs = numberParam(params, 'freeze_last_layer_epochs');
    const wdEnd = params.weight_decay_end;
    const momentumStart = numberParam(params, 'momentum_start');
    const momentumEnd = numberParam(params, 'momentum_end');
    const studentTemp = numberParam(params, 'student_temperature');
    const centerMomentum = numberParam(params, 'center_momentum');
    const warmupTemp = numberParam(params, 'warmup_teacher_temperature');
    const finalTemp = numberParam(params, 'teacher_temperature');
    const warmupEpochs = numberParam(params, 'warmup_teacher_temperature_epochs');
    const grouped = params.view_batches === 'grouped';

    const weightDecay = typeof wdEnd === 'number'
      ? { weightDecay: (at: SchedulePoint, configured: number) => cosineValue(at.globalStep, at.totalSteps, configured, wdEnd) }
      : {};
    const lastLayerTrains = (at: SchedulePoint) => at.epoch >= freezeEpochs;
    const paramGroups: ParamGroup[] = [
      // lightly clips the gradients, then cancels the last layer's in its frozen epochs
      // (ImageNet1k R50 script: clip_gradients, then cancel_last_layer_gradients), so those still
      // count in the clip norm; a frozen norm (requires_grad False) never has a gradient.
      { name: 'dino_last_layer_g', params: (n) => n === 'head.last_layer.weight_g', trains: (at) => !normLastLayer && lastLayerTrains(at), clippedWhileFrozen: !normLastLayer, ...weightDecay },
      ...(freezeEpochs > 0 ? [{ name: 'dino_last_layer', params: (n: string) => n === 'head.last_layer.weight_v', trains: lastLayerTrains, clippedWhileFrozen: true, ...weightDecay }] : []),
      ...(typeof wdEnd === 'number' ? [{ name: 'dino', params: () => true, ...weightDecay }] : []),
    ];
    return {
      views: global + local,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'head', module: head, role: 'trained' },
        { prefix: 'teacher_backbone', module: backbone.module, role: 'ema', emaOf: 'backbone', ...(params.teacher_backbone_init === 'independent' ? {} : { initFrom: 'backbone' }) },
        { prefix: 'teacher_head', module: head, role: 'ema', emaOf: 'head' },
      ],
      state: [{ name: DINO_CENTER, shape: [1, output], dtype: 'float32', initial: () => new Float32Array(output) }],
      evalBackbone: params.eval_backbone === 'teacher' ? 'teacher_backbone' : 'backbone',
      emaMomentum: (at) => cosineValue(at.globalStep, at.totalSteps, momentumStart, momentumEnd),
      scalars: { [DINO_TEACHER_TEMPERATURE]: (at) => teacherTemperature(at.epoch, warmupTemp, finalTemp, warmupEpochs) },
      paramGroups,
      buildLoss(step, views) {
        const fs = step.forward(backbone.module, { prefix: 'backbone' });
        const hs = step.forward(head, { prefix: 'head' });
        const ft = step.forward(backbone.module, { prefix: 'teacher_backbone' });
        const ht = step.forward(head, { prefix: 'teacher_head' });
        // The docs scripts' order: the teacher on the global views, then the student on every view,
        // one batch per view; grouped (ImageNet1k scripts): the globals as one batch, the locals as
        // another, which changes the batch-norm statistics.
        const run = (f: typeof fs, h: typeof hs, xs: readonly Tensor[]): Tensor[] => {
          if (!grouped) return xs.map((x) => head.forward(h, backbone.module.forward(f, x)));
          return xs.length === 0 ? [] : split(head.forward(h, backbone.module.forward(f, concat([...xs], 0))), xs.length, 0);
        };
        const teacherOut = run(ft, ht, views.slice(0, global));
        const studentOut = [...run(fs, hs, views.slice(0, global)), ...run(fs, hs, views.slice(global))];
        const { loss, centerNext } = dinoLoss(teacherOut, studentOut, step.state(DINO_CENTER), {
          teacherTemp: step.scalar(DINO_TEACHER_TEMPERATURE), studentTemp, centerMomentum,
        });
        step.setState(DINO_CENTER, centerNext);
        return { loss };
      },
    };
  },
};
