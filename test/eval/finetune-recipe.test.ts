/**
 * The ViT fine-tune recipe's pieces (docs/methods.md §5.4): its config fields, layer-wise LR
 * decay, the head's own LR, the frozen class token, and a tiny ViT fine-tuned with timm's train
 * transform on worker threads and on the main thread.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { configHash } from '../../src/config/hash';
import { InMemoryImageSet } from '../../src/data/image-source';
import { Rng } from '../../src/data/rng';
import { UserError } from '../../src/errors';
import { finetune, finetuneAugmentation, type FinetuneOptions } from '../../src/eval/finetune';
import { layerDecayGroups, vitLayerId } from '../../src/eval/layer-decay';
import { PROBE_PREFIX } from '../../src/eval/linear';
import { finetuneHostTransform } from '../../src/eval/probe-protocol';
import { VisionTransformer } from '../../src/nn/backbones/vit';
import { initParameters } from '../../src/nn/init';
import { adamw, sgd } from '../../src/optim';
import { checkRunnable } from '../../src/runner/prepare-method';
import { stripes, tinyBackbone } from './synthetic-images';

const TINY = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');
const DEPTH = 3;

/** Stripe images as RGB (the channels differ by a constant so colour ops have something to change). */
function rgbStripes(seed: number, n: number, split: string): InMemoryImageSet {
  const gray = stripes(seed, n, split);
  const px = gray.readBatch(Int32Array.from({ length: n }, (_, i) => i));
  const rgb = new Uint8Array(px.length * 3);
  for (let i = 0; i < px.length; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.min(255, px[i] + 20 * c);
  return new InMemoryImageSet({ name: 'rgb-stripes', split, height: gray.height, width: gray.width, channels: 3, classes: gray.classes }, rgb, gray.labels);
}

function tinyVit() {
  const module = new VisionTransformer({ patchSize: 4, embedDim: 16, depth: DEPTH, heads: 2, imageSize: 16, inChannels: 3 });
  const values = initParameters([...module.parameters('backbone'), ...module.buffers('backbone')], new Rng(1).fork('init'));
  return { module, values, featureDim: 16 };
}

describe('config fields', () => {
  const load = (set: string[]) => loadConfig(TINY, { set });

  test('defaults leave the fine-tune as it was and do not enter the run identity', () => {
    const c = load([]);
    expect(c.eval.finetune).toMatchObject({ interpolation: 'bilinear', rand_augment: null, random_erasing: 0, layer_decay: null, head_lr: null, freeze_class_token: false });
    expect(configHash(load(['eval.finetune.random_erasing=0', 'eval.finetune.head_lr=null']))).toBe(configHash(c));
    expect(configHash(load(['eval.finetune.random_erasing=0.25']))).not.toBe(configHash(c));
  });

  test.each([
    ["rand_augment: 'rand-m9-mstd0.5-inc0'", /eval\.finetune\.rand_augment: RandAugment spec 'rand-m9-mstd0.5-inc0': section 'inc0'/],
    ['rand_augment: rand-m9-q3', /eval\.finetune\.rand_augment: RandAugment spec 'rand-m9-q3': unknown section 'q3'/],
    ['rand_augment: augmix-m5', /eval\.finetune\.rand_augment: "augmix-m5" is not allowed; allowed a timm RandAugment string/],
    ['random_erasing: 1.5', /eval\.finetune\.random_erasing: 1\.5 is out of range/],
    ['layer_decay: 0', /eval\.finetune\.layer_decay: 0 is out of range/],
    ['interpolation: nearest', /eval\.finetune\.interpolation: "nearest" is not one of bilinear, bicubic/],
    ['head_lr: -1', /eval\.finetune\.head_lr: -1 is out of range/],
  ])('%s is a one-line error naming the file, line and field', (line, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-finetune-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, `extends: ${JSON.stringify(TINY)}\neval:\n  finetune:\n    ${line}\n`);
    let err: unknown;
    try {
      loadConfig(file);
    } catch (e) {
      err = e;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(err).toBeInstanceOf(UserError);
    const text = (err as Error).message;
    expect(text).toMatch(message);
    expect(text).toMatch(/bad\.yaml:4:/);
    expect(text.split('\n')).toHaveLength(1);
  });

  test('ViT-only fields on a ResNet are rejected before any data is read', () => {
    expect(() => checkRunnable(load(['eval.finetune.layer_decay=0.65']))).toThrow(/eval\.finetune\.layer_decay: 0\.65 applies to ViT backbones only .*not resnet18-cifar/);
    expect(() => checkRunnable(load(['eval.finetune.freeze_class_token=true']))).toThrow(/eval\.finetune\.freeze_class_token: true applies to ViT backbones only/);
    expect(() => checkRunnable(load(['eval.finetune.rand_augment=rand-m9-mstd0.5-inc1', 'eval.finetune.random_erasing=0.25']))).not.toThrow();
  });

  test('the host transform follows the config: none by default, else crop, flip and normalisation of the fine-tune view', () => {
    const aug = finetuneAugmentation({ inputSize: 32, inputChannels: 3, interpolation: 'bicubic' });
    expect(finetuneHostTransform(load([]).eval.finetune, aug)).toBeNull();
    const t = finetuneHostTransform(load(['eval.finetune.rand_augment=rand-m9-mstd0.5-inc1', 'eval.finetune.random_erasing=0.25', 'eval.finetune.interpolation=bicubic']).eval.finetune, aug)!;
    expect(t).toMatchObject({ size: 32, scale: [0.08, 1], interpolation: 'bicubic', hflipProb: 0.5, erasingProb: 0.25, fill: [124, 116, 104], mean: [0.485, 0.456, 0.406] });
    expect(t.randAugment).toMatchObject({ magnitude: 9, numLayers: 2, probability: 0.5, magnitudeStd: 0.5, increasing: true });
    expect(finetuneHostTransform(load(['eval.finetune.random_erasing=0.25']).eval.finetune, aug)!.randAugment).toBeNull();
  });
});

describe('layer-wise LR decay', () => {
  test('layer ids and factors of every parameter of a ViT (MAE param_groups_lrd)', () => {
    const { module } = tinyVit();
    const names = [...module.parameters('backbone').map((p) => p.name), `${PROBE_PREFIX}.weight`, `${PROBE_PREFIX}.bias`];
    const decay = 0.65;
    const groups = layerDecayGroups(names, 'backbone', DEPTH, decay);
    const scaleOf = new Map(groups.flatMap((g) => g.params.map((p) => [p, g.scale] as const)));
    expect(scaleOf.size).toBe(names.length);
    // Written out: embeddings decay^(depth+1), block i decay^(depth-i), final norm and head 1.
    for (const name of names) {
      const local = name.replace(/^backbone\./, '');
      let expected: number;
      if (local === 'cls_token' || local.startsWith('patch_embed.')) expected = 0.65 ** 4;
      else if (local.startsWith('blocks.0.')) expected = 0.65 ** 3;
      else if (local.startsWith('blocks.1.')) expected = 0.65 ** 2;
      else if (local.startsWith('blocks.2.')) expected = 0.65;
      else expected = 1; // norm.*, the head
      expect([name, scaleOf.get(name)]).toEqual([name, expected]);
    }
    expect(groups.map((g) => g.layerId)).toEqual([0, 1, 2, 3, 4]);
    expect(vitLayerId('pos_embed', 12)).toBe(0);
    expect(vitLayerId('blocks.11.mlp.fc2.weight', 12)).toBe(12);
    expect(vitLayerId('norm.bias', 12)).toBe(13);
    expect(() => vitLayerId('blocks.12.norm1.weight', 12)).toThrow(/block 12 of a 12-block ViT/);
    expect(() => layerDecayGroups(names, 'backbone', DEPTH, 0)).toThrow(/decay 0 must be in \(0, 1\]/);
  });

  test('one SGD step moves each parameter by its group factor; the head by head LR / LR; a frozen class token stays', async () => {
    const lr = 0.5;
    const run = async (extra: Partial<FinetuneOptions>) => {
      const { module, values, featureDim } = tinyVit();
      const r = await finetune({
        backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
        train: rgbStripes(1, 8, 'train'), test: { source: rgbStripes(2, 8, 'test'), centerCrop: null },
        augmentation: finetuneAugmentation({ inputSize: 16, inputChannels: 3 }),
        epochs: 1, batchSize: 8, lr, optimizer: sgd({ momentum: 0 }), schedule: { name: 'constant', interval: 'step', warmup_epochs: 0, end_factor: 1 },
        seed: 3, threads: 1, ...extra,
      });
      return { before: values, after: r.state };
    };
    const initial = await run({ lr: 0 }); // the head's initial values (lr 0 changes nothing)
    const plain = await run({});
    const decayed = await run({ layerDecay: 0.5, headLr: 2 * lr });
    const frozen = await run({ freezeClassToken: true });
    const delta = (r: typeof plain, name: string) => {
      const a = initial.after.get(name) as Float32Array;
      expect(a).toEqual(r.before.get(name) ?? a);
      const b = r.after.get(name) as Float32Array;
      return Array.from(b, (v, i) => v - a[i]);
    };
    // Least-squares ratio of the two updates: the same first-step gradient, scaled LRs.
    const ratio = (name: string) => {
      const p = delta(plain, name), d = delta(decayed, name);
      return p.reduce((s, v, i) => s + v * d[i], 0) / p.reduce((s, v) => s + v * v, 0);
    };
    const headNames = [`${PROBE_PREFIX}.weight`, `${PROBE_PREFIX}.bias`];
    expect(ratio('backbone.patch_embed.proj.weight')).toBeCloseTo(0.5 ** 4, 4);
    expect(ratio('backbone.cls_token')).toBeCloseTo(0.5 ** 4, 4);
    expect(ratio('backbone.blocks.0.attn.qkv.weight')).toBeCloseTo(0.5 ** 3, 4);
    expect(ratio('backbone.blocks.2.mlp.fc2.weight')).toBeCloseTo(0.5, 4);
    expect(ratio('backbone.norm.weight')).toBeCloseTo(1, 4);
    for (const h of headNames) expect(ratio(h)).toBeCloseTo(2, 4);
    expect(delta(plain, 'backbone.cls_token').some((v) => v !== 0)).toBe(true);
    expect(delta(frozen, 'backbone.cls_token').every((v) => v === 0)).toBe(true);
    expect(delta(frozen, 'backbone.blocks.0.attn.qkv.weight')).toEqual(delta(plain, 'backbone.blocks.0.attn.qkv.weight'));
  }, 120_000);

  test('decay 1 with the head at the run LR trains exactly as no groups at all', async () => {
    const run = async (extra: Partial<FinetuneOptions>) => {
      const { module, values, featureDim } = tinyVit();
      return finetune({
        backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
        train: rgbStripes(1, 16, 'train'), test: { source: rgbStripes(2, 8, 'test'), centerCrop: null },
        augmentation: finetuneAugmentation({ inputSize: 16, inputChannels: 3 }),
        epochs: 1, batchSize: 8, lr: 1e-3, optimizer: adamw(), weightDecay: 0.05, excludeNormBiasFromWd: true, seed: 3, threads: 1, ...extra,
      });
    };
    const plain = await run({});
    const grouped = await run({ layerDecay: 1, headLr: 1e-3 });
    expect(grouped.epochs.map((e) => e.loss)).toEqual(plain.epochs.map((e) => e.loss));
    for (const [name, v] of plain.state) expect([name, grouped.state.get(name)]).toEqual([name, v]);
  }, 120_000);

  test('layer decay needs a ViT', async () => {
    const { module, values, featureDim } = tinyBackbone(0);
    await expect(finetune({
      backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
      train: stripes(1, 8, 'train'), test: { source: stripes(2, 8, 'test'), centerCrop: null },
      augmentation: finetuneAugmentation({ inputSize: 16, inputChannels: 1 }), epochs: 1, batchSize: 8, lr: 0.1, seed: 0, layerDecay: 0.65,
    })).rejects.toThrow(/layer-wise LR decay needs a ViT backbone/);
  });
});

describe('the ViT recipe end to end', () => {
  test('tiny ViT, timm transform (bicubic, RandAugment, erasing) + Mixup/CutMix + layer decay + head LR: workers and main thread train alike', async () => {
    const run = async (workers: number) => {
      const { module, values, featureDim } = tinyVit();
      const augmentation = finetuneAugmentation({ inputSize: 16, inputChannels: 3, interpolation: 'bicubic' });
      const { mean, std } = augmentation.normalization;
      return finetune({
        backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
        train: rgbStripes(1, 16, 'train'), test: { source: rgbStripes(2, 8, 'test'), centerCrop: null }, augmentation,
        epochs: 2, batchSize: 8, lr: 5e-4, optimizer: adamw({ betas: [0.9, 0.999] }), weightDecay: 0.05, excludeNormBiasFromWd: true,
        schedule: { name: 'cosine-warmup', interval: 'step', warmup_epochs: 1, end_factor: 0.001 }, seed: 7, threads: 1,
        mixing: { mixupAlpha: 0.8, cutmixAlpha: 1, switchProb: 0.5, labelSmoothing: 0.1 },
        hostTransform: {
          size: 16, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bicubic', hflipProb: 0.5,
          randAugment: { magnitude: 9, numLayers: 2, probability: 0.5, magnitudeStd: 0.5, magnitudeMax: null, increasing: true },
          fill: [124, 116, 104], erasingProb: 0.25, mean, std,
        },
        transformWorkers: workers, layerDecay: 0.65, headLr: 1e-3, freezeClassToken: true,
      });
    };
    const onWorkers = await run(2);
    const inline = await run(0);
    expect(onWorkers.epochs).toHaveLength(2);
    expect(onWorkers.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(onWorkers.epochs.map((e) => e.loss)).toEqual(inline.epochs.map((e) => e.loss));
    expect(onWorkers.state.get('backbone.blocks.0.attn.qkv.weight')).toEqual(inline.state.get('backbone.blocks.0.attn.qkv.weight'));
    expect(onWorkers.final).toEqual(inline.final);
  }, 120_000);

  test('a step that fails on the host-transform path reports its own error', async () => {
    const { module, values, featureDim } = tinyVit();
    const augmentation = finetuneAugmentation({ inputSize: 16, inputChannels: 3 });
    const { mean, std } = augmentation.normalization;
    await expect(finetune({
      backbone: module, backboneValues: values, prefix: 'backbone', featureDim, numClasses: 2,
      train: rgbStripes(1, 32, 'train'), test: { source: rgbStripes(2, 8, 'test'), centerCrop: null }, augmentation,
      epochs: 1, batchSize: 4, lr: 1e30, optimizer: sgd({ momentum: 0 }), seed: 7, threads: 1,
      hostTransform: { size: 16, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bilinear', hflipProb: 0.5, randAugment: null, fill: [124, 116, 104], erasingProb: 0.5, mean, std },
      transformWorkers: 1,
    })).rejects.toThrow(/fine-tune: the loss became (NaN|Infinity)/);
  }, 120_000);
});
