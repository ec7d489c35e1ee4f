/**
 * A run (fake training, real run loop) writes its TensorBoard scalars next to metrics.csv: the
 * same rows at the global step, and after SIGKILL + --resume every step once with the values of an
 * uninterrupted run; epochs restored from the checkpoint keep their first wall times.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runExperiment, type RunOptions } from '../../src/runner';
import { readMetricsCsv } from '../../src/runner/metrics-csv';
import { EVENTS_FILE_PREFIX } from '../../src/runner/tensorboard';
import { decodeEventFile, type TensorboardEvent } from '../../src/runner/tensorboard-events';
import { FakeClock, FakeTraining, makeConfig, makeTempDir, RecordingProgress, snapshotAsKilled } from './fake-training';

const STEPS = 5;
let tmp: string;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function options(beforeStep?: (step: number) => void, extra: Partial<RunOptions> = {}): RunOptions {
  const clock = new FakeClock();
  return {
    resume: false, force: false, configFile: 'configs/fake.yaml', clock: clock.now, progress: new RecordingProgress(), log: () => {},
    createTraining: async (config) => new FakeTraining({ stepsPerEpoch: STEPS, totalEpochs: config.train.epochs, seed: config.seed, clock, beforeStep }),
    ...extra,
  };
}

function eventsOf(dir: string): { file: string; events: TensorboardEvent[] } {
  const files = fs.readdirSync(dir).filter((n) => n.startsWith(EVENTS_FILE_PREFIX));
  expect(files).toHaveLength(1);
  return { file: files[0], events: decodeEventFile(fs.readFileSync(path.join(dir, files[0]))) };
}

const scalarsOf = (events: TensorboardEvent[]) => events.flatMap((e) => ('scalars' in e ? [{ step: e.step, scalars: e.scalars }] : []));

test('events file next to metrics.csv: file_version, then one event per metrics row at the global step', async () => {
  const dir = path.join(tmp, 'run');
  await runExperiment(makeConfig(tmp), dir, options());
  const metrics = readMetricsCsv(path.join(dir, 'metrics.csv'));
  const { file, events } = eventsOf(dir);
  expect(file).toMatch(/^events\.out\.tfevents\.\d{10}\..+$/);
  expect(events[0]).toMatchObject({ step: 0, fileVersion: 'brain.Event:2' });
  const scalars = scalarsOf(events);
  expect(scalars.map((e) => e.step)).toEqual([5, 10, 15, 20]);
  scalars.forEach((e, i) => {
    const row = metrics.rows[i];
    const byTag = Object.fromEntries(e.scalars.map((s) => [s.tag, s.value]));
    expect(byTag.epoch).toBe(i + 1);
    // metrics.csv rounds timings; loss, lr and accuracies are exact there, float32 here.
    for (const tag of ['loss', 'lr', 'knn_top1', 'knn_top5']) expect(byTag[tag]).toBe(Math.fround(row[tag] as number));
    expect(byTag.images_per_second).toBeCloseTo(row.images_per_second as number, 1);
  });
});

test('SIGKILL in epoch 4 with checkpoint_every 2, then --resume: steps once each, values of an uninterrupted run, restored wall times kept', async () => {
  const config = makeConfig(tmp, ['train.checkpoint_every=2']);
  const reference = path.join(tmp, 'reference');
  await runExperiment(config, reference, options());
  const live = path.join(tmp, 'live');
  const snapshot = path.join(tmp, 'killed');
  await expect(runExperiment(config, live, options((step) => {
    if (step !== 17) return;
    snapshotAsKilled(live, snapshot);
    throw new Error('SIGKILL');
  }))).rejects.toThrow('SIGKILL');
  const atKill = eventsOf(snapshot);
  expect(scalarsOf(atKill.events).map((e) => e.step)).toEqual([5, 10, 15]);
  await runExperiment(config, snapshot, options(undefined, { resume: true }));
  const after = eventsOf(snapshot);
  expect(after.file).toBe(atKill.file);
  expect(scalarsOf(after.events).map((e) => e.step)).toEqual([5, 10, 15, 20]);
  const values = (events: TensorboardEvent[]) => scalarsOf(events).map((e) => e.scalars.filter((s) => !s.tag.endsWith('seconds') && s.tag !== 'images_per_second'));
  expect(values(after.events)).toEqual(values(eventsOf(reference).events));
  // Epochs 1-2 came from the checkpoint: same wall times as at the kill.
  expect(after.events.slice(0, 3).map((e) => e.wallTime)).toEqual(atKill.events.slice(0, 3).map((e) => e.wallTime));
});
