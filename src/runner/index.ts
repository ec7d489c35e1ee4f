import * as path from 'node:path';
import { UserError } from '../errors';
import { configHash, displayPath, resolvedConfigYaml } from '../config';
import type { ResolvedConfig } from '../config';
import { writeFileAtomic } from '../util/atomic';
import { InterruptFlag } from './interrupt';
import { runLoop, type LoopOutcome } from './loop';
import { createProgress, type ProgressReporter } from './progress';
import { CONFIG_FILE, holdsResults, inspectRunDir, moveAside, seedRuns, type RunDirState } from './run-dir';
import { createTraining as createPretraining } from './create-training';
import type { TrainingFactory } from './training';
import { defaultThreadCount } from '../engine/session';
import { claimRun, describeHolder, HEARTBEAT_MS, inspectClaim, type Claim } from '../sweep/claim';

export type { Training, TrainingFactory, StepResult, Position, JsonValue } from './training';
export { runLoop } from './loop';
export type { LoopOptions, LoopOutcome } from './loop';

export interface RunOptions {
  /** Continue the run directory's unfinished runs from their last checkpoints. */
  resume: boolean;
  /** Move an existing run directory aside (`<dir>.replaced-<time>`) and start over. */
  force: boolean;
  /** Config file the run was started from (recorded in summary.json); default: the resolved copy. */
  configFile?: string;
  /** Builds each run's training; default: the engine's builder. */
  createTraining?: TrainingFactory;
  /** Lifecycle messages (run started, resumed, skipped, finished); default: stdout. */
  log?: (line: string) => void;
  /** Progress display; default: bars on a terminal stderr, plain lines otherwise. */
  progress?: ProgressReporter;
  /** Monotonic seconds for runtime measurement; default performance.now(). */
  clock?: () => number;
  /** Intra-op threads per ORT session (default: every core); two runs side by side use 1 each. */
  threads?: number;
  /** Run only these seeds of n_runs (a sweep task runs one); default: all of them. */
  seeds?: readonly number[];
  /**
   * The caller already holds the claim (sweep/claim.ts) of every seed directory it runs (a sweep
   * worker); otherwise runExperiment claims each directory it trains in before the first step.
   */
  claimed?: boolean;
}

/** Exit codes of a run stopped by a signal after saving its checkpoint. */
export const INTERRUPTED_EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

type Plan = { seed: number; dir: string; start: 'fresh' | 'resume' } | { seed: number; dir: string; skip: string; failed: boolean };

function plan(state: RunDirState, seed: number, dir: string, options: RunOptions): Plan {
  switch (state.kind) {
    case 'empty':
      return { seed, dir, start: 'fresh' };
    case 'finished':
      return { seed, dir, skip: `already finished, results in ${displayPath(state.summaryFile)} (use --force to rerun)`, failed: false };
    case 'diverged':
      return { seed, dir, skip: `diverged earlier, see ${displayPath(state.summaryFile)} (use --force to rerun)`, failed: true };
    case 'unfinished':
      if (!options.resume) {
        const what = state.interrupted ? 'an interrupted run (SIGINT/SIGTERM) with a checkpoint' : `an unfinished run${state.hasCheckpoint ? ' with a checkpoint' : ''}`;
        throw new UserError(`${displayPath(dir)}: holds ${what}; --resume continues it, --force moves the directory aside and starts over`);
      }
      return { seed, dir, start: state.hasCheckpoint ? 'resume' : 'fresh' };
  }
}

/**
 * Trains and evaluates one resolved config inside `runDir` (which holds config.resolved.yaml):
 * n_runs runs with seeds seed, seed + 1, ... (subdirectories seed<S> when n_runs > 1).
 * Finished and diverged runs are reported, never overwritten; unfinished ones need --resume;
 * --force first moves the whole directory aside. Every directory is checked before any training
 * starts. A diverged run does not stop the other seeds; an interrupt stops everything.
 * A divergence ends as UserError with exit code 1, an interrupt with 130 (SIGINT) or 143 (SIGTERM).
 */
export async function runExperiment(config: ResolvedConfig, runDir: string, options: RunOptions): Promise<void> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Every seed of n_runs trains on the same data subset: the one the base seed picks.
  // CPU results depend on the intra-op thread count (engine/session.ts defaultThreadCount): the
  // count is fixed here, recorded with the run and checked on resume.
  const threads = options.threads ?? defaultThreadCount();
  const createTraining = options.createTraining ?? ((c: ResolvedConfig, dir: string) => createPretraining(c, dir, { dataSeed: config.seed, threads }));
  const hash = configHash(config);
  const runs = seedRuns(runDir, config).filter((r) => options.seeds === undefined || options.seeds.includes(r.seed));
  if (!options.claimed) {
    for (const { dir } of runs) {
      const state = inspectClaim(dir);
      if (state.kind === 'live') throw new UserError(`${displayPath(dir)}: is being run by ${describeHolder(state.info)}; wait for it to finish (or stop it) and run again`);
    }
  }
  if (options.force && holdsResults(runDir)) {
    const aside = moveAside(runDir, new Date());
    log(`--force: previous results moved to ${displayPath(aside)}`);
    writeFileAtomic(path.join(runDir, CONFIG_FILE), resolvedConfigYaml(config));
  }
  const plans = runs.map(({ seed, dir }) => plan(inspectRunDir(dir), seed, dir, options));
  const claims = options.claimed ? [] : claimRunDirs(plans.filter((p) => !('skip' in p)).map((p) => p.dir));
  const heartbeat = setInterval(() => {
    for (const claim of claims) {
      if (claim.heartbeat()) continue;
      // A worker on another host judged this claim stale and took the run over; writing on would corrupt its result.
      process.stderr.write(`error: lost the claim on ${displayPath(claim.dir)} (another worker took it over); stopping without writing\n`);
      process.exit(1);
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    await runPlans(config, runDir, plans, hash, threads, createTraining, log, options);
  } finally {
    clearInterval(heartbeat);
    for (const claim of claims) claim.release();
  }
}

/**
 * Claims every directory before the first step, so a second `ssl-bench run` of the same config, or
 * a sweep worker on it, is refused at once instead of interleaving writes with this run.
 */
function claimRunDirs(dirs: readonly string[]): Claim[] {
  const claims: Claim[] = [];
  for (const dir of dirs) {
    const claimed = claimRun(dir, { worker: 'ssl-bench run' });
    if ('busy' in claimed) {
      for (const claim of claims) claim.release();
      throw new UserError(`${displayPath(dir)}: is being run by ${describeHolder(claimed.busy)}; wait for it to finish (or stop it) and run again`);
    }
    claims.push(claimed.claim);
  }
  return claims;
}

async function runPlans(
  config: ResolvedConfig, runDir: string, plans: readonly Plan[], hash: string, threads: number,
  createTraining: TrainingFactory, log: (line: string) => void, options: RunOptions,
): Promise<void> {
  const failures: string[] = [];
  for (const p of plans) {
    const title = config.n_runs === 1 ? path.basename(runDir) : `${path.basename(runDir)}/seed${p.seed}`;
    if ('skip' in p) {
      log(`${title}: ${p.skip}`);
      if (p.failed) failures.push(`${title} diverged`);
      continue;
    }
    const training = await createTraining({ ...config, seed: p.seed }, p.dir);
    if (p.start === 'resume') log(`${title}: resuming from ${displayPath(path.join(p.dir, 'checkpoint', 'last.ckpt'))}`);
    const progress = options.progress ?? createProgress(process.stderr);
    const interrupts = new InterruptFlag((line) => progress.log(line)).install();
    let outcome: LoopOutcome;
    try {
      outcome = await runLoop(training, {
        runDir: p.dir, config: { ...config, seed: p.seed }, configHash: hash, configFile: options.configFile ?? path.join(runDir, CONFIG_FILE),
        runName: title, start: p.start, progress, interrupts, clock: options.clock, threads,
      });
    } finally {
      interrupts.dispose();
      await training.close?.();
    }
    // 128 + signal number, as a shell reports a process the signal ended (and as npx reports it).
    if (outcome.status === 'interrupted') throw new UserError(`${title}: ${outcome.message}`, INTERRUPTED_EXIT_CODE[outcome.signal]);
    if (outcome.status === 'diverged') {
      log(`${title}: ${outcome.message}`);
      failures.push(`${title} diverged`);
      continue;
    }
    const headline = ['knn_top1', 'linear_top1', 'finetune_top1']
      .filter((name) => outcome.summary.metrics[name] !== undefined)
      .map((name) => `, ${name} ${outcome.summary.metrics[name].value.toFixed(4)}`).join('');
    log(`${title}: finished${headline}${headline ? ' (max over epochs)' : ''}, results in ${displayPath(path.join(p.dir, 'summary.json'))}`);
  }
  if (failures.length > 0) throw new UserError(`run: ${failures.join(', ')} (NaN/Inf loss); see the summaries above`, 1);
}
