/**
 * The real pretraining step with data.prefetch on and off (tiny-simclr.yaml at 32 px, so the
 * training images come from the resized cache file and the worker reads them): the same losses
 * and parameters bit for bit, across an epoch end, and after a checkpoint resume, whether into a
 * fresh training or into one holding a prefetched batch from before the checkpoint. The runner
 * closes each training (its prefetch thread) when the run ends, finished or interrupted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configHash, loadConfig, type ResolvedConfig } from '../../src/config';
import { runExperiment } from '../../src/runner';
import { Pretraining } from '../../src/runner/pretrain';
import { FakeClock, FakeTraining, makeConfig, makeTempDir, RecordingProgress } from './fake-training';

const CONFIG = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');

let tmp: string;
const trainings: Pretraining[] = [];
beforeAll(() => { tmp = makeTempDir(); });
afterAll(async () => {
  for (const t of trainings) await t.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function config(prefetch: boolean): ResolvedConfig {
  return loadConfig(CONFIG, {
    set: [`data.prefetch=${prefetch}`, 'data.image_size=32', 'augmentation.input_size=32', `data.cache_dir=${path.join(tmp, 'cache')}`, 'train.batch_size=32'],
  });
}

async function create(prefetch: boolean, name: string): Promise<Pretraining> {
  const c = config(prefetch);
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const t = await Pretraining.create(c, dir, { dataSeed: c.seed, threads: 1, log: () => undefined });
  trainings.push(t);
  return t;
}

const usesWorker = (t: Pretraining) => (t as unknown as { prefetcher: unknown }).prefetcher !== null;

function parameters(t: Pretraining): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of t.model.state) {
    const d = t.runner.state.data(e.name) as ArrayBufferView;
    out.set(e.name, new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice());
  }
  return out;
}

async function losses(t: Pretraining, steps: number): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s < steps; s++) out.push((await t.runStep()).loss);
  return out;
}

test('data.prefetch does not change the run identity', () => {
  expect(configHash(config(true))).toBe(configHash(config(false)));
});

test('prefetch on and off: equal losses and parameters, bit for bit, across an epoch end; resume equals the uninterrupted run', async () => {
  // 80 training images, batch 32: 2 steps per epoch, so 5 steps cross two epoch ends.
  const off = await create(false, 'off');
  const on = await create(true, 'on');
  expect(usesWorker(off)).toBe(false);
  expect(usesWorker(on)).toBe(true);
  const reference = await losses(off, 5);
  const prefetched = await losses(on, 5);
  expect(prefetched).toEqual(reference);
  expect(reference.every(Number.isFinite)).toBe(true);
  expect(parameters(on)).toEqual(parameters(off));

  // A checkpoint after step 3 (a batch is prefetched at that moment), resumed by a fresh training ...
  const first = await create(true, 'first');
  await losses(first, 3);
  const ckpt = path.join(tmp, 'after3.ckpt');
  await first.saveCheckpoint(ckpt, null);
  const fresh = await create(true, 'fresh');
  await fresh.loadCheckpoint(ckpt);
  expect(await losses(fresh, 2)).toEqual(reference.slice(3));
  expect(parameters(fresh)).toEqual(parameters(off));
  // ... and by the training that wrote it, one step later, whose prefetched batch is then stale.
  await first.runStep();
  await first.loadCheckpoint(ckpt);
  expect(await losses(first, 2)).toEqual(reference.slice(3));
  expect(parameters(first)).toEqual(parameters(off));
});

test('the runner closes the training when a run finishes and when a signal stops it', async () => {
  const closed: string[] = [];
  const run = async (name: string, beforeStep?: (step: number) => Promise<void>) => {
    const clock = new FakeClock();
    const config = makeConfig(tmp, ['train.epochs=2']);
    return runExperiment(config, path.join(tmp, name), {
      resume: false, force: false, configFile: 'configs/fake.yaml', clock: clock.now, progress: new RecordingProgress(), log: () => undefined,
      createTraining: async (c) => {
        const training = new FakeTraining({ stepsPerEpoch: 3, totalEpochs: c.train.epochs, seed: c.seed, clock, beforeStep });
        return Object.assign(training, { close: async () => { closed.push(name); } });
      },
    });
  };
  await run('finished');
  expect(closed).toEqual(['finished']);
  const stopped = run('interrupted', async (step) => {
    if (step !== 2) return;
    process.emit('SIGINT', 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
  await expect(stopped).rejects.toThrow('interrupted by SIGINT');
  expect(closed).toEqual(['finished', 'interrupted']);
});
