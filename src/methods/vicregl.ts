/**
 * VICRegL (Bardes et al. 2022, "VICRegL: Self-Supervised Learning of Local Visual Features",
 * arXiv:2210.01571), as the Lightly Imagenette benchmark runs it (docs/methods.md §4.20; lightly
 * `imagenette_benchmark.py VICRegLModel`):
 *
 *   for each view x_v (separate batches):  y_v = f(x_v)                    the un-pooled map [B, C, H, W]
 *     z_v = g(avgpool(y_v))                                                global, BarlowTwinsProjectionHead
 *     l_v = h(y_v permuted to [B, H, W, C]) → [B, H·W, E]                  local, per location (LayerNorm head)
 *   L = VICRegL({z_v, l_v, grid_v}; α 0.75, num_matches (16, 4))          losses/vicregl.ts
 *
 * The grids are the coordinate grids the vicregl augmentation preset returns with every view
 * (graph inputs 'augment.grid<k>' [B, G, G, 2]); G must equal the map side (4 for a 128-px crop
 * through ResNet-18). Global views first, then local views, as the preset orders them. kNN uses f
 * with its average pool.
 */
import { METHOD_PARAMS } from '../config/method-params';
import type { ParamValue } from '../config';
import { presetFields } from '../augment/presets';
import { UserError } from '../errors';
import { globalAvgPool, reshape, transpose, type Tensor } from '../graph';
import { vicreglLoss, type VicreglView } from '../losses/vicregl';
import { barlowTwinsProjectionHead, vicreglLocalProjectionHead } from '../nn/heads';
import type { ForwardContext, Module } from '../nn/module';
import { numberParam, type Method } from './method';

interface FeatureMapBackbone extends Module {
  featureMap(ctx: ForwardContext, x: Tensor): Tensor;
}

const hasFeatureMap = (m: Module): m is FeatureMapBackbone => typeof (m as Partial<FeatureMapBackbone>).featureMap === 'function';

/** Side of the last stage's map for a square input: ⌈side / 2⌉ per stride-2 stage (3 for the CIFAR ResNet, 5 for torchvision's). */
export function featureMapSide(backboneId: string, inputSide: number): number {
  const halvings = backboneId === 'resnet18-cifar' ? 3 : 5;
  let side = inputSide;
  for (let i = 0; i < halvings; i++) side = Math.ceil(side / 2);
  return side;
}

function tupleParam(params: Record<string, ParamValue>, name: string): [number, number] {
  const v = params[name];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number')) throw new Error(`method.params.${name}: expected two numbers after config resolution, got ${JSON.stringify(v)}`);
  return [v[0] as number, v[1] as number];
}

export const vicregl: Method = {
  id: 'vicregl',
  label: 'VICRegL',
  description: 'VICReg with local feature matching on the convolutional map (Bardes et al., 2022)',
  section: '§4.20',
  params: METHOD_PARAMS.vicregl,
  defaultPreset: 'vicregl',
  create({ config, backbone, params }) {
    if (config.augmentation.preset !== 'vicregl') {
      throw new UserError(`augmentation.preset: method vicregl needs the vicregl preset (views with coordinate grids), got '${config.augmentation.preset}'`);
    }
    const module = backbone.module;
    if (!hasFeatureMap(module)) {
      throw new UserError(`backbone.name: method vicregl needs a convolutional feature map (resnet18-cifar, resnet18, resnet50), got '${backbone.id}'`);
    }
    const fields = presetFields('vicregl', config.augmentation.overrides);
    const globals = fields.n_global_views as number;
    const locals = fields.n_local_views as number;
    const globalGrid = fields.global_grid_size as number;
    const localGrid = fields.local_grid_size as number;
    const expectedGlobal = featureMapSide(backbone.id, config.augmentation.input_size);
    if (globalGrid !== expectedGlobal) {
      throw new UserError(`augmentation.overrides.global_grid_size: ${globalGrid} must equal the side of ${backbone.id}'s feature map at input_size ${config.augmentation.input_size}, which is ${expectedGlobal}`);
    }
    if (locals > 0 && localGrid !== featureMapSide(backbone.id, fields.local_size as number)) {
      throw new UserError(`augmentation.overrides.local_grid_size: ${localGrid} must equal the side of ${backbone.id}'s feature map at local_size ${fields.local_size}, which is ${featureMapSide(backbone.id, fields.local_size as number)}`);
    }
    const options = {
      alpha: numberParam(params, 'alpha'), lambda: numberParam(params, 'lambda'), mu: numberParam(params, 'mu'), nu: numberParam(params, 'nu'),
      numMatches: tupleParam(params, 'num_matches'),
    };
    const projectionHead = barlowTwinsProjectionHead(backbone.featureDim, numberParam(params, 'projection_hidden_dim'), numberParam(params, 'projection_out_dim'));
    const localDim = numberParam(params, 'local_projection_out_dim');
    const localHead = vicreglLocalProjectionHead(backbone.featureDim, numberParam(params, 'local_projection_hidden_dim'), localDim);
    return {
      views: globals + locals,
      networks: [
        { prefix: 'backbone', module, role: 'trained' },
        { prefix: 'projection_head', module: projectionHead, role: 'trained' },
        { prefix: 'local_projection_head', module: localHead, role: 'trained' },
      ],
      evalBackbone: 'backbone',
      buildLoss(step, views) {
        const f = step.forward(module, { prefix: 'backbone' });
        const g = step.forward(projectionHead, { prefix: 'projection_head' });
        const h = step.forward(localHead, { prefix: 'local_projection_head' });
        const embedded: VicreglView[] = views.map((x, k) => {
          const map = module.featureMap(f, x);
          const [b, c, side] = map.shape as number[];
          const grid = step.input(`augment.grid${k}`, [b, side, side, 2]);
          const local = localHead.forward(h, reshape(transpose(map, [0, 2, 3, 1]), [b * side * side, c]));
          return { z: projectionHead.forward(g, globalAvgPool(map)), local: reshape(local, [b, side * side, localDim]), grid: reshape(grid, [b, side * side, 2]) };
        });
        return { loss: vicreglLoss(embedded.slice(0, globals), embedded.slice(globals), options) };
      },
    };
  },
};
