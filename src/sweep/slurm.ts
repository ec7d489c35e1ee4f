import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { displayPath } from '../config';
import { writeFileAtomic } from '../util/atomic';
import type { QueuedTask } from './status';
import { EXIT_PREEMPTED } from './task-record';

/**
 * The Slurm executor: one `sbatch` job array per submission, array index = task id. The generated
 * script is kept in `<sweep>/slurm/submit-<n>.sbatch`; the submissions (job ids and their tasks)
 * in `<sweep>/slurm/submissions.json`, which is how `sweep status` finds the sweep in squeue.
 *
 * Stopping and resuming: the job asks Slurm for SIGUSR1 `signal_before` seconds before its time
 * limit (`--signal=B:USR1@<s>`, to the batch shell). The shell passes it to the worker, which
 * checkpoints after the current step and exits 75; the shell then requeues the task
 * (`scontrol requeue`, allowed by `--requeue`), and the requeued task resumes from the checkpoint.
 * A preemption or `scontrol requeue` sends SIGTERM to every process of the job: the worker
 * checkpoints on it by itself and Slurm requeues the job. Logs of every attempt append to
 * `<sweep>/logs/task-<id>.out|.err` (`--open-mode=append`).
 */

export interface SlurmOptions {
  /** CPUs per task; the plan's threads are set from it. */
  cpusPerTask: number;
  /** `--gres` value (e.g. gpu:1), or null for none. */
  gres: string | null;
  mem?: string;
  time?: string;
  partition?: string;
  account?: string;
  /** Seconds before the time limit at which the task checkpoints and requeues itself. */
  signalBefore: number;
  /** Most tasks running at once (`--array=...%N`). */
  maxParallel?: number;
  /** Extra `#SBATCH` lines, as written after `#SBATCH ` (e.g. `--qos=high`). */
  extraLines: string[];
  jobName: string;
}

export interface Submission {
  job_id: string;
  tasks: number[];
  script: string;
  submitted_at: string;
}

const SUBMISSIONS_FILE = path.join('slurm', 'submissions.json');

/** `'...'` for the shell: any byte except `'` is literal inside single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Task ids as an sbatch --array list: runs of consecutive ids become ranges (0-3,5,7-8). */
export function arraySpec(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The sbatch script of one submission. `worker` is the command that starts ssl-bench (node + entry file). */
export function slurmScript(sweepDir: string, ids: readonly number[], options: SlurmOptions, worker: readonly string[], cwd: string): string {
  const sweep = path.resolve(sweepDir);
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${options.jobName}`,
    `#SBATCH --array=${arraySpec(ids)}${options.maxParallel !== undefined ? `%${options.maxParallel}` : ''}`,
    `#SBATCH --output=${path.join(sweep, 'logs', 'task-%a.out')}`,
    `#SBATCH --error=${path.join(sweep, 'logs', 'task-%a.err')}`,
    '#SBATCH --open-mode=append',
    `#SBATCH --chdir=${cwd}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${options.cpusPerTask}`,
    ...(options.gres !== null ? [`#SBATCH --gres=${options.gres}`] : []),
    ...(options.mem !== undefined ? [`#SBATCH --mem=${options.mem}`] : []),
    ...(options.time !== undefined ? [`#SBATCH --time=${options.time}`] : []),
    ...(options.partition !== undefined ? [`#SBATCH --partition=${options.partition}`] : []),
    ...(options.account !== undefined ? [`#SBATCH --account=${options.account}`] : []),
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR1@${options.signalBefore}`,
    ...options.extraLines.map((l) => `#SBATCH ${l}`),
    '',
    `# ssl-bench sweep ${sweep}: array index = task id in plan.json.`,
    '# SIGUSR1 (time limit near): pass it to the worker, which checkpoints and exits 75; then requeue.',
    '# SIGTERM (preemption, scancel, scontrol requeue) reaches every process of the job, the worker',
    '# included, which checkpoints on it; forwarding it again would stop the worker without one.',
    'preempted=0',
    'trap \'preempted=1; kill -USR1 "$child" 2>/dev/null\' USR1',
    "trap ':' TERM",
    `${worker.map(shellQuote).join(' ')} sweep task ${shellQuote(sweep)} "$SLURM_ARRAY_TASK_ID" &`,
    'child=$!',
    'while :; do',
    '  wait "$child"; rc=$?',
    '  kill -0 "$child" 2>/dev/null && continue',
    '  [ "$rc" -gt 128 ] && { wait "$child" 2>/dev/null; r=$?; [ "$r" != 127 ] && rc=$r; }',
    '  break',
    'done',
    `if [ "$preempted" = 1 ] && [ "$rc" = ${EXIT_PREEMPTED} ]; then`,
    '  echo "ssl-bench sweep: task $SLURM_ARRAY_TASK_ID checkpointed before the time limit; requeueing job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" >&2',
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    'fi',
    'exit "$rc"',
    '',
  ];
  return lines.join('\n');
}

export function readSubmissions(sweepDir: string): Submission[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(sweepDir, SUBMISSIONS_FILE), 'utf8')) as Submission[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`${displayPath(path.join(sweepDir, SUBMISSIONS_FILE))}: unreadable (${(err as Error).message})`);
  }
}

function run(command: string, args: string[]): { ok: boolean; stdout: string; stderr: string; missing: boolean } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) return { ok: false, stdout: '', stderr: r.error.message, missing: (r.error as NodeJS.ErrnoException).code === 'ENOENT' };
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr, missing: false };
}

/** Writes the next submission's script, `<sweep>/slurm/submit-<n>.sbatch`, and returns its path. */
export function writeSlurmScript(sweepDir: string, ids: readonly number[], options: SlurmOptions, worker: readonly string[]): string {
  const script = path.join(sweepDir, 'slurm', `submit-${readSubmissions(sweepDir).length + 1}.sbatch`);
  fs.mkdirSync(path.join(sweepDir, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(sweepDir, 'tasks'), { recursive: true });
  writeFileAtomic(script, slurmScript(sweepDir, ids, options, worker, process.cwd()));
  fs.chmodSync(script, 0o755);
  return script;
}

/** Submits `ids` as one job array; returns the submission (also appended to submissions.json). */
export function submitArray(sweepDir: string, ids: readonly number[], options: SlurmOptions, worker: readonly string[], now: Date = new Date()): Submission {
  const previous = readSubmissions(sweepDir);
  const script = writeSlurmScript(sweepDir, ids, options, worker);
  const r = run('sbatch', ['--parsable', script]);
  if (r.missing) throw new UserError('sweep --executor slurm: sbatch not found on PATH; run on a Slurm login node (or use --executor local)');
  if (!r.ok) throw new UserError(`sbatch ${displayPath(script)} failed: ${(r.stderr || r.stdout).trim().split('\n').join(' ')}`);
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new UserError(`sbatch ${displayPath(script)}: unexpected output "${r.stdout.trim()}"`);
  const submission: Submission = { job_id: jobId, tasks: [...ids], script, submitted_at: now.toISOString() };
  writeFileAtomic(path.join(sweepDir, SUBMISSIONS_FILE), `${JSON.stringify([...previous, submission], null, 2)}\n`);
  return submission;
}

/** squeue's lines `<array job id>|<array task id>|<state>|<reason>` for our jobs, by task id. */
export function parseQueue(text: string, jobIds: ReadonlySet<string>): Map<number, QueuedTask> {
  const queue = new Map<number, QueuedTask>();
  for (const line of text.split('\n')) {
    const [job, task, state, reason] = line.trim().split('|');
    if (!jobIds.has(job) || task === undefined || !/^\d+$/.test(task)) continue;
    queue.set(Number(task), { job: `${job}_${task}`, state, reason: reason ?? '' });
  }
  return queue;
}

/**
 * The sweep's tasks in the Slurm queue, or null when there is no queue to ask (no squeue, or the
 * sweep never went to Slurm). A task finished long ago is simply absent.
 */
export function queryQueue(sweepDir: string): Map<number, QueuedTask> | null {
  const submissions = readSubmissions(sweepDir);
  if (submissions.length === 0) return null;
  // -r: one line per array task, pending ones included.
  const r = run('squeue', ['--noheader', '--array', '--me', '--format=%F|%K|%T|%r']);
  if (r.missing || !r.ok) return null;
  return parseQueue(r.stdout, new Set(submissions.map((s) => s.job_id)));
}
