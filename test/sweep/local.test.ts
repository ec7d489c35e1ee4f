/**
 * `ssl-bench sweep --executor local` for real (tiny SimCLR runs, child processes): two tasks side
 * by side; Ctrl-C mid-run checkpoints both; two executors resuming the same sweep at once never run
 * a task twice, and the interrupted run ends with the metrics of an uninterrupted one; a sweep
 * with everything finished runs nothing; the tables and plot are written on completion.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, CONFIG, metricsColumns, readSummary, waitUntil } from '../e2e/support/harness';
import { cliChild } from './support/cli-child';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-sweep-local-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

const deterministic = (dir: string): string[][] => metricsColumns(dir, ['epoch', 'steps', 'loss', 'lr', 'knn_top1', 'knn_top5']);
const count = (text: string, re: RegExp): number => (text.match(new RegExp(re.source, 'g')) ?? []).length;
const read = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

test('parallel tasks, Ctrl-C, two executors resuming at once, nothing rerun, tables on completion', async () => {
  const long = path.join(tmp, 'long.yaml');
  fs.writeFileSync(long, `extends: ${CONFIG}\nname: long\ntrain: { epochs: 6 }\n`);
  const short = path.join(tmp, 'short.yaml');
  fs.writeFileSync(short, `extends: ${CONFIG}\nname: short\ntrain: { epochs: 2 }\nmethod: { label: SimCLR-short }\n`);
  const reference = await cli('run', long, '--output', path.join(tmp, 'reference'), '--threads', '1');
  if (reference.code !== 0) throw new Error(`reference run failed:\n${reference.stdout}\n${reference.stderr}`);

  const sweepDir = path.join(tmp, 'sweep');
  const args = ['--sweep-dir', sweepDir, '--output', path.join(tmp, 'results'), '--parallel', '2', '--threads', '1'];
  const first = cliChild(['sweep', long, short, ...args]);
  await waitUntil('the plan', () => fs.existsSync(path.join(sweepDir, 'plan.json')), 60_000);
  const plan = JSON.parse(fs.readFileSync(path.join(sweepDir, 'plan.json'), 'utf8'));
  const [longDir, shortDir] = plan.tasks.map((t: { seedDir: string }) => t.seedDir);
  await waitUntil('epoch 1 of the long run', () => read(path.join(longDir, 'metrics.csv')).trim().split('\n').length >= 2, 60_000);
  first.proc.kill('SIGINT');
  const interrupted = await first.done;
  expect(interrupted.code).toBe(1);
  expect(interrupted.output).toMatch(/SIGINT: stopping 2 running tasks/);
  expect(interrupted.output).toMatch(/task 0 long-\w+: preempted: stop signal: .*interrupted by SIGTERM/);
  expect(interrupted.output).toMatch(/sweep interrupted; `ssl-bench sweep resume .*` continues it/);
  const status = JSON.parse((await cli('sweep', 'status', sweepDir, '--json')).stdout);
  expect(status.tasks[0].state).toBe('preempted');

  // Two executors on the same sweep: each task is run by one worker; the other finds it claimed (or finished).
  const [a, b] = await Promise.all([cliChild(['sweep', 'resume', sweepDir, '--parallel', '2']).done, cliChild(['sweep', 'resume', sweepDir, '--parallel', '2']).done]);
  const longLog = read(path.join(sweepDir, 'logs', 'task-0.out'));
  expect(count(longLog, /resuming from .*last\.ckpt/)).toBe(1);
  // An executor that read the plan after the other's worker had claimed task 0 does not start it;
  // every other extra worker ends with "busy" (claimed by the other) or "done" (already finished).
  const starters = [a, b].filter((x) => /\] task 0 long-\w+: started/.test(x.output)).length;
  expect(starters).toBeGreaterThanOrEqual(1);
  expect(count(longLog, /task 0: (busy: .* is being run by local on|done: already finished)/)).toBe(starters - 1);
  expect(count(longLog, /task 0: finished: /)).toBe(1);
  expect([a.code, b.code]).toContain(0);
  expect(readSummary(longDir).status).toBe('finished');
  expect(readSummary(shortDir).status).toBe('finished');
  expect(deterministic(longDir)).toEqual(deterministic(path.join(tmp, 'reference', path.basename(longDir))));
  for (const f of ['table.rst', 'table.md', 'table.csv', 'knn_top1.svg', 'knn_top1.png']) expect(fs.existsSync(path.join(sweepDir, f))).toBe(true);
  expect(read(path.join(sweepDir, 'table.md'))).toMatch(/SimCLR-short/);

  // Everything finished: the same sweep command starts no worker and rewrites nothing.
  const logs = [0, 1].map((id) => read(path.join(sweepDir, 'logs', `task-${id}.out`)));
  const summaries = [longDir, shortDir].map((d) => read(path.join(d, 'summary.json')));
  const again = await cliChild(['sweep', long, short, ...args]).done;
  expect(again.code).toBe(0);
  expect(again.output).toMatch(/2 task\(s\): 2 finished, 0 running or queued, 0 to run/);
  expect([0, 1].map((id) => read(path.join(sweepDir, 'logs', `task-${id}.out`)))).toEqual(logs);
  expect([longDir, shortDir].map((d) => read(path.join(d, 'summary.json')))).toEqual(summaries);
}, 180_000);
