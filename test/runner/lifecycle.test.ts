import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configHash, type ResolvedConfig } from '../../src/config';
import { UserError } from '../../src/errors';
import { readSummary, type RunSummary } from '../../src/report/summary';
import { runExperiment, runLoop, type RunOptions } from '../../src/runner';
import { readMetricsCsv } from '../../src/runner/metrics-csv';
import { REPLACED_RUN_NAME } from '../../src/report/collect';
import { CHECKPOINT_FILE } from '../../src/runner/run-dir';
import { CLAIM_FILE, inspectClaim } from '../../src/sweep/claim';
import { runCli } from '../report/fixtures';
import {
  BUILD_SECONDS, EVAL_SECONDS, FakeClock, FakeTraining, makeConfig, makeTempDir, POST_EVAL_SECONDS, readText, RecordingProgress, snapshotAsKilled, STEP_SECONDS, type FakeOptions,
} from './fake-training';

const STEPS = 5;
const EPOCHS = 4;

let tmp: string;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

interface Harness {
  clock: FakeClock;
  built: FakeTraining[];
  seeds: number[];
  logs: string[];
  progress: RecordingProgress;
  options: (extra?: Partial<RunOptions>) => RunOptions;
}

function harness(fake: Partial<FakeOptions> = {}, clock = new FakeClock()): Harness {
  const h: Harness = {
    clock, built: [], seeds: [], logs: [], progress: new RecordingProgress(),
    options: (extra = {}) => ({
      resume: false, force: false, configFile: 'configs/fake.yaml', clock: clock.now, progress: h.progress,
      log: (line) => h.logs.push(line),
      createTraining: async (config) => {
        h.seeds.push(config.seed);
        const training = new FakeTraining({ stepsPerEpoch: STEPS, totalEpochs: config.train.epochs, seed: config.seed, clock, ...fake });
        h.built.push(training);
        return training;
      },
      ...extra,
    }),
  };
  return h;
}

async function runFresh(config: ResolvedConfig, name: string, fake: Partial<FakeOptions> = {}): Promise<{ dir: string; h: Harness }> {
  const dir = path.join(tmp, name);
  const h = harness(fake);
  await runExperiment(config, dir, h.options());
  return { dir, h };
}

/** The state a SIGKILL before step `k` leaves behind: the directory as it was at that moment. */
async function killedAt(config: ResolvedConfig, k: number, name: string): Promise<string> {
  const dir = path.join(tmp, `${name}-live`);
  const snapshot = path.join(tmp, name);
  const h = harness({
    beforeStep: (step) => {
      if (step !== k) return;
      snapshotAsKilled(dir, snapshot);
      throw new Error('SIGKILL');
    },
  });
  await expect(runExperiment(config, dir, h.options())).rejects.toThrow('SIGKILL');
  return snapshot;
}

const metricsOf = (s: RunSummary): RunSummary['metrics'] => s.metrics;

describe('an uninterrupted run', () => {
  test('writes metrics.csv, summary.json, checkpoint and backbone with exact runtime and protocol labels', async () => {
    const config = makeConfig(tmp);
    const { dir, h } = await runFresh(config, 'run');
    expect(h.seeds).toEqual([0]);
    const metrics = readMetricsCsv(path.join(dir, 'metrics.csv'));
    expect(metrics.columns).toEqual(['epoch', 'steps', 'loss', 'lr', 'knn_top1', 'knn_top5', 'epoch_seconds', 'data_seconds', 'eval_seconds', 'images_per_second']);
    expect(metrics.rows.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    for (const row of metrics.rows) {
      expect(row.steps).toBe(STEPS);
      expect(row.epoch_seconds).toBe(STEPS * STEP_SECONDS + EVAL_SECONDS);
      expect(row.data_seconds).toBe(STEPS * 0.25);
      expect(row.images_per_second).toBeCloseTo(8 / STEP_SECONDS, 1);
    }
    // Mean loss over the epoch, recomputed from the same deterministic fake.
    const replay = new FakeTraining({ stepsPerEpoch: STEPS, totalEpochs: EPOCHS, seed: 0, clock: new FakeClock() });
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) losses.push((await replay.runStep()).loss);
    expect(metrics.rows[0].loss).toBe(losses.reduce((a, b) => a + b, 0) / STEPS);

    const summary = readSummary(path.join(dir, 'summary.json'));
    const top1 = metrics.rows.map((r) => r.knn_top1 as number);
    expect(summary.status).toBe('finished');
    expect(summary.metrics.knn_top1.value).toBe(Math.max(...top1));
    expect(summary.metrics.knn_top1.protocol).toMatch(/^kNN k=200 t=0\.1, cifar10 test split, max over epochs \(published protocol; best at epoch \d\)$/);
    expect(summary.metrics.knn_top1_final).toEqual({ value: top1[3], protocol: 'kNN k=200 t=0.1, cifar10 test split, final epoch (epoch 4)' });
    expect(summary.metrics.knn_top5.value).toBe(Math.max(...metrics.rows.map((r) => r.knn_top5 as number)));
    expect(summary.metrics.knn_top5_final.value).toBe(metrics.rows[3].knn_top5);
    // 20 steps and 4 evaluations; the 100 s of model construction are not runtime.
    expect(summary.runtime_minutes).toBeCloseTo((EPOCHS * STEPS * STEP_SECONDS + EPOCHS * EVAL_SECONDS) / 60, 12);
    expect(summary.memory_kind).toBe('process-rss');
    expect(summary.peak_memory_gb).toBeGreaterThan(0.01);
    expect(summary).toMatchObject({
      method: 'simclr', label: 'SimCLR', backbone: 'resnet18-cifar', dataset: 'cifar10', batch_size: 8, epochs: 4, seed: 0,
      device: 'cpu', config_hash: configHash(config), config_file: 'configs/fake.yaml', run_name: 'run',
      versions: { ssl_bench: '0.1.0', onnxruntime: '1.30.0', node: process.version },
    });
    expect(summary.finished_at).not.toBeNull();
    expect(readText(path.join(dir, 'backbone.onnx'))).toMatch(/^fake backbone/);
    expect(fs.existsSync(path.join(dir, CHECKPOINT_FILE))).toBe(true);
    expect(h.logs.at(-1)).toMatch(/^run: finished, knn_top1 0\.\d{4} \(max over epochs\), results in .*summary\.json$/);
    expect(h.progress.events.filter((e) => e.startsWith('epoch'))).toEqual(['epoch 1', 'epoch 2', 'epoch 3', 'epoch 4']);
  });

  test('device memory is reported as such when the training exposes it', async () => {
    const { dir } = await runFresh(makeConfig(tmp), 'gpu', { devicePeakBytes: 3 * 1024 ** 3 });
    const summary = readSummary(path.join(dir, 'summary.json'));
    expect(summary.memory_kind).toBe('device');
    expect(summary.peak_memory_gb).toBe(3);
  });

  test('eval.knn.every, checkpoint_every and train.max_steps', async () => {
    const config = makeConfig(tmp, ['eval.knn.every=3', 'train.max_steps=12']);
    const { dir, h } = await runFresh(config, 'capped');
    const metrics = readMetricsCsv(path.join(dir, 'metrics.csv'));
    expect(metrics.rows.map((r) => [r.epoch, r.steps, r.knn_top1 === null])).toEqual([[1, 5, true], [2, 5, true], [3, 2, false]]);
    expect(h.built[0].stepsRun).toBe(12);
    const summary = readSummary(path.join(dir, 'summary.json'));
    // max_steps stopped training before the configured 4 epochs: a smoke run, not a result.
    expect(summary.status).toBe('smoke');
    expect(summary.metrics.knn_top1_final.protocol).toContain('final epoch (epoch 3)');
  });

  test('an evaluation outside [0, 1] is a programming error, not a silent summary', async () => {
    const config = makeConfig(tmp);
    const dir = path.join(tmp, 'bad-eval');
    const h = harness();
    const options = h.options();
    const create = options.createTraining!;
    options.createTraining = async (c, d) => {
      const training = await create(c, d);
      training.evaluate = async () => ({ knn_top1: 87.5 });
      return training;
    };
    await expect(runExperiment(config, dir, options)).rejects.toThrow('knn_top1 = 87.5; accuracies must be fractions in [0, 1]');
    expect(readSummary(path.join(dir, 'summary.json')).status).toBe('failed');
  });
});

describe('kill and resume', () => {
  // Before the first step, at an epoch boundary, mid-epoch, before the very last step.
  test.each([0, 5, 7, 19])('SIGKILL before global step %i, then --resume: same metrics.csv and summary metrics', async (k) => {
    const config = makeConfig(tmp);
    const { dir: reference } = await runFresh(config, 'reference');
    const snapshot = await killedAt(config, k, `killed-${k}`);
    const startedAtKill = readSummary(path.join(snapshot, 'summary.json')).started_at;
    const h = harness();
    h.clock.advance(1000); // downtime between the kill and the resume is not runtime
    await runExperiment(config, snapshot, h.options({ resume: true }));
    expect(readText(path.join(snapshot, 'metrics.csv'))).toBe(readText(path.join(reference, 'metrics.csv')));
    const resumed = readSummary(path.join(snapshot, 'summary.json'));
    const uninterrupted = readSummary(path.join(reference, 'summary.json'));
    expect(metricsOf(resumed)).toEqual(metricsOf(uninterrupted));
    expect(resumed.status).toBe('finished');
    // Lost work after the last checkpoint is redone, so the total equals the uninterrupted runtime.
    expect(resumed.runtime_minutes).toBeCloseTo(uninterrupted.runtime_minutes!, 12);
    // A resume from a checkpoint keeps the first session's start; without one the run started over.
    if (k >= STEPS) expect(resumed.started_at).toBe(startedAtKill);
    // Work redone: from the last epoch-end checkpoint (epoch boundary at or before k).
    expect(h.built[0].stepsRun).toBe(EPOCHS * STEPS - Math.floor(k / STEPS) * STEPS);
    const resuming = h.logs.filter((l) => l.includes('resuming'));
    expect(resuming).toEqual(k < STEPS ? [] : [`killed-${k}: resuming from ${path.join(snapshot, CHECKPOINT_FILE)}`]);
  });

  test('with checkpoint_every 2 a kill in epoch 4 redoes epochs 3 and 4', async () => {
    const config = makeConfig(tmp, ['train.checkpoint_every=2']);
    const { dir: reference } = await runFresh(config, 'reference');
    const snapshot = await killedAt(config, 17, 'killed');
    const metricsAtKill = readMetricsCsv(path.join(snapshot, 'metrics.csv'));
    expect(metricsAtKill.rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
    const h = harness();
    await runExperiment(config, snapshot, h.options({ resume: true }));
    expect(h.built[0].stepsRun).toBe(10);
    expect(readText(path.join(snapshot, 'metrics.csv'))).toBe(readText(path.join(reference, 'metrics.csv')));
  });

  test('resuming drops metrics rows written after the checkpoint until they are recomputed', async () => {
    const config = makeConfig(tmp, ['train.checkpoint_every=2']);
    const snapshot = await killedAt(config, 17, 'killed');
    const h = harness({ beforeStep: (step) => { if (step === 10) throw new Error('stop to look'); } });
    await expect(runExperiment(config, snapshot, h.options({ resume: true }))).rejects.toThrow('stop to look');
    expect(readMetricsCsv(path.join(snapshot, 'metrics.csv')).rows.map((r) => r.epoch)).toEqual([1, 2]);
  });

  test('a checkpoint of another config is refused', async () => {
    const config = makeConfig(tmp);
    const snapshot = await killedAt(config, 7, 'killed');
    const other = makeConfig(tmp, ['seed=5']);
    const h = harness();
    await expect(runExperiment(other, snapshot, h.options({ resume: true }))).rejects.toThrow(/checkpoint of config [0-9a-f]{12} seed 0, this run is config [0-9a-f]{12} seed 5; rerun with --force/);
  });
});

describe('divergence', () => {
  test.each([[Number.NaN, 'NaN'], [Number.POSITIVE_INFINITY, 'Infinity']])('loss %p stops the run, keeps the last good checkpoint, marks the summary diverged', async (badLoss, text) => {
    const config = makeConfig(tmp);
    const dir = path.join(tmp, 'div');
    let goodCheckpoint = '';
    const h = harness({
      badStep: 12, badLoss,
      beforeStep: (step) => { if (step === 12) goodCheckpoint = readText(path.join(dir, CHECKPOINT_FILE)); },
    });
    const err = await runExperiment(config, dir, h.options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(1);
    expect((err as UserError).message).toBe('run: div diverged (NaN/Inf loss); see the summaries above');
    expect(h.logs).toContainEqual(`div: diverged: loss is ${text} at epoch 3/4, step 3/5 (global step 13); the last good checkpoint (before epoch 3 step 1) is kept in ${path.join(dir, CHECKPOINT_FILE)}; summary in ${path.join(dir, 'summary.json')}`);
    expect(readText(path.join(dir, CHECKPOINT_FILE))).toBe(goodCheckpoint);
    const summary = readSummary(path.join(dir, 'summary.json'));
    expect(summary.status).toBe('diverged');
    expect(summary.metrics.knn_top1_final.protocol).toContain('(epoch 2)');
    expect(readMetricsCsv(path.join(dir, 'metrics.csv')).rows).toHaveLength(2);
    expect(fs.existsSync(path.join(dir, 'backbone.onnx'))).toBe(false);

    // Rerunning reports the divergence and leaves everything as it is, with or without --resume.
    for (const resume of [false, true]) {
      const again = harness();
      await expect(runExperiment(config, dir, again.options({ resume }))).rejects.toThrow('diverged');
      expect(again.built).toHaveLength(0);
      expect(again.logs[0]).toBe(`div: diverged earlier, see ${path.join(dir, 'summary.json')} (use --force to rerun)`);
    }
    expect(readText(path.join(dir, CHECKPOINT_FILE))).toBe(goodCheckpoint);
  });

  test('divergence in the first epoch says no checkpoint exists', async () => {
    const h = harness({ badStep: 2 });
    await expect(runExperiment(makeConfig(tmp), path.join(tmp, 'early'), h.options())).rejects.toThrow('diverged');
    expect(h.logs.find((l) => l.includes('diverged:'))).toContain('at epoch 1/4, step 3/5 (global step 3); no checkpoint was written yet;');
  });
});

describe('the overwrite rule', () => {
  test('a finished run is reported, never rerun, unless --force, which moves it aside', async () => {
    const config = makeConfig(tmp);
    const { dir } = await runFresh(config, 'done');
    const before = readText(path.join(dir, 'summary.json'));
    for (const resume of [false, true]) {
      const again = harness();
      await runExperiment(config, dir, again.options({ resume }));
      expect(again.built).toHaveLength(0);
      expect(again.logs).toEqual([`done: already finished, results in ${path.join(dir, 'summary.json')} (use --force to rerun)`]);
    }
    expect(readText(path.join(dir, 'summary.json'))).toBe(before);

    const forced = harness();
    await runExperiment(config, dir, forced.options({ force: true }));
    const aside = fs.readdirSync(tmp).filter((n) => REPLACED_RUN_NAME.test(n));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^done\.replaced-\d{8}T\d{6}Z$/);
    expect(readText(path.join(tmp, aside[0], 'summary.json'))).toBe(before);
    expect(forced.logs[0]).toBe(`--force: previous results moved to ${path.join(tmp, aside[0])}`);
    expect(readSummary(path.join(dir, 'summary.json')).status).toBe('finished');
    expect(fs.existsSync(path.join(dir, 'config.resolved.yaml'))).toBe(true);
    // Tables never see the replaced copy.
    const table = await runCli(['table', tmp, '--format', 'csv']);
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
  });

  test('an unfinished run needs --resume or --force; the message says which does what', async () => {
    const config = makeConfig(tmp);
    const snapshot = await killedAt(config, 7, 'half');
    const h = harness();
    const err = await runExperiment(config, snapshot, h.options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`${snapshot}: holds an unfinished run with a checkpoint; --resume continues it, --force moves the directory aside and starts over`);
    expect(h.built).toHaveLength(0);
  });

  test('runLoop itself refuses a fresh start over a checkpoint', async () => {
    const config = makeConfig(tmp);
    const snapshot = await killedAt(config, 7, 'half');
    const clock = new FakeClock();
    const training = new FakeTraining({ stepsPerEpoch: STEPS, totalEpochs: EPOCHS, seed: 0, clock });
    await expect(runLoop(training, {
      runDir: snapshot, config, configHash: configHash(config), configFile: 'x.yaml', runName: 'half', start: 'fresh',
      progress: new RecordingProgress(), interrupts: { requested: null }, clock: clock.now,
    })).rejects.toThrow('holds a checkpointed unfinished run; refusing to start over (--resume continues an unfinished run, --force moves the directory aside and starts over)');
    expect(training.stepsRun).toBe(0);
  });

  test('--resume on a run that crashed before its first checkpoint starts it over', async () => {
    const config = makeConfig(tmp);
    const snapshot = await killedAt(config, 3, 'early');
    expect(fs.existsSync(path.join(snapshot, CHECKPOINT_FILE))).toBe(false);
    const h = harness();
    await runExperiment(config, snapshot, h.options({ resume: true }));
    expect(h.built[0].stepsRun).toBe(EPOCHS * STEPS);
    expect(readSummary(path.join(snapshot, 'summary.json')).status).toBe('finished');
  });
});

const claimedAt = (dir: string): string => (JSON.parse(readText(path.join(dir, CLAIM_FILE))) as { started_at: string }).started_at;

describe('one writer per run directory', () => {
  test('a run claims its directory while it trains; a second run of it is refused, even with --force, and nothing is touched', async () => {
    const config = makeConfig(tmp);
    const dir = path.join(tmp, 'busy');
    let second: unknown = null;
    const first = harness({
      beforeStep: async (step) => {
        if (step !== 7) return;
        expect(inspectClaim(dir).kind).toBe('live');
        const metrics = readText(path.join(dir, 'metrics.csv'));
        for (const extra of [{}, { resume: true }, { force: true }]) {
          const h = harness();
          second = await runExperiment(config, dir, h.options(extra)).catch((e: unknown) => e);
          expect(second).toBeInstanceOf(UserError);
          expect((second as UserError).message).toBe(`${dir}: is being run by ssl-bench run on ${os.hostname()} (pid ${process.pid}, since ${claimedAt(dir)}); wait for it to finish (or stop it) and run again`);
          expect(h.built).toHaveLength(0);
        }
        expect(readText(path.join(dir, 'metrics.csv'))).toBe(metrics);
        expect(fs.readdirSync(tmp).filter((n) => REPLACED_RUN_NAME.test(n))).toHaveLength(0);
      },
    });
    await runExperiment(config, dir, first.options());
    expect(second).not.toBeNull();
    expect(readSummary(path.join(dir, 'summary.json')).status).toBe('finished');
    expect(fs.existsSync(path.join(dir, CLAIM_FILE))).toBe(false);
  });

  test('the claim is released when the run fails, so a --resume can follow', async () => {
    const config = makeConfig(tmp);
    const dir = path.join(tmp, 'crashed');
    const h = harness({ beforeStep: (step) => { if (step === 7) throw new Error('crash'); } });
    await expect(runExperiment(config, dir, h.options())).rejects.toThrow('crash');
    expect(fs.existsSync(path.join(dir, CLAIM_FILE))).toBe(false);
    const again = harness();
    await runExperiment(config, dir, again.options({ resume: true }));
    expect(readSummary(path.join(dir, 'summary.json')).status).toBe('finished');
  });
});

describe('signals', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s stops after the current step with a checkpoint; --resume finishes identically', async (signal) => {
    const config = makeConfig(tmp);
    const { dir: reference } = await runFresh(config, 'reference');
    const dir = path.join(tmp, 'signalled');
    const listenersBefore = process.listenerCount(signal);
    const h = harness({
      beforeStep: async (step) => {
        if (step !== 7) return;
        // What Node does when the signal arrives: emit it on `process` (jest's sandbox has its own
        // process object, so a real kill() would hit the runner's default handler instead).
        process.emit(signal, signal);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    const err = await runExperiment(config, dir, h.options()).catch((e: unknown) => e);
    expect(process.listenerCount(signal)).toBe(listenersBefore);
    expect(err).toBeInstanceOf(UserError);
    // 128 + the signal number: what a shell (and npx) reports for a process the signal stopped.
    expect((err as UserError).exitCode).toBe(signal === 'SIGINT' ? 130 : 143);
    expect((err as UserError).message).toBe(`signalled: interrupted by ${signal} before epoch 2 step 4 (global step 9/20); checkpoint saved in ${path.join(dir, CHECKPOINT_FILE)}; continue with --resume`);
    expect(h.progress.events).toContain(`${signal} received: stopping after the current step and saving a checkpoint (send it again to stop immediately)`);
    expect(h.built[0].stepsRun).toBe(8);
    const interrupted = readSummary(path.join(dir, 'summary.json'));
    expect(interrupted.status).toBe('interrupted');
    // Without --resume the run is not restarted; the message says what to do.
    await expect(runExperiment(config, dir, harness().options())).rejects.toThrow(
      `${dir}: holds an interrupted run (SIGINT/SIGTERM) with a checkpoint; --resume continues it, --force moves the directory aside and starts over`);
    expect(interrupted.runtime_minutes).toBeCloseTo((8 * STEP_SECONDS + EVAL_SECONDS) / 60, 12);

    const resumed = harness();
    await runExperiment(config, dir, resumed.options({ resume: true }));
    expect(resumed.built[0].stepsRun).toBe(12);
    expect(readText(path.join(dir, 'metrics.csv'))).toBe(readText(path.join(reference, 'metrics.csv')));
    const final = readSummary(path.join(dir, 'summary.json'));
    expect(final.metrics).toEqual(readSummary(path.join(reference, 'summary.json')).metrics);
    expect(final.runtime_minutes).toBeCloseTo((EPOCHS * STEPS * STEP_SECONDS + EPOCHS * EVAL_SECONDS) / 60, 12);
    expect(final.started_at).toBe(interrupted.started_at);
  });
});

describe('runtime accumulation', () => {
  test('sums training time over sessions, excluding construction, downtime and redone-free interrupts', async () => {
    const config = makeConfig(tmp);
    const dir = path.join(tmp, 'acc');
    const clock = new FakeClock();
    let stopAt = 3;
    const flag = { requested: null as 'SIGINT' | null };
    const sessions: number[] = [];
    for (let session = 0; session < 3; session++) {
      flag.requested = null;
      const start = clock.t;
      const training = new FakeTraining({
        stepsPerEpoch: STEPS, totalEpochs: EPOCHS, seed: 0, clock,
        beforeStep: (step) => { if (step === stopAt) flag.requested = 'SIGINT'; },
      });
      const outcome = await runLoop(training, {
        runDir: dir, config, configHash: configHash(config), configFile: 'x.yaml', runName: 'acc', start: session === 0 ? 'fresh' : 'resume',
        progress: new RecordingProgress(), interrupts: flag, clock: clock.now,
      });
      sessions.push(clock.t - start - BUILD_SECONDS);
      clock.advance(500);
      stopAt = 11;
      if (outcome.status === 'finished') break;
      expect(outcome.status).toBe('interrupted');
    }
    expect(sessions).toHaveLength(3);
    const summary = readSummary(path.join(dir, 'summary.json'));
    expect(summary.runtime_minutes).toBeCloseTo(sessions.reduce((a, b) => a + b, 0) / 60, 12);
    expect(summary.runtime_minutes).toBeCloseTo((EPOCHS * STEPS * STEP_SECONDS + EPOCHS * EVAL_SECONDS) / 60, 12);
  });
});

describe('n_runs', () => {
  test('run r uses seed + r in seed<S>/, and the table shows mean ± std over them', async () => {
    const config = makeConfig(tmp, ['n_runs=3', 'seed=4']);
    const dir = path.join(tmp, 'multi');
    const h = harness();
    await runExperiment(config, dir, h.options());
    expect(h.seeds).toEqual([4, 5, 6]);
    expect(fs.readdirSync(dir).sort()).toEqual(['seed4', 'seed5', 'seed6']);
    const summaries = [4, 5, 6].map((s) => readSummary(path.join(dir, `seed${s}`, 'summary.json')));
    expect(summaries.map((s) => [s.seed, s.status, s.config_hash, s.run_name])).toEqual([4, 5, 6].map((s) => [s, 'finished', configHash(config), `multi/seed${s}`]));
    const values = summaries.map((s) => s.metrics.knn_top1.value);
    expect(new Set(values).size).toBe(3);
    const table = await runCli(['table', dir, '--format', 'md', '--columns', 'model,seeds,knn_top1']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\| SimCLR \| 4 5 6 \| 0\.\d{3} ± 0\.\d{3} \|/);

    // Rerun: every seed is reported, none retrained.
    const again = harness();
    await runExperiment(config, dir, again.options());
    expect(again.built).toHaveLength(0);
    expect(again.logs).toHaveLength(3);
  });
});

describe('post-training evaluations', () => {
  const POST = ['eval.linear.enabled=true', 'eval.finetune.enabled=true'];

  test('run once after the last epoch; their metrics join summary.json, their time is kept out of runtime_minutes', async () => {
    const config = makeConfig(tmp, POST);
    const { dir, h } = await runFresh(config, 'post');
    expect(h.built[0].postEvalsRun).toBe(1);
    const summary = readSummary(path.join(dir, 'summary.json'));
    expect(summary.status).toBe('finished');
    const replay = new FakeTraining({ stepsPerEpoch: STEPS, totalEpochs: EPOCHS, seed: 0, clock: new FakeClock() });
    for (let i = 0; i < EPOCHS * STEPS; i++) await replay.runStep();
    const expected = await replay.postTrainingEvals(() => undefined);
    for (const name of ['linear_top1', 'linear_top5', 'finetune_top1']) expect(summary.metrics[name]).toEqual(expected[name]);
    expect(summary.metrics.knn_top1.protocol).toMatch(/^kNN /);
    expect(summary.runtime_minutes).toBeCloseTo((EPOCHS * STEPS * STEP_SECONDS + EPOCHS * EVAL_SECONDS) / 60, 12);
    expect(summary.post_training_eval_minutes).toBeCloseTo(POST_EVAL_SECONDS / 60, 12);
    // The evaluations run after the export and before the run is marked finished.
    const events = h.progress.events;
    expect(events.findIndex((e) => e.startsWith('pretraining complete; post-training evaluations (eval.linear / eval.finetune)'))).toBeGreaterThan(events.indexOf('epoch 4'));
    expect(events).toContain('fake linear probe epoch 1/1');
    expect(h.logs.at(-1)).toMatch(/^post: finished, knn_top1 0\.\d{4}, linear_top1 0\.\d{4}, finetune_top1 0\.\d{4} \(max over epochs\), results in .*summary\.json$/);
  });

  test('are not run, and leave no field behind, when neither eval.linear nor eval.finetune is enabled', async () => {
    const { dir, h } = await runFresh(makeConfig(tmp), 'plain');
    expect(h.built[0].postEvalsRun).toBe(0);
    const summary = readSummary(path.join(dir, 'summary.json'));
    expect(summary.post_training_eval_minutes).toBeUndefined();
    expect(Object.keys(summary.metrics).some((m) => m.startsWith('linear') || m.startsWith('finetune'))).toBe(false);
  });

  test('a kill during them, then --resume, reruns only them and gives the uninterrupted result', async () => {
    const config = makeConfig(tmp, POST);
    const { dir: reference } = await runFresh(config, 'reference');
    const live = path.join(tmp, 'killed-live');
    const snapshot = path.join(tmp, 'killed');
    const killed = harness({
      beforePostEvals: () => {
        snapshotAsKilled(live, snapshot);
        throw new Error('SIGKILL');
      },
    });
    await expect(runExperiment(config, live, killed.options())).rejects.toThrow('SIGKILL');
    const atKill = readSummary(path.join(snapshot, 'summary.json'));
    expect(atKill.status).toBe('running');
    expect(atKill.metrics.linear_top1).toBeUndefined();

    const h = harness();
    h.clock.advance(1000);
    await runExperiment(config, snapshot, h.options({ resume: true }));
    expect(h.built[0].stepsRun).toBe(0);
    expect(h.built[0].postEvalsRun).toBe(1);
    const resumed = readSummary(path.join(snapshot, 'summary.json'));
    const uninterrupted = readSummary(path.join(reference, 'summary.json'));
    expect(resumed.status).toBe('finished');
    expect(resumed.metrics).toEqual(uninterrupted.metrics);
    expect(resumed.runtime_minutes).toBeCloseTo(uninterrupted.runtime_minutes!, 12);
    expect(resumed.post_training_eval_minutes).toBeCloseTo(POST_EVAL_SECONDS / 60, 12);
    expect(readText(path.join(snapshot, 'metrics.csv'))).toBe(readText(path.join(reference, 'metrics.csv')));
  });

  test('a last checkpoint written before the flag existed still resumes straight into them', async () => {
    const config = makeConfig(tmp, POST);
    const { dir: reference } = await runFresh(config, 'reference');
    const live = path.join(tmp, 'old-live');
    const snapshot = path.join(tmp, 'old');
    const killed = harness({ beforePostEvals: () => { snapshotAsKilled(live, snapshot); throw new Error('SIGKILL'); } });
    await expect(runExperiment(config, live, killed.options())).rejects.toThrow('SIGKILL');
    const file = path.join(snapshot, CHECKPOINT_FILE);
    const saved = JSON.parse(readText(file));
    delete saved.runnerState.pretrainingComplete;
    fs.writeFileSync(file, JSON.stringify(saved));
    const h = harness();
    await runExperiment(config, snapshot, h.options({ resume: true }));
    expect([h.built[0].stepsRun, h.built[0].postEvalsRun]).toEqual([0, 1]);
    expect(readSummary(path.join(snapshot, 'summary.json')).metrics).toEqual(readSummary(path.join(reference, 'summary.json')).metrics);
  });

  test('the last checkpoint says pretraining is complete; earlier ones do not', async () => {
    const config = makeConfig(tmp, [...POST, 'train.checkpoint_every=3']);
    const states: boolean[] = [];
    const dir = path.join(tmp, 'flags');
    const h = harness({
      beforeStep: (step) => {
        if (step === 15) states.push(JSON.parse(readText(path.join(dir, CHECKPOINT_FILE))).runnerState.pretrainingComplete);
      },
      beforePostEvals: () => {
        states.push(JSON.parse(readText(path.join(dir, CHECKPOINT_FILE))).runnerState.pretrainingComplete);
      },
    });
    await runExperiment(config, dir, h.options());
    expect(states).toEqual([false, true]);
  });

  test('a metric outside [0, 1] is a programming error, not a silent summary', async () => {
    const config = makeConfig(tmp, ['eval.linear.enabled=true']);
    const dir = path.join(tmp, 'bad-post');
    const h = harness();
    const options = h.options();
    const create = options.createTraining!;
    options.createTraining = async (c, d) => {
      const training = await create(c, d);
      training.postTrainingEvals = async () => ({ linear_top1: { value: 71.5, protocol: 'linear probe' } });
      return training;
    };
    await expect(runExperiment(config, dir, options)).rejects.toThrow('linear_top1 = 71.5; accuracies must be fractions in [0, 1]');
    expect(readSummary(path.join(dir, 'summary.json')).status).toBe('failed');
  });
});

describe('the intra-op thread count (CPU results depend on it)', () => {
  test('is recorded in the checkpoint and summary.json; a resume with another count is refused, with the same count it finishes', async () => {
    const config = makeConfig(tmp);
    const dir = await killedAt(config, 9, 'killed');
    const saved = JSON.parse(readText(path.join(dir, CHECKPOINT_FILE)));
    const threadsAtKill = saved.runnerState.threads;
    expect(Number.isInteger(threadsAtKill)).toBe(true);

    const other = harness();
    const err = await runExperiment(config, dir, other.options({ resume: true, threads: threadsAtKill + 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`${path.join(dir, CHECKPOINT_FILE)}: trained with ${threadsAtKill} intra-op thread${threadsAtKill === 1 ? '' : 's'}, this session would use ${threadsAtKill + 1}; CPU results depend on the thread count, so resume with --threads ${threadsAtKill} (or --force to start over)`);
    expect(other.built[0].stepsRun).toBe(0);

    await runExperiment(config, dir, harness().options({ resume: true, threads: threadsAtKill }));
    expect(readSummary(path.join(dir, 'summary.json'))).toMatchObject({ status: 'finished', threads: threadsAtKill });
  });

  test('--threads N is what the summary records; config_hash_without_seed is equal for seeds of one experiment', async () => {
    const config = { ...makeConfig(tmp), n_runs: 2 };
    const dir = path.join(tmp, 'two-seeds');
    await runExperiment(config, dir, harness().options({ threads: 3 }));
    const [s0, s1] = ['seed0', 'seed1'].map((s) => readSummary(path.join(dir, s, 'summary.json')));
    expect([s0.threads, s1.threads]).toEqual([3, 3]);
    expect(s0.config_hash_without_seed).toBe(configHash({ ...config, seed: 0, n_runs: 1 }));
    expect(s1.config_hash_without_seed).toBe(s0.config_hash_without_seed);
    expect(configHash({ ...config, seed: 7 })).not.toBe(configHash(config));
  });
});
