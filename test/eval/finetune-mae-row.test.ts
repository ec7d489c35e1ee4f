/**
 * The ImageNet1k MAE row's fine-tune, as its config writes it (docs/methods.md §5.4: timm train
 * transform with RandAugment and random erasing on worker threads, Mixup/CutMix, label smoothing,
 * the head at AdamW's default LR, the class token fixed), runs end to end through `ssl-bench run`
 * on a tiny generated image folder, shrunk only in size (ViT depth 1, 64-px crops, batch 8, one
 * epoch of pretraining and of fine-tuning).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { cli, ROOT, runDirOf } from '../e2e/support/harness';

const MAE_ROW = path.join(ROOT, 'configs', 'imagenet1k', 'mae.yaml');

let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-mae-finetune-'));
  for (const [split, n] of [['train', 8], ['val', 3]] as const) {
    for (const [c, wnid] of ['n01440764', 'n02102040'].entries()) {
      const dir = path.join(tmp, 'data', split, wnid);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < n; i++) {
        const [width, height] = [80 + 5 * i, 72];
        const pixels = Buffer.alloc(width * height * 3);
        for (let j = 0; j < pixels.length; j++) pixels[j] = (j * (5 + 4 * c) + 17 * i) % 256;
        await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(dir, `${wnid}_${i}.JPEG`));
      }
    }
  }
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the MAE row fine-tunes with its recipe and labels the protocol', async () => {
  const sets = [
    'device=cpu', `data.root=${path.join(tmp, 'data')}`, `data.cache_dir=${path.join(tmp, 'cache')}`, 'data.workers=2',
    'data.image_size=72', 'augmentation.input_size=64', 'augmentation.eval_resize=72', 'backbone.depth=1',
    'method.params.decoder_dim=32', 'method.params.decoder_depth=1', 'method.params.decoder_heads=2',
    'train.epochs=1', 'train.batch_size=8', 'train.schedule.warmup_epochs=0',
    'eval.knn.enabled=false', 'eval.linear.enabled=false',
    'eval.finetune.enabled=true', 'eval.finetune.epochs=1', 'eval.finetune.schedule.warmup_epochs=0',
  ];
  const output = path.join(tmp, 'out');
  const r = await cli('run', MAE_ROW, '--output', output, '--threads', '1', ...sets.flatMap((s) => ['--set', s]));
  if (r.code !== 0) throw new Error(`run failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-8).join('\n')}`);
  const summary = JSON.parse(fs.readFileSync(path.join(runDirOf(output), 'summary.json'), 'utf8')) as { metrics: Record<string, { value: number; protocol: string }> };
  const top1 = summary.metrics.finetune_top1;
  expect(top1.value).toBeGreaterThanOrEqual(0);
  expect(top1.value).toBeLessThanOrEqual(1);
  expect(summary.metrics.finetune_top5.value).toBe(1); // two classes
  expect(top1.protocol).toContain('timm train transform on the host: RandomResizedCrop 64 scale (0.08, 1) bicubic + hflip 0.5 + RandAugment rand-m9-mstd0.5-inc1 + normalise + random erasing p 0.25 (pixel mode, 1 rectangle)');
  expect(top1.protocol).toContain('Mixup alpha 0.8 / CutMix alpha 1');
  expect(top1.protocol).toContain('label smoothing 0.1');
  expect(top1.protocol).toContain('head LR 0.001 (not batch-scaled)');
  expect(top1.protocol).toContain('class token frozen');
  expect(top1.protocol).not.toContain('layer-wise LR decay');
}, 300_000);
