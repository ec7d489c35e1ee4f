/**
 * Every geometry and colour op of the in-graph pipeline against the float64 reference loops of
 * reference.ts (Pillow resampling, torchvision tensor colour formulas), on seeded fixture pixels
 * that include gray pixels and ties between channels. Tolerance: 1e-4 in normalised units
 * (≈ 2.3e-5 in [0, 1] pixel units, i.e. < 0.01 of a uint8 step); float32 graph vs float64 loops.
 */
import { Graph } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import {
  IMAGENET_NORMALIZATION, FASHION_MNIST_NORMALIZATION, PARAM, VIEW_PARAMS, applyViews, applyEvalTransform, augmentFeeds,
  augmentParamInputs, buildPreset, sampleViews, type AugmentPreset, type ViewSpec,
} from '../../src/augment';
import { runGraph, type Feed } from '../support/graph-harness';
import { fromU8, normalizeToCHW, referenceView, toChannels } from './reference';
import { fixtureImages } from './fixtures';

const TOL = 1e-4;
const maxErrors: Record<string, number> = {};

function view(over: Partial<ViewSpec>): ViewSpec {
  return {
    size: 8, crop: 'random-resized', scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bilinear',
    hflipProb: 0, vflipProb: 0, jitterProb: 0, jitter: [0, 0, 0, 0], grayProb: 0, blurProb: 0, blurSigma: [0.1, 2],
    solarizeProb: 0, solarizeBeforeBlur: false, gridSize: null, ...over,
  };
}

function preset(views: ViewSpec[], channels = 3): AugmentPreset {
  return { id: 'simclr', views, inputChannels: channels, outputChannels: channels, normalization: channels === 3 ? IMAGENET_NORMALIZATION : FASHION_MNIST_NORMALIZATION };
}

/** Runs the graph on fixture images with freshly sampled parameters; returns the largest error vs the reference. */
async function compare(name: string, p: AugmentPreset, opts: { batch?: number; h?: number; w?: number; seed?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 6;
  const h = opts.h ?? 12;
  const w = opts.w ?? 10;
  const images = fixtureImages(batch, h, w, p.inputChannels, opts.seed ?? 1);
  const g = new Graph('augment-test');
  const input = g.input('images', [batch, h, w, p.inputChannels], 'uint8');
  const outs = applyViews(g, input, augmentParamInputs(g, p, batch), p);
  outs.forEach((o, k) => g.output(`out${k}`, o));
  const drawn = sampleViews(new Rng(opts.seed ?? 1).fork('augment'), p, batch, h, w);
  const feeds: Record<string, Feed> = { images: { data: images, shape: [batch, h, w, p.inputChannels] } };
  for (const [k, f] of Object.entries(augmentFeeds(drawn))) feeds[k] = { data: f.data, shape: f.dims };
  expectBothOutcomes(p, drawn.map((d) => d.params));
  const res = await runGraph(g, feeds);
  let worst = 0;
  p.views.forEach((v, k) => {
    const out = res[`out${k}`];
    expect(out.dims).toEqual([batch, p.outputChannels, v.size, v.size]);
    const per = p.outputChannels * v.size * v.size;
    for (let b = 0; b < batch; b++) {
      const row = drawn[k].params.subarray(b * VIEW_PARAMS, (b + 1) * VIEW_PARAMS);
      const ref = referenceView(fromU8(images, h, w, p.inputChannels, b), row, v, p.outputChannels, p.normalization.mean, p.normalization.std);
      for (let i = 0; i < per; i++) worst = Math.max(worst, Math.abs(Number(out.data[b * per + i]) - ref[i]));
    }
  });
  maxErrors[name] = worst;
  return worst;
}

/**
 * Guards against a vacuous pass: each random stage a view enables was drawn "on" for some sample
 * and, where its probability is below 1, "off" for another.
 */
function expectBothOutcomes(p: AugmentPreset, params: Float32Array[]): void {
  p.views.forEach((v, k) => {
    const rows = Array.from({ length: params[k].length / VIEW_PARAMS }, (_, b) => params[k].subarray(b * VIEW_PARAMS, (b + 1) * VIEW_PARAMS));
    const check = (prob: number, on: (r: Float32Array) => boolean) => {
      if (prob > 0) expect(rows.some(on)).toBe(true);
      if (prob > 0 && prob < 1) expect(rows.some((r) => !on(r))).toBe(true);
    };
    check(v.hflipProb, (r) => r[PARAM.hflip] === 1);
    check(v.vflipProb, (r) => r[PARAM.vflip] === 1);
    check(v.jitter.some((s) => s > 0) ? v.jitterProb : 0, (r) => r[PARAM.hue] !== 0 || [0, 1, 2, 3, 4, 5].some((j) => r[PARAM.jitter + 3 * j] !== 1));
    check(v.grayProb, (r) => r[PARAM.gray] === 1);
    check(v.blurProb, (r) => r[PARAM.blurSigma] > 0);
    check(v.solarizeProb, (r) => r[PARAM.solarize] === 1);
  });
}

afterAll(() => {
  // The measured accuracy per op, for the report (normalised units).
  console.log(Object.entries(maxErrors).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

describe('geometry vs Pillow resampling', () => {
  test.each([
    ['crop+resize bilinear, upscale to 16, flips', { size: 16, hflipProb: 0.5, vflipProb: 0.5 }],
    ['crop+resize bilinear, downscale to 4 (antialiased)', { size: 4, scale: [0.5, 1], hflipProb: 0.5, vflipProb: 0.5 }],
    ['crop+resize bicubic, upscale to 16, flips', { size: 16, interpolation: 'bicubic', hflipProb: 0.5, vflipProb: 0.5 }],
    ['crop+resize bicubic, downscale to 5', { size: 5, scale: [0.6, 1], interpolation: 'bicubic', hflipProb: 0.5 }],
    ['full image, same size (identity)', { size: 12, crop: 'full' }],
  ] as [string, Partial<ViewSpec>][])('%s', async (name, over) => {
    const spec = view(over);
    // 'full' of a 12x10 image is exercised on a square 12x12 source so the resize is the identity.
    const square = spec.crop === 'full';
    expect(await compare(name, preset([spec]), square ? { h: 12, w: 12 } : {})).toBeLessThan(TOL);
  });
});

describe('colour ops vs torchvision formulas', () => {
  const full = { size: 10, scale: [1, 1] as [number, number], ratio: [1, 1] as [number, number] };
  test.each([
    ['brightness only', { jitter: [0.8, 0, 0, 0] }],
    ['contrast only', { jitter: [0, 0.8, 0, 0] }],
    ['saturation only', { jitter: [0, 0, 0.8, 0] }],
    ['hue only', { jitter: [0, 0, 0, 0.5] }],
    ['all four in random order', { jitter: [0.8, 0.8, 0.8, 0.2] }],
  ] as [string, Partial<ViewSpec>][])('%s', async (name, over) => {
    expect(await compare(name, preset([view({ ...full, jitterProb: 0.8, ...over })]), { batch: 8, h: 10, w: 10 })).toBeLessThan(TOL);
  });
  test('grayscale', async () => {
    expect(await compare('grayscale', preset([view({ ...full, grayProb: 0.5 })]), { batch: 6, h: 10, w: 10 })).toBeLessThan(TOL);
  });
  test('PIL gaussian blur (3 box passes per axis, per-sample sigma, edge borders)', async () => {
    expect(await compare('gaussian blur', preset([view({ size: 9, blurProb: 0.7, blurSigma: [0.1, 2] })]))).toBeLessThan(TOL);
    expect(await compare('gaussian blur, sigma up to 6', preset([view({ size: 12, blurProb: 0.8, blurSigma: [0, 6] })]), { h: 14, w: 13 })).toBeLessThan(TOL);
  });
  test('solarize', async () => {
    expect(await compare('solarize', preset([view({ size: 9, solarizeProb: 0.5 })]))).toBeLessThan(TOL);
  });
});

describe('whole pipelines (48 samples so every stage is drawn both ways)', () => {
  const many = { batch: 48 };
  test('SimCLR defaults at 8 px (two views)', async () => {
    expect(await compare('SimCLR pipeline', buildPreset('simclr', 8), many)).toBeLessThan(TOL);
  });
  test('VICReg: solarise before blur', async () => {
    const p = buildPreset('vicreg', 8, { solarize_prob: 0.6, blur_prob: 0.6 });
    expect(p.views[0].solarizeBeforeBlur).toBe(true);
    expect(await compare('VICReg pipeline', p, many)).toBeLessThan(TOL);
  });
  test('DINO: bicubic global and local views of different sizes', async () => {
    expect(await compare('DINO pipeline', buildPreset('dino', 9, { n_local_views: 2, local_size: 5 }), many)).toBeLessThan(TOL);
  });
  test('single-channel input kept as 1 channel', async () => {
    const p = buildPreset('simclr', 8, {}, { inputChannels: 1, singleChannel: 'gray' });
    expect(p.outputChannels).toBe(1);
    expect(await compare('1-channel gray mode', p, many)).toBeLessThan(TOL);
  });
  test('single-channel input expanded to RGB', async () => {
    const p = buildPreset('simclr', 8, {}, { inputChannels: 1 });
    expect(p.outputChannels).toBe(3);
    expect(await compare('1-channel rgb mode', p, many)).toBeLessThan(TOL);
  });
});

test('eval transform: ToTensor + Normalize', async () => {
  const images = fixtureImages(2, 5, 4, 1, 3);
  const g = new Graph('eval');
  const p = buildPreset('simclr', 4, {}, { inputChannels: 1 });
  g.output('y', applyEvalTransform(g, g.input('x', [2, 5, 4, 1], 'uint8'), p));
  const res = await runGraph(g, { x: { data: images, shape: [2, 5, 4, 1] } });
  let worst = 0;
  for (let b = 0; b < 2; b++) {
    const ref = normalizeToCHW(toChannels(fromU8(images, 5, 4, 1, b), 3), p.normalization.mean, p.normalization.std);
    ref.forEach((v, i) => { worst = Math.max(worst, Math.abs(Number(res.y.data[b * ref.length + i]) - v)); });
  }
  expect(res.y.dims).toEqual([2, 3, 5, 4]);
  expect(worst).toBeLessThan(TOL);
});
