/**
 * `ssl-bench sweep --executor slurm` against a real one-node Slurm (support/slurm-cluster.ts):
 * three tiny SimCLR tasks in one job array. Task 0 is sent SIGUSR1 mid-run (what Slurm sends
 * before the time limit: the script passes it on, the run checkpoints, the script requeues the
 * task); task 1 is requeued with `scontrol requeue` (SIGTERM to the job, as a preemption); both must
 * end with the metrics of an uninterrupted run. Task 2's dataset folder is missing: it fails and is
 * reported with its log. A resubmission runs only task 2; once its data is there, it finishes, and
 * a further resubmission submits nothing.
 *
 * Skipped, with the reason, where the cluster cannot run (not root, slurm-wlm/munge not
 * installed); with SSL_BENCH_REQUIRE_SLURM=1 (set by .ci/run) that is a failure instead.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, CONFIG, metricsColumns, readSummary, ROOT, waitUntil } from '../e2e/support/harness';
import { cliChild } from './support/cli-child';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from './support/slurm-cluster';

const unavailable = slurmUnavailable();
if (unavailable !== null && process.env.SSL_BENCH_REQUIRE_SLURM === '1') throw new Error(`SSL_BENCH_REQUIRE_SLURM=1 but ${unavailable}`);
const describeSlurm = unavailable === null ? describe : describe.skip;
if (unavailable !== null) console.warn(`test/sweep/slurm.test.ts skipped: ${unavailable}`);

/** metrics.csv without the wall-clock columns: what must be identical between equal runs. */
const deterministic = (dir: string): string[][] => metricsColumns(dir, ['epoch', 'steps', 'loss', 'lr', 'knn_top1', 'knn_top5']);

function metricRows(dir: string): number {
  try {
    return fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').length - 1;
  } catch {
    return 0;
  }
}

describeSlurm(`sweep --executor slurm on a one-node cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let cluster: SlurmCluster;
  let tmp: string;
  let configs: string[];
  let savedConf: string | undefined;
  const sweepDir = (): string => path.join(tmp, 'sweep');
  const slurm = (cmd: string, ...args: string[]): string => {
    const r = spawnSync(cmd, args, { env: cluster.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-sweep-slurm-'));
    const t0 = Date.now();
    cluster = await startSlurmCluster();
    console.log(`test Slurm cluster up in ${Date.now() - t0} ms`);
    savedConf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = cluster.conf;
    const write = (name: string, body: string): string => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, `extends: ${CONFIG}\nname: ${name.replace('.yaml', '')}\n${body}`);
      return file;
    };
    // Six epochs of five steps: long enough to be stopped in the middle.
    configs = [
      write('usr1.yaml', 'train: { epochs: 6 }\n'),
      write('requeue.yaml', 'train: { epochs: 6 }\nmethod: { label: SimCLR-t0.2, params: { temperature: 0.2 } }\n'),
      write('nodata.yaml', `train: { epochs: 1 }\ndata: { dataset: fashion-mnist, root: ${path.join(tmp, 'fmnist')} }\n`),
    ];
  });

  afterAll(async () => {
    if (savedConf === undefined) delete process.env.SLURM_CONF; else process.env.SLURM_CONF = savedConf;
    await cluster?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('interrupted tasks resume to the uninterrupted metrics, a failure names its log, resubmissions rerun nothing finished', async () => {
    // References: the same configs run uninterrupted, in this process, at the sweep's 1 thread.
    for (const config of configs.slice(0, 2)) {
      const r = await cli('run', config, '--output', path.join(tmp, 'reference'), '--threads', '1');
      if (r.code !== 0) throw new Error(`reference run failed:\n${r.stdout}\n${r.stderr}`);
    }
    const output = path.join(tmp, 'results');
    const submit = cliChild(['sweep', ...configs, '--output', output, '--sweep-dir', sweepDir(), '--executor', 'slurm', '--cpus-per-task', '1', '--time', '10', '--wait'], cluster.env);
    const submissions = path.join(sweepDir(), 'slurm', 'submissions.json');
    let exited = false;
    void submit.done.then(() => { exited = true; });
    await waitUntil('the job array to be submitted', () => fs.existsSync(submissions) || exited, 60_000);
    if (exited) throw new Error(`sweep exited before submitting:\n${submit.output()}`);
    const job = JSON.parse(fs.readFileSync(submissions, 'utf8'))[0].job_id as string;
    const plan = JSON.parse(fs.readFileSync(path.join(sweepDir(), 'plan.json'), 'utf8'));
    const [usr1Dir, requeueDir, nodataDir] = plan.tasks.map((t: { seedDir: string }) => t.seedDir);

    // Stop each run once its first epoch is in metrics.csv: mid-run, with five epochs to go.
    let usr1Sent = false;
    let requeueSent = false;
    await waitUntil('both runs to reach epoch 1', () => {
      if (exited) throw new Error(`sweep exited before both runs were interrupted:\n${submit.output()}`);
      if (!usr1Sent && metricRows(usr1Dir) >= 1) { slurm('scancel', '--batch', '--signal=USR1', `${job}_0`); usr1Sent = true; }
      if (!requeueSent && metricRows(requeueDir) >= 1) { slurm('scontrol', 'requeue', `${job}_1`); requeueSent = true; }
      return usr1Sent && requeueSent;
    }, 60_000);
    const first = await submit.done;
    expect(first.code).toBe(1);
    expect(first.output).toMatch(/task 2 failed \(.*fmnist.*log: .*logs\/task-2\.err\)/);

    const records = [0, 1, 2].map((id) => JSON.parse(fs.readFileSync(path.join(sweepDir(), 'tasks', `task-${id}.json`), 'utf8')));
    for (const [i, dir] of [[0, usr1Dir], [1, requeueDir]] as const) {
      // A second attempt that resumed: the interruption really happened mid-run.
      expect(records[i]).toMatchObject({ state: 'finished', attempt: 2, exit_code: 0 });
      expect(records[i].worker).toMatch(new RegExp(`^slurm job ${job}_${i} \\(restart 1\\)$`));
      expect(fs.readFileSync(path.join(sweepDir(), 'logs', `task-${i}.out`), 'utf8')).toMatch(/resuming from .*last\.ckpt/);
      expect(readSummary(dir).status).toBe('finished');
      const reference = path.join(tmp, 'reference', path.basename(dir));
      expect(deterministic(dir)).toEqual(deterministic(reference));
      expect(readSummary(dir).metrics.knn_top1.value).toBe(readSummary(reference).metrics.knn_top1.value);
    }
    expect(fs.readFileSync(path.join(sweepDir(), 'logs', 'task-0.out'), 'utf8')).toMatch(/SIGUSR1/);
    expect(fs.readFileSync(path.join(sweepDir(), 'logs', 'task-0.err'), 'utf8')).toMatch(/requeueing job/);
    expect(records[2]).toMatchObject({ state: 'failed', attempt: 1, exit_code: 1 });
    expect(records[2].message).toContain(path.join(tmp, 'fmnist'));
    expect(fs.readFileSync(path.join(sweepDir(), 'logs', 'task-2.err'), 'utf8')).toContain(records[2].message);

    const status = await cli('sweep', 'status', sweepDir(), '--json');
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.tasks.map((t: { state: string }) => t.state)).toEqual(['finished', 'finished', 'failed']);
    expect(parsed.tasks[2].logs.stderr).toMatch(/task-2\.err$/);
    expect(parsed.complete).toBe(false);

    // Resubmission: only the failed task goes to Slurm; the finished runs are not touched.
    const summaryBytes = [usr1Dir, requeueDir].map((d) => fs.readFileSync(path.join(d, 'summary.json'), 'utf8'));
    const second = await cliChild(['sweep', 'resume', sweepDir(), '--executor', 'slurm', '--cpus-per-task', '1', '--wait'], cluster.env).done;
    if (second.code !== 1) throw new Error(`second submission: expected task 2 to fail again:\n${second.output}`);
    let subs = JSON.parse(fs.readFileSync(submissions, 'utf8'));
    if (subs.length !== 2) throw new Error(`second submission did not submit:\n${second.output}`);
    expect(subs).toHaveLength(2);
    expect(subs[1].tasks).toEqual([2]);
    expect([usr1Dir, requeueDir].map((d) => fs.readFileSync(path.join(d, 'summary.json'), 'utf8'))).toEqual(summaryBytes);

    // The missing data appears (data.root is not part of a run's identity): it runs, and the sweep completes.
    fs.symlinkSync(path.join(ROOT, 'data-embedded', 'fashion-mnist'), path.join(tmp, 'fmnist'));
    const third = await cliChild(['sweep', 'resume', sweepDir(), '--executor', 'slurm', '--cpus-per-task', '1', '--wait'], cluster.env).done;
    if (third.code !== 0) throw new Error(`third submission failed:\n${third.output}`);
    expect(readSummary(nodataDir).status).toBe('finished');
    expect(third.output).toMatch(/sweep complete: .*table\.csv/);
    for (const f of ['table.rst', 'table.md', 'table.csv', 'knn_top1.svg', 'knn_top1.png']) expect(fs.existsSync(path.join(sweepDir(), f))).toBe(true);
    expect(fs.readFileSync(path.join(sweepDir(), 'table.csv'), 'utf8').trim().split('\n')).toHaveLength(4);

    // Everything finished: nothing is submitted.
    const fourth = await cliChild(['sweep', 'resume', sweepDir(), '--executor', 'slurm', '--cpus-per-task', '1', '--wait'], cluster.env).done;
    expect(fourth.code).toBe(0);
    expect(fourth.output).toMatch(/3 finished, 0 running or queued, 0 to run/);
    subs = JSON.parse(fs.readFileSync(submissions, 'utf8'));
    expect(subs).toHaveLength(3);
  }, 180_000);
});
