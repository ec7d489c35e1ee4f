/**
 * The linear probe's train features from a features file (the ImageNet-scale path, bounded memory)
 * train exactly the head the same features in memory train, through linearProbe and through
 * runPostTrainingEvals with the in-memory limit at 0 bytes; the file is removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { FeatureFileWriter } from '../../src/eval/knn';
import { linearProbe } from '../../src/eval/linear';
import { runPostTrainingEvals } from '../../src/eval/probe-protocol';
import { stripes, tinyBackbone } from './synthetic-images';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linear-file-features-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('linearProbe: file-backed train features == the same features in memory', async () => {
  const dim = 6;
  const n = 70;
  const features = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i * 0.37) + (Math.floor(i / dim) % 3) * 0.5);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const writer = new FeatureFileWriter(path.join(dir, 'train.f32'), dim);
  writer.append(features);
  const bank = writer.close(labels);
  const test = { features: features.slice(0, 30 * dim), labels: labels.slice(0, 30) };
  const common = { featureDim: dim, numClasses: 3, test, epochs: 3, batchSize: 16, lr: 0.2, seed: 5, threads: 1 };
  const inMemory = await linearProbe({ ...common, train: { features, labels } });
  const fromFile = await linearProbe({ ...common, train: { features: bank, labels } });
  bank.close?.();
  expect(fromFile.epochs).toEqual(inMemory.epochs);
  expect([...fromFile.state.keys()]).toEqual([...inMemory.state.keys()]);
  for (const [name, value] of inMemory.state) expect(fromFile.state.get(name)).toEqual(value);
}, 60_000);

test('runPostTrainingEvals: linear-probe features written to a file give the in-memory metrics, and the file is removed', async () => {
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, `name: file-features
seed: 0
device: cpu
method: { name: simclr }
backbone: { name: resnet18-cifar, width: 0.0625 }
data: { dataset: embedded-fashion-mnist, image_size: 16 }
augmentation: { preset: simclr, input_size: 12 }
train: { epochs: 1, batch_size: 32 }
eval: { linear: { enabled: true, epochs: 2 } }
`);
  const cfg = loadConfig(file);
  const { module, featureDim, values } = tinyBackbone(2);
  const scratchDir = path.join(dir, 'scratch');
  const inputs = { backbone: module, values, prefix: 'backbone', featureDim, train: stripes(3, 64, 'train'), test: stripes(4, 32, 'test'), device: 'cpu' as const, seed: 1, threads: 1 };
  const inMemory = await runPostTrainingEvals(cfg, inputs);
  const fromFile = await runPostTrainingEvals(cfg, { ...inputs, inMemoryFeatureBytes: 0, scratchDir });
  expect(fromFile).toEqual(inMemory);
  expect(fs.readdirSync(scratchDir)).toEqual([]);
}, 60_000);
