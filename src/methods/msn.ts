/**
 * MSN (Assran et al. 2022, "Masked Siamese Networks for Label-Efficient Learning",
 * arXiv:2204.07141) as Lightly's Imagenette benchmark runs it (docs/methods.md §4.8;
 * imagenette_benchmark.py MSNModel):
 *
 *   θ_t ← m·θ_t + (1−m)·θ                 target ViT and head follow the anchor ones, m = 0.996, before the forward
 *   z_t = g_t(f_t(x_0))                    view 0 (random size), unmasked, no gradient
 *   z_a = g(f(x_1; keep_1))                view 1 (random size), random_token_mask ratio 0.15
 *   z_f = g(f(x_2..x_11; keep_f))          the 10 focal views as one batch, ratio 0.15
 *   L = MSNLoss([z_a; z_f], z_t, sg(W))    losses/msn.ts; W = 1024 × 256 prototypes
 *
 * f: ViT-S/16 (class token), g: MSNProjectionHead(384, 2048, 256) (Lin–BN–GELU–Lin–BN–GELU–Lin).
 * The prototypes are passed to the loss as `.data`, so they never receive a gradient and stay at
 * their nn.Linear initialisation (a frozen network here). The masks index a sequence of length
 * (size / patch)² — the number of patches, class token at 0 — so the last patch is never kept
 * (methods/token-mask.ts). kNN uses the *target* ViT's class token.
 *
 * Views come from the msn preset: n_random_views random-size views (the first is the target's,
 * the others are anchors batched together), then n_focal_views focal views batched together.
 * PMSN (methods/pmsn.ts) is this method with another prototype regulariser.
 */
import { METHOD_PARAMS } from '../config/method-params';
import { concat, type Tensor } from '../graph';
import { presetFields } from '../augment/presets';
import { UserError } from '../errors';
import { msnLoss, type PrototypeRegulariser } from '../losses/msn';
import { msnProjectionHead } from '../nn/heads';
import { torchDefaultWeight } from '../nn/init';
import { Module, type ForwardContext } from '../nn/module';
import type { ParamValue } from '../config';
import { numberParam, type Method, type SampledInput } from './method';
import { randomTokenMask, tokensKept } from './token-mask';
import { patchesOf, vitOf } from './vit-backbone';

/** The prototype matrix W [K, D] (nn.Linear(D, K, bias=False).weight and its default init). */
export class Prototypes extends Module {
  constructor(readonly count: number, readonly dim: number) {
    super();
    this.registerParameter('weight', [count, dim], torchDefaultWeight(dim), 'weight');
  }

  forward(ctx: ForwardContext): Tensor {
    return ctx.param('weight');
  }
}

export function msnMethod(id: 'msn' | 'pmsn', section: string, regulariser: (params: Record<string, ParamValue>) => PrototypeRegulariser | undefined): Pick<Method, 'id' | 'section' | 'create'> {
  return {
    id,
    section,
    create({ backbone, params, config, batchSize }) {
      const vit = vitOf(id, backbone);
      if (config.augmentation.preset !== 'msn') {
        throw new UserError(`augmentation.preset: method ${id} consumes the msn preset's random and focal views, got '${config.augmentation.preset}'`);
      }
      const fields = presetFields('msn', config.augmentation.overrides);
      const nRandom = fields.n_random_views as number;
      const nFocal = fields.n_focal_views as number;
      if (nRandom < 2) throw new UserError(`augmentation.overrides.n_random_views: method ${id} needs at least 2 (one target view, one or more anchors), got ${nRandom}`);
      const randomPatches = patchesOf(id, vit, config.augmentation.input_size, 'augmentation.input_size');
      const focalPatches = nFocal > 0 ? patchesOf(id, vit, fields.focal_size as number, 'augmentation.overrides.focal_size') : 0;
      const ratio = numberParam(params, 'mask_ratio');
      const anchorGroups = [
        { name: `${id}.keep_random`, views: nRandom - 1, patches: randomPatches },
        ...(nFocal > 0 ? [{ name: `${id}.keep_focal`, views: nFocal, patches: focalPatches }] : []),
      ];
      const outDim = numberParam(params, 'projection_out_dim');
      const head = msnProjectionHead(vit.featureDim, numberParam(params, 'projection_hidden_dim'), outDim);
      const prototypes = new Prototypes(numberParam(params, 'prototypes'), outDim);
      const lossOptions = {
        temperature: numberParam(params, 'temperature'),
        sharpenTemperature: numberParam(params, 'sharpen_temperature'),
        sinkhornIterations: numberParam(params, 'sinkhorn_iterations'),
        regularizationWeight: numberParam(params, 'regularization_weight'),
        regulariser: regulariser(params),
      };
      const momentum = numberParam(params, 'momentum');
      return {
        views: nRandom + nFocal,
        networks: [
          { prefix: 'backbone', module: vit, role: 'trained' },
          { prefix: 'projection_head', module: head, role: 'trained' },
          { prefix: 'prototypes', module: prototypes, role: 'frozen' },
          { prefix: 'target_backbone', module: vit, role: 'ema', emaOf: 'backbone', initFrom: 'backbone' },
          { prefix: 'target_projection_head', module: head, role: 'ema', emaOf: 'projection_head', initFrom: 'projection_head' },
        ],
        evalBackbone: 'target_backbone',
        emaMomentum: () => momentum,
        sampleInputs(rng, b) {
          const inputs: Record<string, SampledInput> = {};
          for (const g of anchorGroups) {
            const m = randomTokenMask(rng, b * g.views, g.patches, ratio);
            inputs[g.name] = { dtype: 'int64', data: m.keep, dims: [b * g.views, m.numKeep] };
          }
          return inputs;
        },
        buildLoss(step, views) {
          const f = step.forward(vit, { prefix: 'backbone' });
          const g = step.forward(head, { prefix: 'projection_head' });
          const ft = step.forward(vit, { prefix: 'target_backbone' });
          const gt = step.forward(head, { prefix: 'target_projection_head' });
          const targets = head.forward(gt, vit.forward(ft, views[0]));
          let next = 1;
          const anchors = anchorGroups.map((group) => {
            const batch = views.slice(next, next + group.views);
            next += group.views;
            const x = batch.length === 1 ? batch[0] : concat(batch, 0);
            const keep = step.input(group.name, [batchSize * group.views, tokensKept(group.patches, ratio)], 'int64');
            return head.forward(g, vit.forwardTokens(f, x, { keepIndices: keep }).classToken);
          });
          const w = prototypes.forward(step.forward(prototypes, { prefix: 'prototypes' }));
          return { loss: msnLoss(anchors.length === 1 ? anchors[0] : concat(anchors, 0), targets, w, lossOptions) };
        },
      };
    },
  };
}

export const msn: Method = {
  ...msnMethod('msn', '§4.8', () => undefined),
  label: 'MSN',
  description: 'Masked Siamese Networks: masked anchors match target prototype assignments (Assran et al., 2022)',
  params: METHOD_PARAMS.msn,
  defaultPreset: 'msn',
};
