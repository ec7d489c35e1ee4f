import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLAIM_FILE, processStartTime } from '../../src/sweep/claim';
import type { SweepPlan } from '../../src/sweep/plan';
import { formatStatus, sweepStatus, tasksToRun, type QueuedTask } from '../../src/sweep/status';
import { writeTaskRecord, type TaskRecord } from '../../src/sweep/task-record';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-sweep-status-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

const record = (id: number, state: TaskRecord['state'], message: string, extra: Partial<TaskRecord> = {}): TaskRecord => ({
  id, state, message, worker: 'local', host: os.hostname(), pid: 1, attempt: 1, started_at: '2026-01-01T00:00:00Z', ended_at: null, exit_code: null, ...extra,
});

test('each task state from run directory, claim, record and queue', () => {
  const sweep = path.join(tmp, 'sweep');
  const names = ['finished', 'diverged', 'live', 'failed', 'preempted-queued', 'died', 'checkpointed', 'untouched', 'queued-running', 'queued-pending'];
  const plan: SweepPlan = {
    format: 'ssl-bench-sweep/1', created_at: '2026-01-01T00:00:00Z', threads: 1, stale_after_s: 600,
    tasks: names.map((name, id) => ({ id, title: name, configFile: 'c.yaml', runDir: path.join(tmp, name), seed: 0, seedDir: path.join(tmp, name), configHash: 'h' })),
  };
  for (const name of names) fs.mkdirSync(path.join(tmp, name), { recursive: true });
  const write = (name: string, file: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(tmp, name, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp, name, file), text);
  };
  write('finished', 'summary.json', JSON.stringify({ status: 'finished', metrics: { knn_top1: { value: 0.4567 } } }));
  write('diverged', 'summary.json', JSON.stringify({ status: 'diverged', metrics: {} }));
  const claim = (pid: number): string => JSON.stringify({ token: 't', host: os.hostname(), pid, pid_start: pid === process.pid ? processStartTime(pid) : null, started_at: '2026-01-01T00:00:00Z', worker: 'local' });
  write('live', CLAIM_FILE, claim(process.pid));
  writeTaskRecord(sweep, record(3, 'failed', 'data.root: not found'));
  fs.mkdirSync(path.join(sweep, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(sweep, 'logs', 'task-3.err'), 'error: data.root: not found\n');
  writeTaskRecord(sweep, record(4, 'preempted', 'SIGUSR1: interrupted by SIGTERM before epoch 2', { attempt: 1 }));
  write('preempted-queued', 'checkpoint/last.ckpt', 'x');
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  writeTaskRecord(sweep, record(5, 'running', 'running', { worker: 'slurm job 7_5', pid: dead }));
  write('died', CLAIM_FILE, claim(dead));
  write('checkpointed', 'checkpoint/last.ckpt', 'x');
  const queue = new Map<number, QueuedTask>([
    [4, { job: '7_4', state: 'PENDING', reason: 'BeginTime' }],
    [8, { job: '7_8', state: 'RUNNING', reason: 'None' }],
    [9, { job: '7_9', state: 'PENDING', reason: 'Resources' }],
  ]);

  const status = sweepStatus(sweep, plan, queue);
  const byName = Object.fromEntries(status.tasks.map((t) => [t.title, t]));
  expect(Object.fromEntries(status.tasks.map((t) => [t.title, t.state]))).toEqual({
    finished: 'finished', diverged: 'diverged', live: 'running', failed: 'failed', 'preempted-queued': 'preempted', died: 'failed',
    checkpointed: 'preempted', untouched: 'pending', 'queued-running': 'running', 'queued-pending': 'pending',
  });
  expect(byName.finished.detail).toMatch(/^knn_top1 0\.4567, .*summary\.json$/);
  expect(byName.failed.detail).toMatch(/^data\.root: not found; log: .*logs\/task-3\.err$/);
  expect(byName.failed.logs?.stderr).toBe(path.join(sweep, 'logs', 'task-3.err'));
  expect(byName['preempted-queued'].detail).toMatch(/queued in Slurm job 7_4 \(pending: BeginTime\)/);
  expect(byName.died.detail).toMatch(new RegExp(`the worker died \\(slurm job 7_5 on ${os.hostname()}: process ${dead} on .* is gone\\)`));
  expect(byName.untouched.detail).toBe('not started');
  expect(status.counts).toEqual({ pending: 2, running: 2, finished: 1, failed: 2, diverged: 1, preempted: 2 });
  expect(status.complete).toBe(false);
  // What a resubmission runs: failed, preempted and pending tasks that are not queued already.
  expect(tasksToRun(status).map((t) => t.title)).toEqual(['failed', 'died', 'checkpointed', 'untouched']);
  expect(formatStatus(status).split('\n').at(-2)).toMatch(/10 tasks: 2 pending, 2 running, 1 finished, 2 failed, 1 diverged, 2 preempted$/);
});
