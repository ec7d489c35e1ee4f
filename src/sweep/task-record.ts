import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';

/**
 * What the last worker of a task said about it: `<sweep>/tasks/task-<id>.json`, written by the
 * worker when it starts and when it ends (atomically), and the per-task logs every attempt appends
 * to: `<sweep>/logs/task-<id>.out` and `.err`. A worker killed with SIGKILL leaves "running"
 * behind; `sweep status` then finds its claim stale and reports the task failed.
 */

export type TaskRecordState = 'running' | 'finished' | 'diverged' | 'failed' | 'preempted';

export interface TaskRecord {
  id: number;
  state: TaskRecordState;
  /** One line: what happened (the error for a failure, the checkpoint for a preemption). */
  message: string;
  worker: string;
  host: string;
  pid: number;
  /** 1 for the first worker that ran the task, +1 for each later one. */
  attempt: number;
  started_at: string;
  ended_at: string | null;
  exit_code: number | null;
}

/** Exit code of a worker that checkpointed on a stop request (BSD's EX_TEMPFAIL: try again later). */
export const EXIT_PREEMPTED = 75;

export const taskRecordFile = (sweepDir: string, id: number): string => path.join(sweepDir, 'tasks', `task-${id}.json`);

export function taskLogs(sweepDir: string, id: number): { stdout: string; stderr: string } {
  return { stdout: path.join(sweepDir, 'logs', `task-${id}.out`), stderr: path.join(sweepDir, 'logs', `task-${id}.err`) };
}

export function readTaskRecord(sweepDir: string, id: number): TaskRecord | null {
  try {
    return JSON.parse(fs.readFileSync(taskRecordFile(sweepDir, id), 'utf8')) as TaskRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Records are replaced atomically; an unreadable one is damaged, and says nothing.
    return null;
  }
}

export function writeTaskRecord(sweepDir: string, record: TaskRecord): void {
  writeFileAtomic(taskRecordFile(sweepDir, record.id), `${JSON.stringify(record, null, 2)}\n`);
}
