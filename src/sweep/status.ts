import * as fs from 'node:fs';
import { UserError } from '../errors';
import { displayPath } from '../config';
import { inspectRunDir, type RunDirState } from '../runner/run-dir';
import { describeHolder, inspectClaim } from './claim';
import type { SweepPlan, SweepTask } from './plan';
import { readTaskRecord, taskLogs } from './task-record';

/**
 * Where each task of a sweep stands, from what is on disk (run directory, claim, the last worker's
 * record) and, for Slurm sweeps, the queue. The run directory decides finished and diverged; a live
 * claim decides running; the queue tells pending from not submitted; the record explains failures
 * and preemptions and points at the logs.
 */

export const TASK_STATES = ['pending', 'running', 'finished', 'failed', 'diverged', 'preempted'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** A task's entry in the Slurm queue (squeue), when the sweep was submitted there. */
export interface QueuedTask {
  job: string;
  /** squeue's state: PENDING, RUNNING, REQUEUED, COMPLETING, ... */
  state: string;
  reason: string;
}

export interface TaskStatus {
  id: number;
  title: string;
  run_dir: string;
  state: TaskState;
  detail: string;
  /** Per-task logs of every attempt, when a worker has written them. */
  logs: { stdout: string; stderr: string } | null;
  attempt: number;
  slurm: QueuedTask | null;
}

const QUEUED_RUNNING = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);

function finishedDetail(summaryFile: string): string {
  try {
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { status?: string; metrics?: Record<string, { value: number }> };
    const knn = summary.metrics?.knn_top1?.value;
    return `${summary.status === 'smoke' ? 'smoke run (train.max_steps), ' : ''}${knn !== undefined ? `knn_top1 ${knn.toFixed(4)}, ` : ''}${displayPath(summaryFile)}`;
  } catch {
    return displayPath(summaryFile);
  }
}

export function taskStatus(sweepDir: string, plan: SweepPlan, task: SweepTask, queued: QueuedTask | null): TaskStatus {
  const logFiles = taskLogs(sweepDir, task.id);
  const logs = fs.existsSync(logFiles.stdout) || fs.existsSync(logFiles.stderr) ? logFiles : null;
  const record = readTaskRecord(sweepDir, task.id);
  const base = { id: task.id, title: task.title, run_dir: displayPath(task.seedDir), logs, attempt: record?.attempt ?? 0, slurm: queued };
  const logHint = logs ? `; log: ${displayPath(logs.stderr)}` : '';
  let dir: RunDirState;
  try {
    dir = inspectRunDir(task.seedDir);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { ...base, state: 'failed', detail: err.message };
  }
  if (dir.kind === 'finished') return { ...base, state: 'finished', detail: finishedDetail(dir.summaryFile) };
  if (dir.kind === 'diverged') return { ...base, state: 'diverged', detail: `NaN/Inf loss, ${displayPath(dir.summaryFile)}${logHint}` };

  const claim = inspectClaim(task.seedDir, plan.stale_after_s * 1000);
  if (claim.kind === 'live') return { ...base, state: 'running', detail: `${describeHolder(claim.info)}${logs ? `; log: ${displayPath(logs.stdout)}` : ''}` };
  if (queued !== null && QUEUED_RUNNING.has(queued.state)) return { ...base, state: 'running', detail: `Slurm job ${queued.job} ${queued.state.toLowerCase()} (starting)` };
  const inQueue = queued !== null ? `queued in Slurm job ${queued.job} (${queued.state.toLowerCase()}${queued.reason && queued.reason !== 'None' ? `: ${queued.reason}` : ''})` : null;

  if (record?.state === 'preempted') return { ...base, state: 'preempted', detail: `${record.message}; ${inQueue ?? 'not queued: `ssl-bench sweep resume` continues it'}` };
  if (inQueue !== null) return { ...base, state: 'pending', detail: inQueue };
  if (record?.state === 'failed') return { ...base, state: 'failed', detail: `${record.message}${logHint}` };
  if (record?.state === 'running') {
    const why = claim.kind === 'stale' ? claim.reason : 'its claim is gone';
    return { ...base, state: 'failed', detail: `the worker died (${record.worker} on ${record.host}: ${why})${logHint}` };
  }
  if (dir.kind === 'unfinished' && dir.hasCheckpoint) return { ...base, state: 'preempted', detail: 'unfinished run with a checkpoint; the next worker resumes it' };
  return { ...base, state: 'pending', detail: dir.kind === 'unfinished' ? 'unfinished run without a checkpoint; the next worker starts it again' : 'not started' };
}

export interface SweepStatus {
  sweep_dir: string;
  tasks: TaskStatus[];
  counts: Record<TaskState, number>;
  /** Every task finished or diverged: nothing left to run. */
  complete: boolean;
}

export function sweepStatus(sweepDir: string, plan: SweepPlan, queue: Map<number, QueuedTask> | null): SweepStatus {
  const tasks = plan.tasks.map((t) => taskStatus(sweepDir, plan, t, queue?.get(t.id) ?? null));
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const t of tasks) counts[t.state] += 1;
  return { sweep_dir: displayPath(sweepDir), tasks, counts, complete: tasks.every((t) => t.state === 'finished' || t.state === 'diverged') };
}

/** Tasks a (re)submission runs: everything not finished, not diverged (a rerun diverges again), not running or queued. */
export function tasksToRun(status: SweepStatus): TaskStatus[] {
  return status.tasks.filter((t) => (t.state === 'pending' || t.state === 'failed' || t.state === 'preempted') && t.slurm === null);
}

export function formatStatus(status: SweepStatus): string {
  const width = Math.max(...status.tasks.map((t) => t.title.length));
  const lines = status.tasks.map((t) => `${String(t.id).padStart(3)}  ${t.title.padEnd(width)}  ${t.state.padEnd(9)}  ${t.detail}`);
  const counts = TASK_STATES.filter((s) => status.counts[s] > 0).map((s) => `${status.counts[s]} ${s}`).join(', ');
  return `${lines.join('\n')}\n${status.sweep_dir}: ${status.tasks.length} task${status.tasks.length === 1 ? '' : 's'}: ${counts}\n`;
}
