/**
 * Presets against docs/methods.md §3.2 (views, sizes, scales, interpolation, jitter, per-view
 * probabilities) and §3.3 (benchmark transforms), config wiring, and byte-identical views per seed.
 */
import * as path from 'node:path';
import { Graph } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import { loadConfig } from '../../src/config';
import { PRESET_PARAMS, type PresetId } from '../../src/config';
import { UserError } from '../../src/errors';
import {
  BENCHMARK_TRANSFORMS, applyViews, augmentFeeds, augmentGridInputs, augmentParamInputs, buildPreset, presetFromConfig, sampleViews, type AugmentPreset,
} from '../../src/augment';
import { runGraph, type Feed } from '../support/graph-harness';
import { fixtureImages } from './fixtures';

const summary = (p: AugmentPreset) => p.views.map((v) => `${v.size}:${v.scale.join('-')}:${v.interpolation[2]}`);

describe('class defaults (docs/methods.md §3.2)', () => {
  test('views, crop sizes, scales, interpolation', () => {
    const at = (id: PresetId) => summary(buildPreset(id, 224));
    expect(at('simclr')).toEqual(Array(2).fill('224:0.08-1:l'));
    expect(at('mocov2')).toEqual(Array(2).fill('224:0.2-1:l'));
    expect(at('simsiam')).toEqual(Array(2).fill('224:0.2-1:l'));
    expect(at('fastsiam')).toEqual(Array(4).fill('224:0.2-1:l'));
    expect(at('swav')).toEqual([...Array(2).fill('224:0.14-1:l'), ...Array(6).fill('96:0.05-0.14:l')]);
    expect(at('dino')).toEqual([...Array(2).fill('224:0.4-1:c'), ...Array(6).fill('96:0.05-0.4:c')]);
    expect(at('mae')).toEqual(['224:0.2-1:c']);
    expect(at('msn')).toEqual([...Array(2).fill('224:0.3-1:l'), ...Array(10).fill('96:0.05-0.3:l')]);
    expect(at('smog')).toEqual([...Array(4).fill('224:0.2-1:l'), ...Array(4).fill('96:0.05-0.2:l')]);
    expect(at('vicregl')).toEqual([...Array(2).fill('224:0.2-1:l'), ...Array(6).fill('96:0.05-0.2:l')]);
    expect(buildPreset('none', 32).views.map((v) => v.crop)).toEqual(['full', 'full']);
  });

  test('colour jitter strengths and per-view probabilities', () => {
    const close = (a: readonly number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 12));
    close(buildPreset('simclr', 224).views[0].jitter, [0.8, 0.8, 0.8, 0.2]);
    close(buildPreset('mocov2', 224).views[0].jitter, [0.4, 0.4, 0.4, 0.1]);
    close(buildPreset('dino', 224).views[0].jitter, [0.4, 0.4, 0.2, 0.1]);
    close(buildPreset('vicreg', 224).views[0].jitter, [0.4, 0.4, 0.2, 0.1]);
    const byol = buildPreset('byol', 224).views;
    expect(byol.map((v) => [v.blurProb, v.solarizeProb])).toEqual([[1, 0], [0.1, 0.2]]);
    expect(buildPreset('tico', 224).views).toEqual(byol);
    const dino = buildPreset('dino', 224).views;
    expect(dino.map((v) => [v.blurProb, v.solarizeProb])).toEqual([[1, 0], [0.1, 0.2], ...Array(6).fill([0.5, 0])]);
    const smog = buildPreset('smog', 224).views;
    expect(smog.map((v) => [v.jitterProb, v.vflipProb, v.blurProb, v.solarizeProb])).toEqual([...Array(4).fill([1, 0, 0.5, 0]), ...Array(4).fill([1, 0, 0.1, 0.2])]);
    const vicreg = buildPreset('vicreg', 224).views[0];
    expect([vicreg.solarizeProb, vicreg.solarizeBeforeBlur]).toEqual([0.1, true]);
    const vicregl = buildPreset('vicregl', 224, { cj_bright: 0.1 }).views;
    expect(vicregl.map((v) => [v.gridSize, v.vflipProb, v.blurProb, v.solarizeProb])).toEqual([...Array(2).fill([7, 0, 0.5, 0]), ...Array(6).fill([3, 0.5, 0.1, 0.2])]);
    close(vicregl[0].jitter, [0.05, 0.4, 0.2, 0.1]);
    close(vicregl[2].jitter, [0.4, 0.4, 0.2, 0.1]);
    const msn = buildPreset('msn', 224).views[0];
    expect([msn.solarizeProb, msn.blurProb]).toEqual([0, 0.5]);
    const mae = buildPreset('mae', 224).views[0];
    expect([mae.jitterProb, mae.grayProb, mae.blurProb, mae.hflipProb]).toEqual([0, 0, 0, 0.5]);
  });

  test('unknown override field is a one-line user error naming the allowed fields', () => {
    expect(() => buildPreset('mae', 224, { blur_prob: 0 })).toThrow(UserError);
    expect(() => buildPreset('mae', 224, { blur_prob: 0 })).toThrow(/^augmentation\.overrides\.blur_prob: not a field of preset mae; allowed: scale, interpolation, hflip_prob$/);
    expect(() => buildPreset('simclr', 32, {}, { inputChannels: 4 })).toThrow(UserError);
  });
});

describe('benchmark transforms (docs/methods.md §3.3)', () => {
  test('every listed override is a field of its preset and builds', () => {
    for (const [bench, table] of Object.entries(BENCHMARK_TRANSFORMS)) {
      for (const [id, t] of Object.entries(table)) {
        for (const k of Object.keys(t!.overrides)) expect(`${bench}.${id}.${k}: ${k in PRESET_PARAMS[id as PresetId].fields}`).toBe(`${bench}.${id}.${k}: true`);
        expect(buildPreset(id as PresetId, t!.input_size, t!.overrides).views.length).toBeGreaterThan(0);
      }
    }
  });

  test('CIFAR-10 values', () => {
    const c = BENCHMARK_TRANSFORMS.cifar10;
    const simclr = buildPreset('simclr', 32, c.simclr!.overrides).views;
    expect(simclr.map((v) => [v.size, v.blurProb])).toEqual([[32, 0], [32, 0]]);
    simclr[0].jitter.forEach((x, i) => expect(x).toBeCloseTo([0.4, 0.4, 0.4, 0.1][i], 12));
    expect(summary(buildPreset('swav', 32, c.swav!.overrides))).toEqual(['32:0.14-1:l', '32:0.14-1:l']);
    expect(buildPreset('dino', 32, c.dino!.overrides).views.map((v) => [v.size, v.blurProb, v.solarizeProb])).toEqual([[32, 0, 0], [32, 0, 0.2]]);
    expect(buildPreset('smog', 32, c.smog!.overrides).views.map((v) => [v.size, v.scale.join('-'), v.blurProb, v.solarizeProb, v.jitterProb])).toEqual([[32, '0.2-1', 0, 0, 1], [32, '0.2-1', 0, 0.2, 1]]);
  });

  test('the CIFAR-10 SimCLR config resolves to the SimCLR-CIFAR transform', () => {
    const cfg = loadConfig(path.join(__dirname, '../../configs/cifar10/simclr-bs128-ep200.yaml'), { env: {} });
    const fromConfig = presetFromConfig(cfg);
    const fromTable = buildPreset('simclr', BENCHMARK_TRANSFORMS.cifar10.simclr!.input_size, BENCHMARK_TRANSFORMS.cifar10.simclr!.overrides);
    expect(fromConfig).toEqual(fromTable);
  });
});

describe('views in the graph', () => {
  async function draw(seed: number): Promise<Uint8Array[]> {
    const p = buildPreset('simclr', 16);
    const batch = 4;
    const images = fixtureImages(batch, 20, 20, 3, 5);
    const g = new Graph('determinism');
    const views = applyViews(g, g.input('images', [batch, 20, 20, 3], 'uint8'), augmentParamInputs(g, p, batch), p);
    views.forEach((v, k) => g.output(`v${k}`, v));
    const feeds: Record<string, Feed> = { images: { data: images, shape: [batch, 20, 20, 3] } };
    for (const [k, f] of Object.entries(augmentFeeds(sampleViews(new Rng(seed).fork('augment'), p, batch, 20, 20)))) feeds[k] = { data: f.data, shape: f.dims };
    const res = await runGraph(g, feeds);
    return views.map((_, k) => new Uint8Array((res[`v${k}`].data as Float32Array).slice().buffer));
  }

  test('same seed → byte-identical views (fresh sessions); another seed differs', async () => {
    const a = await draw(1);
    const b = await draw(1);
    const c = await draw(2);
    a.forEach((bytes, k) => {
      expect(Buffer.from(bytes).equals(Buffer.from(b[k]))).toBe(true);
      expect(Buffer.from(bytes).equals(Buffer.from(c[k]))).toBe(false);
    });
    expect(Buffer.from(a[0]).equals(Buffer.from(a[1]))).toBe(false);
  });

  test('VICRegL grids travel as graph inputs next to the views', async () => {
    const p = buildPreset('vicregl', 8, { n_local_views: 1, local_size: 4 });
    const g = new Graph('grids');
    const grids = augmentGridInputs(g, p, 2);
    expect(grids.map((t) => t && t.shape)).toEqual([[2, 7, 7, 2], [2, 7, 7, 2], [2, 3, 3, 2]]);
    grids.forEach((t, k) => g.output(`echo${k}`, t!));
    const drawn = sampleViews(new Rng(3), p, 2, 10, 10);
    const feeds = augmentFeeds(drawn, { grids: true });
    expect(Object.keys(feeds).sort()).toEqual(['augment.grid0', 'augment.grid1', 'augment.grid2', 'augment.view0', 'augment.view1', 'augment.view2']);
    const res = await runGraph(g, Object.fromEntries(Object.entries(feeds).filter(([k]) => k.includes('grid')).map(([k, f]) => [k, { data: f.data, shape: f.dims }])));
    expect(Array.from(res.echo2.data as Float32Array)).toEqual(Array.from(drawn[2].grid!));
  });

  test('wrong image channels or parameter count are graph errors', () => {
    const p = buildPreset('simclr', 8);
    const g = new Graph('bad');
    const params = augmentParamInputs(g, p, 2);
    expect(() => applyViews(g, g.input('gray', [2, 8, 8, 1], 'uint8'), params, p)).toThrow(/images have 1 channels, preset simclr was built for 3/);
    expect(() => applyViews(g, g.input('rgb', [2, 8, 8, 3], 'uint8'), params.slice(0, 1), p)).toThrow(/1 parameter inputs for 2 views/);
  });
});
