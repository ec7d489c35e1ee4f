import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayPath } from '../config';
import type { SweepPlan } from './plan';
import { readTaskRecord, taskLogs } from './task-record';

/**
 * The local executor: up to `parallel` workers side by side on this machine, each a child process
 * running `ssl-bench sweep task <sweep dir> <id>` (the same worker a Slurm array task runs) with
 * stdout/stderr appended to the task's log files. Children get their own process group, so a
 * Ctrl-C reaches only this process, which passes one SIGTERM to each worker (each checkpoints after
 * its current step) and launches nothing more.
 */

export interface LocalOptions {
  parallel: number;
  /** The command that starts ssl-bench: node and its entry file. */
  worker: readonly string[];
  log: (line: string) => void;
}

export interface LocalOutcome {
  /** Tasks whose worker was started, and how each ended. */
  ran: { id: number; exitCode: number | null; signal: NodeJS.Signals | null }[];
  interrupted: boolean;
}

export async function runLocal(sweepDir: string, plan: SweepPlan, ids: readonly number[], options: LocalOptions): Promise<LocalOutcome> {
  const queue = [...ids];
  const running = new Map<number, ChildProcess>();
  const ran: LocalOutcome['ran'] = [];
  let interrupted = false;
  const total = ids.length;
  let started = 0;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    options.log(`${signal}: stopping ${running.size} running task${running.size === 1 ? '' : 's'} (each checkpoints after its current step); nothing new starts`);
    for (const child of running.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await new Promise<void>((resolve) => {
      const launch = (): void => {
        while (!interrupted && running.size < options.parallel && queue.length > 0) {
          const id = queue.shift()!;
          const task = plan.tasks[id];
          const logs = taskLogs(sweepDir, id);
          fs.mkdirSync(path.dirname(logs.stdout), { recursive: true });
          const out = fs.openSync(logs.stdout, 'a');
          const err = fs.openSync(logs.stderr, 'a');
          const child = spawn(options.worker[0], [...options.worker.slice(1), 'sweep', 'task', sweepDir, String(id)], { stdio: ['ignore', out, err], detached: true });
          fs.closeSync(out);
          fs.closeSync(err);
          started += 1;
          running.set(id, child);
          options.log(`[${started}/${total}] task ${id} ${task.title}: started (log ${displayPath(logs.stdout)})`);
          child.on('close', (exitCode, signal) => {
            running.delete(id);
            ran.push({ id, exitCode, signal });
            const record = readTaskRecord(sweepDir, id);
            const what = record !== null && record.state !== 'running' ? `${record.state}: ${record.message}` : exitCode === 0 ? 'done' : `worker ended with ${signal ?? `exit code ${exitCode}`}`;
            const failed = exitCode !== 0 && !(record?.state === 'preempted');
            options.log(`task ${id} ${task.title}: ${what}${failed ? `; log: ${displayPath(logs.stderr)}` : ''}`);
            launch();
          });
          child.on('error', (error) => options.log(`task ${id} ${task.title}: cannot start ${options.worker[0]}: ${error.message}`));
        }
        if (running.size === 0 && (queue.length === 0 || interrupted)) resolve();
      };
      launch();
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return { ran, interrupted };
}
