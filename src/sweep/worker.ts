import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors';
import { displayPath } from '../config';
import { runExperiment } from '../runner';
import { inspectRunDir } from '../runner/run-dir';
import { claimRun, describeHolder, HEARTBEAT_MS, type Claim } from './claim';
import { loadTaskConfig, readPlan } from './plan';
import { EXIT_PREEMPTED, readTaskRecord, taskLogs, writeTaskRecord, type TaskRecord, type TaskRecordState } from './task-record';
import { setConvLayoutPreference } from '../engine/conv-layout';

/**
 * One task of a sweep, in its own process: what a Slurm array task and each local executor slot
 * run (`ssl-bench sweep task <sweep dir> <id>`). It claims the task's run directory, continues the
 * run from its checkpoint if there is one (the runner's --resume), records the outcome in
 * tasks/task-<id>.json and exits 0 (finished, or nothing to do), 1 (failed or diverged) or 75
 * (stopped with a checkpoint; run it again to continue).
 *
 * Stop requests: SIGINT/SIGTERM go to the runner as for `ssl-bench run` (checkpoint after the
 * current step). SIGUSR1 is what the generated Slurm script forwards when Slurm warns of the time
 * limit (`--signal=B:USR1@<s>`); it is handed to the runner as a SIGTERM, and the script then
 * requeues the task, which resumes from that checkpoint.
 */

export interface WorkerResult {
  exitCode: number;
  state: TaskRecordState | 'busy' | 'done';
  message: string;
}

function slurmWorker(env: NodeJS.ProcessEnv): string | null {
  const job = env.SLURM_ARRAY_JOB_ID !== undefined ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
  if (job === undefined) return null;
  const restart = Number(env.SLURM_RESTART_COUNT ?? '0');
  return `slurm job ${job}${restart > 0 ? ` (restart ${restart})` : ''}`;
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export async function runSweepTask(sweepDir: string, id: number, env: NodeJS.ProcessEnv = process.env): Promise<WorkerResult> {
  const plan = readPlan(sweepDir);
  const task = plan.tasks.find((t) => t.id === id);
  if (task === undefined) throw new UserError(`sweep task ${id}: no such task in ${displayPath(path.join(sweepDir, 'plan.json'))} (tasks 0..${plan.tasks.length - 1})`);
  const worker = slurmWorker(env) ?? 'local';
  const logs = taskLogs(sweepDir, id);
  const say = (line: string): void => { process.stdout.write(`${line}\n`); };
  const header = `=== ssl-bench sweep task ${id} (${task.title}): ${worker} on ${os.hostname()}, pid ${process.pid}, ${isoSeconds(new Date())} ===`;
  say(header);
  process.stderr.write(`${header}\n`);

  const before = inspectRunDir(task.seedDir);
  if (before.kind === 'finished') return { exitCode: 0, state: 'done', message: `already finished, results in ${displayPath(before.summaryFile)}` };

  const claimed = claimRun(task.seedDir, { worker, staleAfterMs: plan.stale_after_s * 1000 });
  if ('busy' in claimed) {
    const message = `${displayPath(task.seedDir)} is being run by ${describeHolder(claimed.busy)}; nothing to do here`;
    say(message);
    return { exitCode: 0, state: 'busy', message };
  }
  const claim: Claim = claimed.claim;
  if (claimed.tookOver !== null) say(`took over the stale claim of ${describeHolder(claimed.tookOver)}: ${claimed.reason}`);

  const previous = readTaskRecord(sweepDir, id);
  const record: TaskRecord = {
    id, state: 'running', message: `running (logs: ${displayPath(logs.stdout)}, ${displayPath(logs.stderr)})`, worker, host: os.hostname(), pid: process.pid,
    attempt: (previous?.attempt ?? 0) + 1, started_at: isoSeconds(new Date()), ended_at: null, exit_code: null,
  };
  const finish = (state: TaskRecordState, message: string, exitCode: number): WorkerResult => {
    writeTaskRecord(sweepDir, { ...record, state, message, ended_at: isoSeconds(new Date()), exit_code: exitCode });
    claim.release();
    return { exitCode, state, message };
  };

  let usr1 = false;
  const onUsr1 = (): void => {
    usr1 = true;
    say('SIGUSR1 (Slurm: time limit near or preemption): stopping after the current step with a checkpoint');
    // The runner's interrupt handler listens for SIGTERM while it trains; outside training there is nothing unsaved.
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
    else {
      finish('preempted', 'stopped by SIGUSR1 outside training; run it again to continue', EXIT_PREEMPTED);
      process.exit(EXIT_PREEMPTED);
    }
  };
  process.on('SIGUSR1', onUsr1);
  const heartbeat = setInterval(() => {
    if (claim.heartbeat()) return;
    // Another worker judged this claim stale and took the run over; writing on would corrupt its result.
    process.stderr.write(`error: lost the claim on ${displayPath(task.seedDir)} (another worker took it over); stopping without writing\n`);
    process.exit(1);
  }, HEARTBEAT_MS);
  heartbeat.unref();

  writeTaskRecord(sweepDir, record);
  try {
    const config = loadTaskConfig(task);
    setConvLayoutPreference(plan.nchwc ?? 'auto');
    await runExperiment(config, task.runDir, { resume: true, force: false, configFile: task.configFile, threads: plan.threads, seeds: [task.seed], claimed: true });
    const after = inspectRunDir(task.seedDir);
    if (after.kind === 'finished') return finish('finished', `finished, results in ${displayPath(after.summaryFile)}`, 0);
    return finish('failed', `the run ended without a final summary in ${displayPath(task.seedDir)}`, 1);
  } catch (err) {
    const after = inspectRunDir(task.seedDir);
    if (after.kind === 'diverged') return finish('diverged', `diverged (NaN/Inf loss), see ${displayPath(after.summaryFile)}`, 1);
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    // The runner ends an interrupted run with a UserError (exit 1, or 130/143 = 128 + the signal).
    if (err instanceof UserError && [1, 130, 143].includes(err.exitCode) && /interrupted by SIG/.test(message) && after.kind === 'unfinished' && after.hasCheckpoint) {
      return finish('preempted', `${usr1 ? 'SIGUSR1' : 'stop signal'}: ${message}`, EXIT_PREEMPTED);
    }
    if (!(err instanceof UserError)) process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    process.stderr.write(`error: ${message}\n`);
    return finish('failed', message, 1);
  } finally {
    clearInterval(heartbeat);
    process.removeListener('SIGUSR1', onUsr1);
  }
}
