import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { InMemoryImageSet } from '../../src/data/image-source';
import { Rng } from '../../src/data/rng';
import { UserError } from '../../src/errors';
import { createSession } from '../../src/engine/session';
import { embedEvalImages, evalInferenceModel, finetune, finetuneAugmentation } from '../../src/eval/finetune';
import { augmentedTrainFeatures, runPostTrainingEvals } from '../../src/eval/probe-protocol';
import { createBackbone, initParameters } from '../../src/nn';
import { brightness, stripes, tinyBackbone } from './synthetic-images';

const BASE = `
name: probe-protocol-test
seed: 0
device: cpu
method: { name: simclr }
backbone: { name: resnet18-cifar, width: 0.0625 }
data: { dataset: embedded-fashion-mnist, image_size: 16 }
augmentation: { preset: simclr, input_size: 12 }
train: { epochs: 1, batch_size: 32 }
`;

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-protocol-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(set: string[]) {
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, BASE);
  return loadConfig(file, { set });
}

/** A source whose pixels must never be read. */
function untouchable(): InMemoryImageSet {
  const s = stripes(0, 4, 'train');
  s.readBatch = () => { throw new Error('read a split although no evaluation is enabled'); };
  return s;
}

describe('runPostTrainingEvals', () => {
  test('linear probe and fine-tune enabled: the four metrics (+ final-epoch ones) with their protocols; the pretrained values stay untouched', async () => {
    const cfg = config([
      'eval.linear.enabled=true', 'eval.linear.epochs=3', 'eval.linear.optimizer.lr=2.0',
      'eval.finetune.enabled=true', 'eval.finetune.epochs=3', 'eval.finetune.batch_size=16', 'eval.finetune.optimizer.lr=2.0',
    ]);
    const { module, featureDim, values } = tinyBackbone(1);
    const before = new Map([...values].map(([k, v]) => [k, v.slice()]));
    const train = stripes(1, 96, 'train');
    const test = stripes(2, 48, 'test');
    const lines: string[] = [];
    const metrics = await runPostTrainingEvals(cfg, {
      backbone: module, values, prefix: 'backbone', featureDim, train, test,
      evalImages: { train, test, crop: 12 }, device: 'cpu', seed: 4, threads: 1, log: (l) => lines.push(l),
    });
    expect(Object.keys(metrics).sort()).toEqual([
      'finetune_top1', 'finetune_top1_final', 'finetune_top5', 'finetune_top5_final',
      'linear_top1', 'linear_top1_final', 'linear_top5', 'linear_top5_final',
    ]);
    for (const m of Object.values(metrics)) expect(m.value).toBeGreaterThanOrEqual(0);
    expect(metrics.finetune_top1.value).toBeGreaterThanOrEqual(0.9);
    expect(metrics.linear_top1.value).toBeGreaterThanOrEqual(metrics.linear_top1_final.value);
    expect(metrics.linear_top5.value).toBe(1);

    const lp = metrics.linear_top1.protocol;
    expect(lp).toMatch(/^linear probe, frozen backbone \(eval mode\), train features from the eval transform \(center crop 12, normalise\) computed once \(CPU-friendly variant/);
    expect(lp).toContain('Linear head, SGD μ 0.9, wd 0, lr 2·bs/256 = 0.25 at batch 32, 3 epochs, per-step cosine to 0.001×, test features from the eval transform (center crop 12, normalise), embedded-fashion-mnist test split, top1, max over epochs (published protocol; best at epoch');
    expect(metrics.linear_top5_final.protocol).toMatch(/top5, final epoch \(epoch 3\)$/);
    const fp = metrics.finetune_top1.protocol;
    expect(fp).toMatch(/^fine-tune, all parameters train \(backbone in training mode, batch-norm batch statistics\) \+ Linear head, RandomResizedCrop 12 scale \(0.08, 1\) \+ hflip 0.5 \+ normalise, SGD μ 0.9, wd 0, lr 2·bs\/256 = 0.125 at batch 16, 3 epochs, per-step cosine to 0.001×/);
    expect(fp).toContain('max over epochs (published protocol');

    // Frozen for the probe, copied for the fine-tune: the caller's weights never change.
    for (const [k, v] of values) expect(v).toEqual(before.get(k));
    expect(lines.filter((l) => l.startsWith('linear probe epoch'))).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('fine-tune epoch'))).toHaveLength(3);
  }, 120_000);

  test('the linear probe on a frozen backbone separates dark from bright images', async () => {
    // A random-init backbone in eval mode (running statistics 0 / 1) gives features near 1e-3; a
    // short fine-tune stands in for pretraining and leaves realistic batch-norm statistics.
    const { module, featureDim, values } = tinyBackbone(3);
    const train = brightness(7, 96, 'train');
    const test = brightness(8, 48, 'test');
    const pretrained = await finetune({
      backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2, train, test: { source: test, centerCrop: null },
      augmentation: finetuneAugmentation({ inputSize: 16, inputChannels: 1 }), epochs: 2, batchSize: 32, lr: 0.1, seed: 0, threads: 1,
    });
    const cfg = config(['eval.linear.enabled=true', 'eval.linear.epochs=20', 'eval.linear.optimizer.lr=4.0', 'augmentation.input_size=16']);
    const metrics = await runPostTrainingEvals(cfg, {
      backbone: module, values: pretrained.state, prefix: 'backbone', featureDim, train, test, device: 'cpu', seed: 0, threads: 1,
    });
    expect(metrics.linear_top1.value).toBeGreaterThanOrEqual(0.95);
  }, 60_000);

  test('a frozen probe is a function of the pretrained values: two runs on the same values agree exactly', async () => {
    const cfg = config(['eval.linear.enabled=true', 'eval.linear.epochs=2']);
    const { module, featureDim, values } = tinyBackbone(2);
    const inputs = { backbone: module, values, prefix: 'backbone', featureDim, train: stripes(3, 64, 'train'), test: stripes(4, 32, 'test'), device: 'cpu' as const, seed: 1, threads: 1 };
    const a = await runPostTrainingEvals(cfg, inputs);
    const b = await runPostTrainingEvals(cfg, inputs);
    expect(Object.keys(a).sort()).toEqual(['linear_top1', 'linear_top1_final', 'linear_top5', 'linear_top5_final']);
    expect(a).toEqual(b);
    expect(a.linear_top1.protocol).toContain('eval transform (normalise)');
  }, 60_000);

  test('eval.linear.train_features: augmented re-embeds fresh RandomResizedCrop + hflip views each epoch, and the protocol says so', async () => {
    const { module, featureDim, values } = tinyBackbone(2);
    const inputs = { backbone: module, values, prefix: 'backbone', featureDim, train: stripes(3, 64, 'train'), test: stripes(4, 32, 'test'), device: 'cpu' as const, seed: 1, threads: 1 };
    const viaEval = await runPostTrainingEvals(config(['eval.linear.enabled=true', 'eval.linear.epochs=2']), inputs);
    const viaViews = await runPostTrainingEvals(config(['eval.linear.enabled=true', 'eval.linear.epochs=2', 'eval.linear.train_features=augmented']), inputs);
    expect(viaEval.linear_top1.protocol).toContain('computed once (CPU-friendly variant');
    expect(viaViews.linear_top1.protocol).not.toContain('computed once');
    expect(viaViews.linear_top1.protocol).toMatch(/RandomResizedCrop/);
    expect(() => config(['eval.linear.train_features=views'])).toThrow(/eval\.linear\.train_features: "views" is not one of eval-features, augmented/);
  }, 60_000);

  test('a ViT backbone: BatchNorm + Linear probe head (the "mae" protocol) and an AdamW fine-tune with norm/bias/head excluded from decay', async () => {
    const cfg = config([
      'backbone.name=vit-s16', 'augmentation.input_size=16',
      'eval.linear.enabled=true', 'eval.linear.epochs=2', 'eval.linear.schedule.name=cosine-warmup', 'eval.linear.schedule.warmup_epochs=1',
      'eval.finetune.enabled=true', 'eval.finetune.epochs=2', 'eval.finetune.batch_size=16',
      'eval.finetune.optimizer={name: adamw, lr: 5.0e-4, weight_decay: 0.05, exclude_norm_bias_from_wd: true}',
    ]);
    const vit = createBackbone('vit-s16', { width: 1 / 6, depth: 1, imageSize: 16, inChannels: 1 });
    const values = initParameters([...vit.module.parameters('backbone'), ...vit.module.buffers('backbone')], new Rng(0).fork('init'));
    const metrics = await runPostTrainingEvals(cfg, {
      backbone: vit.module, values, prefix: 'backbone', featureDim: vit.featureDim, train: stripes(1, 48, 'train'), test: stripes(2, 16, 'test'), device: 'cpu', seed: 0, threads: 1,
    });
    expect(metrics.linear_top1.protocol).toContain('BatchNorm (no affine) + Linear head');
    expect(metrics.linear_top1.protocol).toContain('per-step cosine to 0.001× after 1 warmup epochs');
    expect(metrics.finetune_top1.protocol).toContain('AdamW betas (0.9, 0.999), wd 0.05 (norm/bias/head excluded), lr 0.0005·bs/256 = 0.00003125 at batch 16');
    for (const m of Object.values(metrics)) expect(Number.isFinite(m.value)).toBe(true);
  }, 60_000);

  test('both disabled (the defaults): no metrics and no image is read', async () => {
    const { module, featureDim, values } = tinyBackbone(0);
    const metrics = await runPostTrainingEvals(config([]), {
      backbone: module, values, prefix: 'backbone', featureDim, train: untouchable(), test: untouchable(), device: 'cpu', seed: 0,
    });
    expect(metrics).toEqual({});
  });

  test('a batch larger than the labelled train split is a user error naming the field', async () => {
    const { module, featureDim, values } = tinyBackbone(0);
    const run = (set: string) => runPostTrainingEvals(config([set, 'train.batch_size=64']), {
      backbone: module, values, prefix: 'backbone', featureDim, train: stripes(1, 40, 'train'), test: stripes(2, 8, 'test'), device: 'cpu', seed: 0,
    });
    await expect(run('eval.linear.enabled=true')).rejects.toThrow(UserError);
    await expect(run('eval.linear.enabled=true')).rejects.toThrow(/^eval\.linear\.batch_size: batch 64 is larger than the 40 labelled images of the train split/);
    await expect(run('eval.finetune.enabled=true')).rejects.toThrow(/^eval\.finetune\.batch_size: batch 64/);
  });
});

describe('augmentedTrainFeatures (the reference linear-probe train views)', () => {
  test('views are redrawn each epoch and replay from epoch 0; an identity crop without flips gives the eval-transform features', async () => {
    const { module, values } = tinyBackbone(5);
    const source = stripes(6, 20, 'train');
    const indices = Int32Array.from({ length: 20 }, (_, i) => i);
    const preset = finetuneAugmentation({ inputSize: 16, inputChannels: 1 });
    const common = { backbone: module, values, prefix: 'backbone', source, indices, batchSize: 8, seed: 2, device: 'cpu' as const, threads: 1 };
    const augmented = await augmentedTrainFeatures({ ...common, preset });
    try {
      const e0 = await augmented.embed(0);
      const e1 = await augmented.embed(1);
      await expect(augmented.embed(3)).rejects.toThrow(/epochs must come in order/);
      const again = await augmented.embed(0);
      expect(e0.features).toHaveLength(20 * 32);
      expect(e0.labels).toEqual(source.labels);
      expect(again.features).toEqual(e0.features);
      expect(e1.features).not.toEqual(e0.features);
    } finally {
      await augmented.release();
    }

    const identityPreset = { ...preset, views: [{ ...preset.views[0], scale: [1, 1] as [number, number], hflipProb: 0 }] };
    const identity = await augmentedTrainFeatures({ ...common, preset: identityPreset });
    const images = { source, centerCrop: null };
    const model = evalInferenceModel(module, images, preset.normalization, { prefix: 'backbone', weights: values });
    const { session } = await createSession(model.modelBytes, 'cpu', { threads: 1 });
    try {
      const viaViews = (await identity.embed(0)).features;
      if (!(viaViews instanceof Float32Array)) throw new Error('augmented features of a small set are expected in memory');
      const viaEval = await embedEvalImages(session, model, images, indices, 8);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < viaEval.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(viaViews[i] - viaEval[i]));
        maxAbs = Math.max(maxAbs, Math.abs(viaEval[i]));
      }
      expect(maxAbs).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxAbs);
    } finally {
      await Promise.all([identity.release(), session.release()]);
    }
  }, 60_000);

  test("runPostTrainingEvals with linearVariant 'augmented' labels the reference protocol", async () => {
    const cfg = config(['eval.linear.enabled=true', 'eval.linear.epochs=2', 'eval.linear.batch_size=16']);
    const { module, featureDim, values } = tinyBackbone(2);
    const metrics = await runPostTrainingEvals(cfg, {
      backbone: module, values, prefix: 'backbone', featureDim, train: stripes(3, 40, 'train'), test: stripes(4, 16, 'test'),
      linearVariant: 'augmented', device: 'cpu', seed: 1, threads: 1,
    });
    expect(metrics.linear_top1.protocol).toContain('train features of RandomResizedCrop 12 scale (0.08, 1) + hflip 0.5 + normalise views drawn afresh each epoch (reference protocol)');
    expect(metrics.linear_top1.protocol).toContain('test features from the eval transform (normalise)');
  }, 60_000);
});
