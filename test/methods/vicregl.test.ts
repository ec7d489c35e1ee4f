/**
 * The VICRegL method: its step loss equals the loss of the probed global and local embeddings with
 * the fed grids (losses/vicregl.ts, itself checked against a float64 loop), config checks are
 * one-line user errors, and it trains on embedded Fashion-MNIST with the preset's real grids.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../../src/config';
import { UserError } from '../../src/errors';
import { Graph, globalAvgPool, reshape, transpose } from '../../src/graph';
import { vicreglLoss } from '../../src/losses/vicregl';
import { featureMapSide } from '../../src/methods/vicregl';
import { barlowTwinsProjectionHead, vicreglLocalProjectionHead } from '../../src/nn/heads';
import { Pretraining } from '../../src/runner/pretrain';
import { randn } from '../support/graph-harness';
import { buildMethodStep, createMethod, probe } from './support';

const SET = [
  'augmentation.preset=vicregl', 'augmentation.overrides.n_local_views=0', 'augmentation.overrides.global_grid_size=2',
  'method.params.projection_hidden_dim=16', 'method.params.projection_out_dim=16',
  'method.params.local_projection_hidden_dim=8', 'method.params.local_projection_out_dim=8', 'method.params.num_matches=[3, 2]',
];

describe('vicregl method (docs/methods.md §4.20)', () => {
  it('the map side follows the backbone: 4 for 128 px through ResNet-18, 4 for 28 px through the CIFAR ResNet', () => {
    expect(featureMapSide('resnet18', 128)).toBe(4);
    expect(featureMapSide('resnet18', 224)).toBe(7);
    expect(featureMapSide('resnet18-cifar', 28)).toBe(4);
    expect(featureMapSide('resnet18-cifar', 32)).toBe(4);
  });

  it('rejects a preset without grids and a grid that does not match the map, as one-line user errors', () => {
    expect(() => createMethod('vicregl', { set: ['augmentation.preset=simclr'] })).toThrow(UserError);
    expect(() => createMethod('vicregl', { set: ['augmentation.preset=simclr'] })).toThrow(/augmentation.preset: method vicregl needs the vicregl preset/);
    expect(() => createMethod('vicregl', { set: ['augmentation.preset=vicregl', 'augmentation.overrides.n_local_views=0'] }))
      .toThrow(/augmentation.overrides.global_grid_size: 7 must equal the side of resnet18-cifar's feature map at input_size 16, which is 2/);
  });

  it('trains: the step loss is VICRegL of the probed global/local embeddings and the fed grids, and moves', async () => {
    const s = await buildMethodStep('vicregl', { set: SET });
    expect(s.method.views).toBe(2);
    expect(s.method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained'], ['local_projection_head', 'trained']]);
    const { batch: b, size } = s;
    const losses: number[] = [];
    let first: { views: Float32Array[]; grids: Float32Array[] } | null = null;
    for (let t = 0; t < 3; t++) {
      const views = [0, 1].map((k) => Float32Array.from(randn(b * 3 * size * size, 40 + 2 * t + k)));
      const grids = [0, 1].map((k) => Float32Array.from(randn(b * 2 * 2 * 2, 80 + 2 * t + k, 8)));
      const feeds: Record<string, ort.Tensor> = {};
      views.forEach((v, k) => { feeds[`view${k}`] = new ort.Tensor('float32', v, [b, 3, size, size]); });
      grids.forEach((g, k) => { feeds[`augment.grid${k}`] = new ort.Tensor('float32', g, [b, 2, 2, 2]); });
      const { loss } = await s.runner.step(feeds, { lr: 0.05, weightDecay: 0, values: {} });
      losses.push(loss);
      first ??= { views, grids };
    }
    const global = barlowTwinsProjectionHead(s.backbone.featureDim, 16, 16);
    const local = vicreglLocalProjectionHead(s.backbone.featureDim, 8, 8);
    const out = await probe(s.initial, first!.views, [b, 3, size, size], (net, view, g: Graph) => {
      const bb = s.backbone.module as unknown as { featureMap: (ctx: unknown, x: unknown) => import('../../src/graph').Tensor };
      const f = net(s.backbone.module, 'backbone');
      const gCtx = net(global, 'projection_head');
      const hCtx = net(local, 'local_projection_head');
      const embedded = [0, 1].map((k) => {
        const map = bb.featureMap(f, view(k));
        const c = map.shape[1] as number;
        const grid = g.constant(first!.grids[k], [b, 4, 2]);
        return {
          z: global.forward(gCtx, globalAvgPool(map)),
          local: reshape(local.forward(hCtx, reshape(transpose(map, [0, 2, 3, 1]), [b * 4, c])), [b, 4, 8]),
          grid,
        };
      });
      return { loss: vicreglLoss(embedded, [], { numMatches: [3, 2] }) };
    });
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[0]).toBeCloseTo(out.loss[0], 3);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-3);
  });
});

describe('vicregl on real data (embedded Fashion-MNIST, grids from the vicregl preset)', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-vicregl-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it.each([
    ['two global views (the Imagenette recipe)', [] as string[], 2, 5],
    ['two global views and one 12-px local view with a 2 x 2 grid', ['augmentation.overrides.n_local_views=1', 'augmentation.overrides.local_size=12', 'augmentation.overrides.local_grid_size=2'], 3, 3],
  ])('%s: finite loss that moves over the steps, kNN evaluates', async (_what, set, views, steps) => {
    const config = loadConfig(path.join(__dirname, 'tiny-vicregl.yaml'), { set, env: {} });
    const t = await Pretraining.create(config, tmp, { dataSeed: config.seed });
    expect(t.model.inputNames).toEqual(expect.arrayContaining(Array.from({ length: views }, (_, k) => `augment.grid${k}`)));
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push((await t.runStep()).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.max(...losses) - Math.min(...losses)).toBeGreaterThan(1e-3);
    const metrics = await t.evaluate();
    expect(metrics.knn_top1).toBeGreaterThan(0);
  });
});
