/** Small synthetic image sets and a tiny backbone for the fine-tune and post-training evaluation tests. */
import { Rng } from '../../src/data/rng';
import { InMemoryImageSet } from '../../src/data/image-source';
import { createBackbone, initParameters } from '../../src/nn';

/** Side of the stripe images. */
export const STRIPE_SIZE = 16;
const SIZE = STRIPE_SIZE;

/** Class 0: horizontal stripes, class 1: vertical stripes (period 4, random phase, contrast and noise). */
export function stripes(seed: number, n: number, split: string): InMemoryImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * SIZE * SIZE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    const phase = rng.int(4);
    const low = 20 + rng.int(60);
    const high = 150 + rng.int(100);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const t = label === 0 ? y : x;
        const on = ((t + phase) & 3) < 2;
        const v = (on ? high : low) + (rng.int(31) - 15);
        images[(i * SIZE + y) * SIZE + x] = Math.max(0, Math.min(255, v));
      }
    }
  }
  return new InMemoryImageSet({ name: 'stripes', split, height: SIZE, width: SIZE, channels: 1, classes: ['horizontal', 'vertical'] }, images, labels);
}

/** Class 0: dark images (mean 40-100), class 1: bright ones (mean 150-210), with pixel noise. */
export function brightness(seed: number, n: number, split: string): InMemoryImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * SIZE * SIZE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const mean = (labels[i] === 0 ? 40 : 150) + rng.int(61);
    for (let p = 0; p < SIZE * SIZE; p++) images[i * SIZE * SIZE + p] = mean + rng.int(41) - 20;
  }
  return new InMemoryImageSet({ name: 'brightness', split, height: SIZE, width: SIZE, channels: 1, classes: ['dark', 'bright'] }, images, labels);
}

/** A 1/16-width ResNet-18-CIFAR on 1-channel images with seeded initial values named 'backbone.*'. */
export function tinyBackbone(seed: number) {
  const backbone = createBackbone('resnet18-cifar', { width: 0.0625, inChannels: 1 });
  const specs = [...backbone.module.parameters('backbone'), ...backbone.module.buffers('backbone')];
  return { ...backbone, values: initParameters(specs, new Rng(seed).fork('init')) };
}
