import { finetune, finetuneAugmentation, FINETUNE_CROP_SCALE } from '../../src/eval/finetune';
import { PROBE_PREFIX } from '../../src/eval/linear';
import { adamw, cosineValue } from '../../src/optim';
import { STRIPE_SIZE, stripes, tinyBackbone } from './synthetic-images';

const SIZE = STRIPE_SIZE;

describe('finetune', () => {
  test('all parameters train: high accuracy on stripe orientation within a few epochs; backbone and BN statistics change', async () => {
    const { module, featureDim, values } = tinyBackbone(0);
    const before = new Map([...values].map(([k, v]) => [k, v.slice()]));
    const lrs: number[][] = [];
    const r = await finetune({
      backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
      train: stripes(1, 128, 'train'), test: { source: stripes(2, 64, 'test'), centerCrop: null },
      augmentation: finetuneAugmentation({ inputSize: SIZE, inputChannels: 1 }),
      epochs: 4, batchSize: 32, lr: 0.2, seed: 5, threads: 1,
      onEpoch: (e) => lrs.push([e.lrFirst, e.lrLast]),
    });
    expect(r.maxOverEpochs.top1).toBeGreaterThanOrEqual(0.9);
    expect(r.maxOverEpochs.top1).toBe(Math.max(...r.epochs.map((e) => e.test.top1)));
    expect(r.final).toEqual(r.epochs[3].test);
    expect(r.final.top5).toBe(1);
    // The caller's pretrained values are untouched; the fine-tuned ones moved (conv weights and BN running stats).
    for (const [k, v] of values) expect(v).toEqual(before.get(k));
    const moved = (name: string) => {
      const a = before.get(name)!;
      const b = r.state.get(name) as Float32Array;
      return a.some((x, i) => x !== b[i]);
    };
    expect(moved('backbone.conv1.weight')).toBe(true);
    expect(moved('backbone.layer4.1.conv2.weight')).toBe(true);
    expect(moved('backbone.bn1.running_mean')).toBe(true);
    expect([...r.state.keys()]).toEqual(expect.arrayContaining([`${PROBE_PREFIX}.weight`, `${PROBE_PREFIX}.bias`]));
    // Per-step cosine to 0.001x over 4 epochs x 4 steps (lightly's CosineWarmupScheduler, no warmup).
    const total = 16;
    lrs.forEach(([first, last], e) => {
      expect(first).toBeCloseTo(0.2 * cosineValue(4 * e, total, 1, 0.001), 12);
      expect(last).toBeCloseTo(0.2 * cosineValue(4 * e + 3, total, 1, 0.001), 12);
    });
    expect(lrs[3][1]).toBeCloseTo(0.2 * 0.001, 12);
  }, 120_000);

  test('the train transform is RandomResizedCrop (0.08, 1) + hflip 0.5 + normalise, one view, no colour ops', () => {
    const gray = finetuneAugmentation({ inputSize: 28, inputChannels: 1 });
    expect(gray.views).toHaveLength(1);
    const [v] = gray.views;
    expect(v).toMatchObject({ size: 28, crop: 'random-resized', scale: FINETUNE_CROP_SCALE, interpolation: 'bilinear', hflipProb: 0.5, vflipProb: 0, jitterProb: 0, grayProb: 0, blurProb: 0, solarizeProb: 0 });
    expect(v.ratio[0]).toBeCloseTo(3 / 4, 12);
    expect(gray.outputChannels).toBe(1);
    const rgb = finetuneAugmentation({ inputSize: 32, inputChannels: 3, scale: [0.2, 1] });
    expect(rgb.outputChannels).toBe(3);
    expect(rgb.normalization.mean).toEqual([0.485, 0.456, 0.406]);
    expect(rgb.views[0].scale).toEqual([0.2, 1]);
    expect(() => finetuneAugmentation({ inputSize: 32, inputChannels: 3, scale: [0, 1] })).toThrow(/crop scale/);
  });

  test('AdamW with norm/bias/head excluded from weight decay runs; the same seed gives the same result', async () => {
    const run = async () => {
      const { module, featureDim, values } = tinyBackbone(3);
      return finetune({
        backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
        train: stripes(4, 64, 'train'), test: { source: stripes(5, 32, 'test'), centerCrop: 12 },
        augmentation: finetuneAugmentation({ inputSize: 12, inputChannels: 1 }),
        epochs: 2, batchSize: 32, lr: 1e-3, optimizer: adamw(), weightDecay: 0.05, excludeNormBiasFromWd: true,
        schedule: { name: 'cosine-warmup', interval: 'step', warmup_epochs: 1, end_factor: 0.001 }, seed: 9, threads: 1,
      });
    };
    const a = await run();
    const b = await run();
    expect(a.epochs.map((e) => e.loss)).toEqual(b.epochs.map((e) => e.loss));
    expect(a.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
    // Warmup of 1 epoch = 2 steps: (s + 1) / 2, then cosine.
    expect(a.epochs[0].lrFirst).toBeCloseTo(1e-3 * 0.5, 12);
    expect(a.epochs[0].lrLast).toBeCloseTo(1e-3, 12);
    expect(a.epochs[1].lrLast).toBeCloseTo(1e-3 * 0.001, 12);
    expect(a.state.get('backbone.conv1.weight')).toEqual(b.state.get('backbone.conv1.weight'));
  }, 120_000);

  test('refuses settings that cannot work', async () => {
    const { module, featureDim, values } = tinyBackbone(0);
    const base = {
      backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
      train: stripes(1, 16, 'train'), test: { source: stripes(2, 8, 'test'), centerCrop: null },
      augmentation: finetuneAugmentation({ inputSize: SIZE, inputChannels: 1 }), epochs: 1, batchSize: 8, lr: 0.1, seed: 0,
    };
    await expect(finetune({ ...base, batchSize: 32 })).rejects.toThrow(/16 labelled train images give no full batch of 32/);
    await expect(finetune({ ...base, backboneValues: new Map() })).rejects.toThrow(/backboneValues has no 'backbone.conv1.weight'/);
    await expect(finetune({ ...base, augmentation: finetuneAugmentation({ inputSize: SIZE, inputChannels: 3 }) })).rejects.toThrow(/3-channel images/);
    await expect(finetune({ ...base, test: { source: stripes(2, 8, 'test'), centerCrop: 20 } })).rejects.toThrow(/center crop 20 is larger/);
  });
});
