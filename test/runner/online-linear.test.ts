/**
 * The online linear classifier inside the real pretraining step (tiny-simclr.yaml): the labels it
 * trains on are those of the batch's images (buffers are reused between steps, so they are copied
 * as fed), and its parameters sit in a weight-decay-0 group while the backbone's decay.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig, type ResolvedConfig } from '../../src/config';
import { loadDataset } from '../../src/data';
import { ONLINE_CLASSIFIER_PREFIX } from '../../src/eval/online-linear';
import { Pretraining } from '../../src/runner/pretrain';
import { makeTempDir } from './fake-training';

const CONFIG = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');
const HEAD_WEIGHT = `${ONLINE_CLASSIFIER_PREFIX}.weight`;
const HEAD_BIAS = `${ONLINE_CLASSIFIER_PREFIX}.bias`;

let tmp: string;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function config(set: string[]): ResolvedConfig {
  return loadConfig(CONFIG, { set: ['eval.online_linear=true', ...set] });
}

async function create(c: ResolvedConfig, name: string): Promise<Pretraining> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  return Pretraining.create(c, dir, { dataSeed: c.seed, log: () => undefined });
}

test('each step feeds the labels of its own batch images', async () => {
  const c = config([]);
  const training = await create(c, 'labels');
  const fed: Record<string, ort.Tensor>[] = [];
  const step = training.runner.step.bind(training.runner);
  training.runner.step = async (data, scalars) => {
    fed.push({ images: new ort.Tensor('uint8', (data.images.data as Uint8Array).slice(), data.images.dims), labels: new ort.Tensor('int64', (data.labels.data as BigInt64Array).slice(), data.labels.dims) });
    return step(data, scalars);
  };
  await training.runStep();
  await training.runStep();
  // The same subset, loaded independently: look every batch image up by its pixels.
  const train = await loadDataset(c.data, 'train', { seed: c.seed, log: () => undefined });
  const size = train.height * train.width * train.channels;
  const all = train.readBatch(Int32Array.from({ length: train.n }, (_, i) => i));
  for (const { images, labels } of fed) {
    const pixels = images.data as Uint8Array;
    const fedLabels = Array.from(labels.data as BigInt64Array, Number);
    expect(fedLabels).toHaveLength(c.train.batch_size);
    fedLabels.forEach((label, k) => {
      const image = pixels.subarray(k * size, (k + 1) * size);
      const matches: number[] = [];
      for (let i = 0; i < train.n; i++) if (Buffer.compare(all.subarray(i * size, (i + 1) * size), image) === 0) matches.push(train.labels[i]);
      expect(matches.length).toBeGreaterThan(0);
      expect(matches).toContain(label);
    });
  }
});

test('the head is trained in a weight-decay-0 group: a step with wd 0.5 leaves it as wd 0 does, not the backbone', async () => {
  const after = async (wd: number) => {
    const training = await create(config([`train.optimizer.weight_decay=${wd}`]), `wd${wd}`);
    const before = Float32Array.from(training.runner.state.data(HEAD_WEIGHT) as Float32Array);
    await training.runStep();
    const data = (name: string) => Float32Array.from(training.runner.state.data(name) as Float32Array);
    return { before, weight: data(HEAD_WEIGHT), bias: data(HEAD_BIAS), conv: data('backbone.conv1.weight') };
  };
  const plain = await after(0);
  const decayed = await after(0.5);
  // The step trains the head (its cross-entropy reaches it) ...
  expect(plain.weight).not.toEqual(plain.before);
  // ... identically with and without weight decay, while the backbone's update differs.
  expect(decayed.weight).toEqual(plain.weight);
  expect(decayed.bias).toEqual(plain.bias);
  expect(decayed.conv).not.toEqual(plain.conv);
});
