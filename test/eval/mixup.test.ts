/**
 * Mixup / CutMix / label smoothing of the ViT fine-tune (src/eval/mixup.ts): the draws against
 * what timm's Mixup computes from them (independent expectations written here), the in-graph mixing
 * against a float64 loop, and a fine-tune that uses them end to end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { sampleBatchMix, sampleBeta, sampleGamma, mixWithFlippedBatch } from '../../src/eval/mixup';
import { runPostTrainingEvals } from '../../src/eval/probe-protocol';
import { Graph } from '../../src/graph';
import { randn, runGraph } from '../support/graph-harness';
import { stripes, tinyBackbone } from './synthetic-images';

test('Gamma and Beta samplers have the right means and variances', () => {
  const rng = new Rng(11);
  for (const shape of [0.8, 1, 2.5]) {
    const xs = Array.from({ length: 20000 }, () => sampleGamma(rng, shape));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - shape)).toBeLessThan(0.05 * shape + 0.02);
    expect(Math.abs(variance - shape)).toBeLessThan(0.1 * shape + 0.03);
  }
  const a = 0.8;
  const bs = Array.from({ length: 20000 }, () => sampleBeta(rng, a, a));
  const mean = bs.reduce((x, y) => x + y, 0) / bs.length;
  const variance = bs.reduce((x, y) => x + (y - mean) ** 2, 0) / bs.length;
  expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  expect(Math.abs(variance - 1 / (4 * (2 * a + 1)))).toBeLessThan(0.005);
  expect(bs.every((x) => x > 0 && x < 1)).toBe(true);
});

const labels = Int32Array.from([0, 2, 1, 2, 3]);
const C = 4;

/** timm's mixup_target, written from its definition: λ·onehot(y, off, on) + (1 − λ)·onehot(flip(y), off, on). */
function expectedTargets(lam: number, smoothing: number): number[] {
  const off = smoothing / C;
  const on = 1 - smoothing + off;
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let c = 0; c < C; c++) {
      const y1 = c === labels[i] ? on : off;
      const y2 = c === labels[labels.length - 1 - i] ? on : off;
      out.push(y1 * lam + y2 * (1 - lam));
    }
  }
  return out;
}

test('Mixup: one lambda for the whole batch, a constant mask, smoothed mixed targets', () => {
  const mix = sampleBatchMix(new Rng(3), { mixupAlpha: 0.8, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0.1 }, labels, C, 6, 5);
  expect(mix.cutmix).toBe(false);
  expect(mix.lam).toBeGreaterThan(0);
  expect(mix.lam).toBeLessThan(1);
  expect(new Set(mix.mask)).toEqual(new Set([Math.fround(mix.lam)]));
  expect(Array.from(mix.targets).map((v) => +v.toFixed(6))).toEqual(expectedTargets(mix.lam, 0.1).map((v) => +v.toFixed(6)));
});

test('CutMix: a clipped box from the reversed batch, lambda corrected to the pasted area', () => {
  let sawClipped = false;
  for (let seed = 0; seed < 40; seed++) {
    const mix = sampleBatchMix(new Rng(seed), { mixupAlpha: 0, cutmixAlpha: 1, switchProb: 0.5, labelSmoothing: 0 }, labels, C, 16, 12);
    expect(mix.cutmix).toBe(true);
    const zeros = mix.mask.filter((v) => v === 0).length;
    expect(zeros + mix.mask.filter((v) => v === 1).length).toBe(16 * 12);
    expect(mix.lam).toBeCloseTo(1 - zeros / (16 * 12), 12);
    // The zeros form one axis-aligned rectangle.
    const rows = [...new Set(Array.from(mix.mask.keys()).filter((i) => mix.mask[i] === 0).map((i) => Math.floor(i / 12)))];
    const cols = [...new Set(Array.from(mix.mask.keys()).filter((i) => mix.mask[i] === 0).map((i) => i % 12))];
    expect(rows.length * cols.length).toBe(zeros);
    if (zeros > 0 && (rows.includes(0) || rows.includes(15) || cols.includes(0) || cols.includes(11))) sawClipped = true;
    expect(Array.from(mix.targets).map((v) => +v.toFixed(6))).toEqual(expectedTargets(mix.lam, 0).map((v) => +v.toFixed(6)));
  }
  expect(sawClipped).toBe(true);
});

test('both on: CutMix with the switch probability; label smoothing alone keeps the images', () => {
  const rng = new Rng(9);
  const picks = Array.from({ length: 400 }, () => sampleBatchMix(rng, { mixupAlpha: 0.8, cutmixAlpha: 1, switchProb: 0.5, labelSmoothing: 0.1 }, labels, C, 8, 8).cutmix);
  const share = picks.filter(Boolean).length / picks.length;
  expect(share).toBeGreaterThan(0.4);
  expect(share).toBeLessThan(0.6);
  const smooth = sampleBatchMix(new Rng(1), { mixupAlpha: 0, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0.1 }, labels, C, 8, 8);
  expect(smooth.lam).toBe(1);
  expect(Array.from(smooth.targets).map((v) => +v.toFixed(6))).toEqual(expectedTargets(1, 0.1).map((v) => +v.toFixed(6)));
});

test('in-graph mixing equals mask·x + (1 − mask)·x[reversed] computed in float64', async () => {
  const [B, Ch, H, W] = [3, 2, 4, 5];
  const g = new Graph('mix');
  const x = g.input('x', [B, Ch, H, W]);
  const m = g.input('mask', [1, 1, H, W]);
  g.output('y', mixWithFlippedBatch(g, x, m));
  const xs = Float32Array.from(randn(B * Ch * H * W, 5));
  const mask = Float32Array.from({ length: H * W }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 0.3));
  const { y } = await runGraph(g, { x: { data: xs, shape: [B, Ch, H, W] }, mask: { data: mask, shape: [1, 1, H, W] } });
  for (let b = 0; b < B; b++) for (let c = 0; c < Ch; c++) for (let p = 0; p < H * W; p++) {
    const own = xs[((b * Ch) + c) * H * W + p];
    const other = xs[(((B - 1 - b) * Ch) + c) * H * W + p];
    expect((y.data as Float32Array)[((b * Ch) + c) * H * W + p]).toBeCloseTo(mask[p] * own + (1 - mask[p]) * other, 5);
  }
});

test('a fine-tune with Mixup/CutMix and label smoothing trains, says so in its protocol, and differs from one without', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixup-finetune-'));
  try {
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, `name: mix
seed: 0
device: cpu
method: { name: simclr }
backbone: { name: resnet18-cifar, width: 0.0625 }
data: { dataset: embedded-fashion-mnist, image_size: 16 }
augmentation: { preset: simclr, input_size: 12 }
train: { epochs: 1, batch_size: 16 }
eval: { finetune: { enabled: true, epochs: 2, batch_size: 16 } }
`);
    const inputs = () => {
      const { module, featureDim, values } = tinyBackbone(1);
      return { backbone: module, values, prefix: 'backbone', featureDim, train: stripes(1, 64, 'train'), test: stripes(2, 32, 'test'), device: 'cpu' as const, seed: 4, threads: 1 };
    };
    const plain = await runPostTrainingEvals(loadConfig(file), inputs());
    const mixed = await runPostTrainingEvals(loadConfig(file, { set: ['eval.finetune.mixup_alpha=0.8', 'eval.finetune.cutmix_alpha=1.0', 'eval.finetune.label_smoothing=0.1'] }), inputs());
    expect(mixed.finetune_top1.protocol).toContain('Mixup alpha 0.8 / CutMix alpha 1 (CutMix with probability 0.5) with the batch reversed, label smoothing 0.1, soft-target cross-entropy');
    expect(plain.finetune_top1.protocol).not.toContain('Mixup');
    for (const m of Object.values(mixed)) expect(Number.isFinite(m.value)).toBe(true);
    expect(mixed).not.toEqual(plain);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
