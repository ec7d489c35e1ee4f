import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedConfig } from '../config';
import { displayPath } from '../config';
import { UserError } from '../errors';
import { METRIC_NAME, writeSummary, type MemoryKind, type MetricValue, type RunStatus, type RunSummary } from '../report/summary';
import { writeFileAtomic } from '../util/atomic';
import { emptyPartial, LOOP_STATE_FORMAT, loopStateToJson, parseLoopState, type LoopState, type PartialEpoch } from './loop-state';
import { metricsCsv, type EpochRow } from './metrics-csv';
import { TensorboardScalars } from './tensorboard';
import type { ProgressReporter } from './progress';
import { buildSummary, type PostTrainingResult } from './run-summary';
import { BACKBONE_FILE, CHECKPOINT_FILE, inspectRunDir, METRICS_FILE, SUMMARY_FILE } from './run-dir';
import type { Position, Training } from './training';
import type { InterruptSignal } from './interrupt';

/**
 * The life of one pretraining run inside its directory: epochs of steps, online evaluation,
 * checkpoints, metrics.csv and summary.json, resume, divergence and interrupts.
 *
 * Crash safety: the loop writes state only by atomic replacement (checkpoint, metrics.csv,
 * summary.json, each temp file + rename), and the loop's own state rides inside the checkpoint.
 * Killing the process at any instant therefore leaves a directory that `--resume` continues to the
 * same metrics as an uninterrupted run: what happened after the last checkpoint is redone.
 *
 * After the last epoch: the backbone export, then (eval.linear / eval.finetune) the post-training
 * evaluations, whose metrics join summary.json with their protocols. The last epoch's checkpoint
 * records that pretraining is complete, so a run killed during these evaluations resumes straight
 * into them and, as they depend only on the checkpointed state and the seed, gets the same
 * metrics. They have no checkpoint of their own: a SIGINT/SIGTERM during them is noted and the
 * run still finishes; a second signal stops it at once and --resume reruns them.
 *
 * Without pretraining (totalEpochs 0: method none, the floor rows) the run is one evaluation of the
 * backbone as initialised, recorded as epoch 0 (no steps; loss and lr cells empty) and checkpointed
 * as complete, then the export and the post-training evaluations as above; its runtime_minutes is
 * that evaluation's wall time.
 *
 * summary.json status: "running" from the start (and after a SIGKILL), "finished" once the
 * backbone is exported and the post-training evaluations are in ("smoke" instead when
 * train.max_steps stopped training before its configured epochs), "diverged" on a NaN/Inf loss
 * (nothing of the diverged state is saved), "interrupted" after SIGINT/SIGTERM (a checkpoint was
 * saved after the current step; --resume goes on), "failed" after an exception. runtime_minutes counts pretraining
 * wall time of every session up to its last checkpoint-or-end: steps, epoch-end evaluation (kNN,
 * online linear), checkpoint writes; not model construction, checkpoint loading, the final export,
 * the post-training evaluations (post_training_eval_minutes, the session that completed them),
 * nor time between sessions. Work lost to a SIGKILL after the last checkpoint is not counted;
 * redoing it is.
 */

export interface LoopOptions {
  /** This run's directory (the seed subdirectory when n_runs > 1). */
  runDir: string;
  /** The resolved config with `seed` set to this run's seed. */
  config: ResolvedConfig;
  /** Identity written into summary.json and checked against the checkpoint on resume. */
  configHash: string;
  configFile: string;
  runName: string;
  /** 'resume' continues from checkpoint/last.ckpt (which must exist); 'fresh' starts at step 0. */
  start: 'fresh' | 'resume';
  progress: ProgressReporter;
  /** Polled after every step; a non-null value stops the run after a checkpoint. */
  interrupts: { readonly requested: InterruptSignal | null };
  /** Monotonic seconds; default performance.now(). */
  clock?: () => number;
  /** Wall-clock time for started_at/finished_at; default new Date(). */
  now?: () => Date;
  /**
   * ONNX Runtime intra-op threads of this session's training (recorded in the checkpoint and
   * summary.json; a resume with another count is refused). Null when unknown (tests' fake trainings).
   */
  threads?: number | null;
}

export type LoopOutcome =
  | { status: 'finished'; summary: RunSummary }
  | { status: 'diverged'; summary: RunSummary; message: string }
  | { status: 'interrupted'; summary: RunSummary; message: string; signal: InterruptSignal };

const SSL_BENCH_VERSION = (require('../../package.json') as { version: string }).version;

const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d+Z$/, 'Z');

function measureMemory(training: Training): { bytes: number; kind: MemoryKind } {
  const device = training.deviceMemoryPeakBytes();
  if (device !== null) return { bytes: device, kind: 'device' };
  // maxRSS is in KiB and covers the whole process since it started.
  return { bytes: process.resourceUsage().maxRSS * 1024, kind: 'process-rss' };
}

function checkEvaluation(result: Record<string, number>, epoch: number): Record<string, number> {
  for (const [name, value] of Object.entries(result)) {
    if (!METRIC_NAME.test(name)) throw new Error(`Training.evaluate() at epoch ${epoch} returned metric name "${name}"; names must match ${METRIC_NAME.source}`);
    if (!(Number.isFinite(value) && value >= 0 && value <= 1)) throw new Error(`Training.evaluate() at epoch ${epoch} returned ${name} = ${value}; accuracies must be fractions in [0, 1]`);
  }
  return { ...result };
}

function checkPostTrainingMetrics(result: Record<string, MetricValue>): Record<string, MetricValue> {
  for (const [name, metric] of Object.entries(result)) {
    if (!METRIC_NAME.test(name)) throw new Error(`Training.postTrainingEvals() returned metric name "${name}"; names must match ${METRIC_NAME.source}`);
    if (!(Number.isFinite(metric.value) && metric.value >= 0 && metric.value <= 1)) throw new Error(`Training.postTrainingEvals() returned ${name} = ${metric.value}; accuracies must be fractions in [0, 1]`);
    if (typeof metric.protocol !== 'string' || metric.protocol.length === 0) throw new Error(`Training.postTrainingEvals() returned ${name} without a protocol`);
  }
  return { ...result };
}

function sameMemoryKindPeak(state: LoopState, measured: { bytes: number; kind: MemoryKind }): void {
  // A run resumed on another kind of device reports the kind it finished on.
  if (state.memoryKind !== measured.kind || state.peakMemoryBytes === null) {
    state.memoryKind = measured.kind;
    state.peakMemoryBytes = measured.bytes;
  } else {
    state.peakMemoryBytes = Math.max(state.peakMemoryBytes, measured.bytes);
  }
}

export async function runLoop(training: Training, opts: LoopOptions): Promise<LoopOutcome> {
  const { runDir, config } = opts;
  const clock = opts.clock ?? (() => performance.now() / 1000);
  const now = opts.now ?? (() => new Date());
  const checkpointFile = path.join(runDir, CHECKPOINT_FILE);
  const where = (file: string): string => displayPath(path.join(runDir, file));

  let state: LoopState;
  if (opts.start === 'resume') {
    if (!fs.existsSync(checkpointFile)) throw new UserError(`${displayPath(checkpointFile)}: no checkpoint to resume from; run without --resume to start over`);
    const parsed = parseLoopState(await training.loadCheckpoint(checkpointFile));
    if (typeof parsed === 'string') throw new UserError(`${displayPath(checkpointFile)}: ${parsed}; rerun with --force to start over`);
    if (parsed.configHash !== opts.configHash || parsed.seed !== config.seed) {
      throw new UserError(`${displayPath(checkpointFile)}: checkpoint of config ${parsed.configHash} seed ${parsed.seed}, this run is config ${opts.configHash} seed ${config.seed}; rerun with --force to start over`);
    }
    const threads = opts.threads ?? null;
    if (parsed.threads !== null && threads !== null && parsed.threads !== threads) {
      throw new UserError(`${displayPath(checkpointFile)}: trained with ${parsed.threads} intra-op thread${parsed.threads === 1 ? '' : 's'}, this session would use ${threads}; CPU results depend on the thread count, so resume with --threads ${parsed.threads} (or --force to start over)`);
    }
    const at = training.position();
    if (at.globalStep !== parsed.next.globalStep || at.epoch !== parsed.next.epoch || at.step !== parsed.next.step) {
      throw new Error(`${checkpointFile}: training restored to global step ${at.globalStep} but the runner state says ${parsed.next.globalStep}`);
    }
    state = parsed;
  } else {
    const existing = inspectRunDir(runDir);
    if (existing.kind === 'finished' || existing.kind === 'diverged' || (existing.kind === 'unfinished' && existing.hasCheckpoint)) {
      throw new UserError(`${displayPath(runDir)}: holds a ${existing.kind === 'unfinished' ? 'checkpointed unfinished' : existing.kind} run; refusing to start over (--resume continues an unfinished run, --force moves the directory aside and starts over)`);
    }
    const memory = measureMemory(training);
    state = {
      format: LOOP_STATE_FORMAT, configHash: opts.configHash, seed: config.seed, next: training.position(), rows: [], partial: null,
      elapsedSeconds: 0, peakMemoryBytes: memory.bytes, memoryKind: memory.kind, startedAt: isoSeconds(now()), pretrainingComplete: false,
      threads: opts.threads ?? null, convLayout: null,
    };
  }

  const described = training.describe();
  // Unlike the thread count, the layout may be impossible to reproduce (another CPU's NCHWc
  // block), so a resume that changes it goes on, saying so.
  const convLayout = described.convLayout ?? null;
  if (opts.start === 'resume' && state.convLayout !== null && convLayout !== null && state.convLayout !== convLayout) {
    opts.progress.log(`${displayPath(checkpointFile)}: trained with ${state.convLayout} convolutions, this session runs ${convLayout} ones (ssl-bench run --nchwc, this CPU's NCHWc block); the results differ from an uninterrupted run at float-rounding level`);
  }
  state.convLayout = convLayout;
  const summaryContext = {
    config, configHash: opts.configHash, configFile: opts.configFile, runName: opts.runName, device: described.device, convLayout: described.convLayout,
    versions: { ssl_bench: SSL_BENCH_VERSION, onnxruntime: described.ortVersion, node: process.version },
  };
  let lastCheckpoint: Position | null = opts.start === 'resume' ? state.next : null;
  const sessionStart = clock();
  const elapsedBefore = state.elapsedSeconds;
  const refresh = (): void => {
    // Runtime is pretraining time: the clock stops when pretraining is complete.
    if (!state.pretrainingComplete) state.elapsedSeconds = elapsedBefore + (clock() - sessionStart);
    sameMemoryKindPeak(state, measureMemory(training));
  };
  // TensorBoard scalars mirror metrics.csv (same rows, rewritten with it); restored rows keep their wall times.
  const tensorboard = TensorboardScalars.open(runDir, state.rows, now);
  const writeMetrics = (): void => {
    writeFileAtomic(path.join(runDir, METRICS_FILE), metricsCsv(state.rows));
    tensorboard.write(state.rows);
  };
  const writeStatus = (status: RunStatus, post: PostTrainingResult | null = null): RunSummary => {
    const summary = buildSummary(summaryContext, state, status, status === 'running' ? null : isoSeconds(now()), post);
    writeSummary(path.join(runDir, SUMMARY_FILE), summary);
    return summary;
  };
  const saveCheckpoint = async (next: Position, partial: PartialEpoch | null): Promise<void> => {
    fs.mkdirSync(path.dirname(checkpointFile), { recursive: true });
    await training.saveCheckpoint(checkpointFile, loopStateToJson({ ...state, next, partial }));
    lastCheckpoint = next;
  };

  const { stepsPerEpoch, totalEpochs } = training;
  const totalSteps = stepsPerEpoch * totalEpochs;
  const stepCap = Math.min(config.train.max_steps ?? totalSteps, totalSteps);
  const evaluates = config.eval.knn.enabled || config.eval.online_linear;
  const postEvaluates = config.eval.linear.enabled || config.eval.finetune.enabled;
  let pos = training.position();
  let epoch: PartialEpoch = state.partial ?? emptyPartial();
  state.partial = null;

  // Rows after the checkpoint belong to work that will be redone: the file restarts from the state.
  fs.mkdirSync(runDir, { recursive: true });
  writeMetrics();
  writeStatus('running');
  if (totalEpochs > 0) opts.progress.start({ title: opts.runName, totalEpochs, stepsPerEpoch, totalSteps: stepCap, start: pos });

  const evaluateAsInitialised = async (): Promise<void> => {
    opts.progress.log(`${opts.runName}: no pretraining (train.epochs 0); evaluating the backbone as initialised`);
    const evalStart = clock();
    const evalResult = evaluates ? checkEvaluation(await training.evaluate(), 0) : {};
    const evalSeconds = clock() - evalStart;
    const row: EpochRow = {
      epoch: 0, steps: 0, loss: null, lr: null, eval: evalResult,
      epoch_seconds: evalSeconds, data_seconds: 0, eval_seconds: evalSeconds, images_per_second: 0,
    };
    state.rows.push(row);
    state.pretrainingComplete = true;
    state.elapsedSeconds = elapsedBefore + evalSeconds;
    refresh();
    await saveCheckpoint(pos, null);
    writeMetrics();
    writeStatus('running');
    opts.progress.epochEnd(row);
  };

  let lastKnnTop1: number | null = null;
  for (let i = state.rows.length - 1; i >= 0 && lastKnnTop1 === null; i--) lastKnnTop1 = state.rows[i].eval.knn_top1 ?? null;
  let sessionSteps = 0;

  try {
    if (totalEpochs === 0 && !state.pretrainingComplete) await evaluateAsInitialised();
    while (pos.globalStep < stepCap) {
      const stepEpoch = pos.epoch;
      const stepStart = clock();
      const result = await training.runStep();
      const stepWall = clock() - stepStart;
      if (!Number.isFinite(result.loss)) {
        refresh();
        writeMetrics();
        const summary = writeStatus('diverged');
        const kept = lastCheckpoint === null
          ? 'no checkpoint was written yet'
          : `the last good checkpoint (before epoch ${lastCheckpoint.epoch + 1} step ${lastCheckpoint.step + 1}) is kept in ${displayPath(checkpointFile)}`;
        const message = `diverged: loss is ${result.loss} at epoch ${stepEpoch + 1}/${totalEpochs}, step ${pos.step + 1}/${stepsPerEpoch} (global step ${pos.globalStep + 1}); ${kept}; summary in ${where(SUMMARY_FILE)}`;
        return { status: 'diverged', summary, message };
      }
      epoch.steps += 1;
      epoch.lossSum += result.loss;
      epoch.lr = result.lr;
      epoch.images += result.images;
      epoch.dataSeconds += result.dataSeconds;
      epoch.stepWallSeconds += stepWall;
      sessionSteps += 1;
      pos = training.position();
      const sessionSeconds = clock() - sessionStart;
      opts.progress.step({
        position: pos, loss: result.loss, lr: result.lr,
        imagesPerSecond: epoch.stepWallSeconds > 0 ? epoch.images / epoch.stepWallSeconds : 0,
        etaSeconds: sessionSteps > 0 ? (sessionSeconds / sessionSteps) * (stepCap - pos.globalStep) : null,
        lastKnnTop1,
      });

      const isLast = pos.globalStep >= stepCap;
      if (pos.epoch !== stepEpoch || isLast) {
        const epochNumber = stepEpoch + 1;
        let evalResult: Record<string, number> = {};
        let evalSeconds = 0;
        if (evaluates && (epochNumber % config.eval.knn.every === 0 || isLast)) {
          const evalStart = clock();
          evalResult = checkEvaluation(await training.evaluate(), epochNumber);
          evalSeconds = clock() - evalStart;
          if (evalResult.knn_top1 !== undefined) lastKnnTop1 = evalResult.knn_top1;
        }
        const row: EpochRow = {
          epoch: epochNumber, steps: epoch.steps, loss: epoch.lossSum / epoch.steps, lr: epoch.lr, eval: evalResult,
          epoch_seconds: epoch.stepWallSeconds + evalSeconds, data_seconds: epoch.dataSeconds, eval_seconds: evalSeconds,
          images_per_second: epoch.stepWallSeconds > 0 ? epoch.images / epoch.stepWallSeconds : 0,
        };
        state.rows.push(row);
        epoch = emptyPartial();
        refresh();
        // Set before the last checkpoint, so a resume from it goes straight to the post-training evaluations.
        if (isLast) state.pretrainingComplete = true;
        if (epochNumber % config.train.checkpoint_every === 0 || isLast) await saveCheckpoint(pos, null);
        writeMetrics();
        writeStatus('running');
        opts.progress.epochEnd(row);
      }

      const signal = opts.interrupts.requested;
      if (signal !== null && pos.globalStep < stepCap) {
        refresh();
        await saveCheckpoint(pos, epoch.steps > 0 ? epoch : null);
        writeMetrics();
        const summary = writeStatus('interrupted');
        const message = `interrupted by ${signal} before epoch ${pos.epoch + 1} step ${pos.step + 1} (global step ${pos.globalStep + 1}/${stepCap}); checkpoint saved in ${displayPath(checkpointFile)}; continue with --resume`;
        return { status: 'interrupted', summary, message, signal };
      }
    }

    refresh();
    // A checkpoint written before LoopState had the flag and resumed at the end reaches here unflagged.
    state.pretrainingComplete = true;
    writeMetrics();
    // Runtime is pretraining time: the export and the post-training evaluations are not counted.
    await training.exportBackbone(path.join(runDir, BACKBONE_FILE));
    let post: PostTrainingResult | null = null;
    if (postEvaluates) {
      opts.progress.log('pretraining complete; post-training evaluations (eval.linear / eval.finetune); they have no checkpoint: a first SIGINT/SIGTERM lets them finish, a second stops at once and --resume reruns them');
      const postStart = clock();
      const metrics = checkPostTrainingMetrics(await training.postTrainingEvals((line) => opts.progress.log(line)));
      // Not refreshed after them: peak memory, like runtime, is the pretraining's.
      post = { metrics, seconds: clock() - postStart };
    }
    // A run that max_steps stopped before its configured epochs is a smoke test, not a result.
    const completedStatus: RunStatus = stepCap < totalSteps ? 'smoke' : 'finished';
    return { status: 'finished', summary: writeStatus(completedStatus, post) };
  } catch (err) {
    // Best effort: leave a truthful status behind; the checkpoint still allows --resume.
    try {
      refresh();
      writeMetrics();
      writeStatus('failed');
    } catch {
      // The original error matters more than a failed status write.
    }
    throw err;
  } finally {
    opts.progress.stop();
  }
}
