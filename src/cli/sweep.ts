import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import { displayPath } from '../config';
import { addSetOption } from '../config/set-option';
import { DEFAULT_STALE_MS } from '../sweep/claim';
import { runLocal } from '../sweep/local';
import { defaultSweepDir, expandRuns, readPlan, tasksOf, writePlan, type SweepPlan } from '../sweep/plan';
import { writeSweepReport } from '../sweep/report';
import { queryQueue, readSubmissions, submitArray, writeSlurmScript, type SlurmOptions } from '../sweep/slurm';
import { formatStatus, sweepStatus, tasksToRun, type SweepStatus } from '../sweep/status';
import { runSweepTask } from '../sweep/worker';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

interface ExecutorCliOptions {
  executor: 'local' | 'slurm';
  parallel: number;
  threads?: number;
  cpusPerTask: number;
  gres?: string;
  mem?: string;
  time?: string;
  partition?: string;
  account?: string;
  sbatch?: string[];
  signalBefore: number;
  maxParallel?: number;
  wait?: boolean;
  dryRun?: boolean;
}

interface SweepCliOptions extends ExecutorCliOptions {
  set?: string[];
  grid?: string[];
  seeds?: number;
  output?: string;
  maxSteps?: number;
  sweepDir?: string;
  staleAfter: number;
  nchwc?: 'auto' | 'off';
}

function addExecutorOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--executor <name>', 'where tasks run').choices(['local', 'slurm']).default('local'))
    .option('--parallel <n>', 'local: tasks side by side (threads are divided among them)', positiveInteger, 1)
    .option('--threads <n>', 'local: intra-op threads per task (default: cores / --parallel); fixed by the first submission of a sweep', positiveInteger)
    .option('--cpus-per-task <n>', 'slurm: CPUs per task (also its intra-op threads)', positiveInteger, 4)
    .option('--gres <spec>', 'slurm: generic resources per task, e.g. gpu:1 (default: gpu:1 when a config runs on cuda or webgpu; "none" for none)')
    .option('--mem <size>', 'slurm: memory per task, e.g. 16G')
    .option('--time <limit>', 'slurm: time limit per task, e.g. 12:00:00 (a task that reaches it checkpoints and requeues itself)')
    .option('--partition <name>', 'slurm: partition')
    .option('--account <name>', 'slurm: account')
    .option('--sbatch <line>', 'slurm: extra #SBATCH line, e.g. --sbatch=--qos=high (repeatable)', collect)
    .option('--signal-before <s>', 'slurm: seconds before the time limit at which a task checkpoints and requeues', nonNegativeInteger, 180)
    .option('--max-parallel <n>', 'slurm: most array tasks running at once', positiveInteger)
    .option('--wait', 'slurm: wait until every task has left the queue, then report (the local executor always waits)')
    .option('--dry-run', 'write the plan (and the sbatch script) without running or submitting anything');
}

/** The command that starts this same ssl-bench in a worker: node, its flags, and the entry file. */
function workerCommand(): string[] {
  return [process.execPath, ...process.execArgv, path.resolve(process.argv[1])];
}

const say = (line: string): void => { process.stdout.write(`${line}\n`); };

function gresFor(plan: SweepPlan, opt: string | undefined): string | null {
  if (opt !== undefined) return opt === 'none' ? null : opt;
  const devices = new Set(plan.tasks.map((t) => fs.readFileSync(path.join(t.runDir, 'config.resolved.yaml'), 'utf8').match(/^device: (\S+)/m)?.[1]));
  return devices.has('cuda') || devices.has('webgpu') ? 'gpu:1' : null;
}

function slurmOptions(sweepDir: string, plan: SweepPlan, opts: ExecutorCliOptions): SlurmOptions {
  if (plan.threads !== opts.cpusPerTask) say(`note: the plan fixes ${plan.threads} intra-op thread(s) per task (results depend on it); --cpus-per-task ${opts.cpusPerTask} only sizes the allocation`);
  return {
    cpusPerTask: opts.cpusPerTask, gres: gresFor(plan, opts.gres), mem: opts.mem, time: opts.time, partition: opts.partition, account: opts.account,
    signalBefore: opts.signalBefore, maxParallel: opts.maxParallel, extraLines: opts.sbatch ?? [], jobName: `ssl-bench-${path.basename(sweepDir)}`,
  };
}

async function finalReport(sweepDir: string, plan: SweepPlan, status: SweepStatus): Promise<void> {
  process.stdout.write(formatStatus(status));
  if (status.complete) {
    const files = await writeSweepReport(sweepDir, plan);
    say(`sweep complete: ${files.map(displayPath).join(', ')}`);
    if (status.counts.diverged > 0) throw new UserError(`sweep: ${status.counts.diverged} run(s) diverged (NaN/Inf loss); see the lines above`, 1);
    return;
  }
  const bad = status.tasks.filter((t) => t.state !== 'finished' && t.state !== 'diverged');
  throw new UserError(`sweep: ${bad.length} task(s) not finished: ${bad.map((t) => `task ${t.id} ${t.state} (${t.detail})`).join('; ')}; \`ssl-bench sweep resume ${displayPath(sweepDir)}\` runs them again`, 1);
}

async function waitForQueue(sweepDir: string, plan: SweepPlan): Promise<SweepStatus> {
  const seen = new Map<number, string>();
  let misses = 0;
  for (;;) {
    const queue = queryQueue(sweepDir);
    if (queue === null) {
      // A busy slurmctld can miss a query; only a persistent failure ends the wait.
      if (++misses >= 5) throw new UserError(`sweep --wait: squeue failed ${misses} times in a row; check later with \`ssl-bench sweep status ${displayPath(sweepDir)}\``);
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    misses = 0;
    const status = sweepStatus(sweepDir, plan, queue);
    for (const t of status.tasks) {
      const line = `${t.state}: ${t.detail}`;
      if (seen.get(t.id) !== line && seen.has(t.id)) say(`task ${t.id} ${t.title}: ${line}`);
      seen.set(t.id, line);
    }
    if (queue.size === 0) return status;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function execute(sweepDir: string, plan: SweepPlan, opts: ExecutorCliOptions): Promise<void> {
  const before = sweepStatus(sweepDir, plan, queryQueue(sweepDir));
  const todo = tasksToRun(before).map((t) => t.id);
  const busy = before.tasks.filter((t) => t.state === 'running' || (t.slurm !== null && t.state !== 'finished'));
  say(`sweep ${displayPath(sweepDir)}: ${plan.tasks.length} task(s): ${before.counts.finished} finished, ${busy.length} running or queued, ${todo.length} to run`);
  if (opts.executor === 'slurm') {
    if (todo.length === 0 && busy.length === 0) return finalReport(sweepDir, plan, before);
    if (todo.length > 0) {
      const options = slurmOptions(sweepDir, plan, opts);
      if (opts.dryRun) {
        say(`dry run: nothing submitted (tasks ${todo.join(', ')}); script ${displayPath(writeSlurmScript(sweepDir, todo, options, workerCommand()))}`);
        return;
      }
      const submission = submitArray(sweepDir, todo, options, workerCommand());
      say(`submitted job array ${submission.job_id} (tasks ${todo.join(', ')}); script ${displayPath(submission.script)}; logs in ${displayPath(path.join(sweepDir, 'logs'))}`);
    }
    if (!opts.wait) {
      say(`follow it with: ssl-bench sweep status ${displayPath(sweepDir)}`);
      return;
    }
    return finalReport(sweepDir, plan, await waitForQueue(sweepDir, plan));
  }
  if (opts.dryRun) {
    say(`dry run: nothing started (tasks ${todo.join(', ') || 'none'})`);
    return;
  }
  if (busy.length > 0) say(`not touching ${busy.length} task(s) another worker is running: ${busy.map((t) => t.id).join(', ')}`);
  const outcome = await runLocal(sweepDir, plan, todo, { parallel: opts.parallel, worker: workerCommand(), log: say });
  if (outcome.interrupted) throw new UserError(`sweep interrupted; \`ssl-bench sweep resume ${displayPath(sweepDir)}\` continues it`, 1);
  return finalReport(sweepDir, plan, sweepStatus(sweepDir, plan, queryQueue(sweepDir)));
}

function localThreads(opts: ExecutorCliOptions): number {
  if (opts.executor === 'slurm') return opts.cpusPerTask;
  const cores = os.availableParallelism();
  if (opts.threads !== undefined) {
    if (opts.threads * opts.parallel > cores) say(`note: --parallel ${opts.parallel} x --threads ${opts.threads} is more threads than this machine's ${cores} cores`);
    return opts.threads;
  }
  return Math.max(1, Math.floor(cores / opts.parallel));
}

/**
 * `ssl-bench sweep <configs or folders...>`: expand configs x grid x seeds into a plan of runs and
 * run it locally or on Slurm; `sweep status`, `sweep resume` and the worker `sweep task`.
 */
export function registerSweep(program: Command): void {
  // `sweep resume <dir> --executor slurm`: options after a subcommand must be the subcommand's, not
  // sweep's own options of the same name; commander needs positional options from the root down.
  program.enablePositionalOptions();
  const sweep = program
    .command('sweep')
    .enablePositionalOptions()
    .description('run many configs (x --grid x --seeds) here or on Slurm; one task per run directory and seed; resumable')
    .argument('<configs...>', 'config files or folders of them (abstract files skipped)')
    .option('--grid <key=v1,v2>', 'sweep a field over values (each read as YAML; commas inside [] {} or quotes stay); repeatable: every combination', collect)
    .option('--seeds <n>', 'runs per config: n_runs=N, seeds seed .. seed+N-1 (one task each, one table row)', positiveInteger)
    .option('--output <dir>', "folder that receives run directories (overrides the configs' output)")
    .option('--max-steps <n>', 'stop each run after n optimizer steps (smoke test)', positiveInteger)
    .option('--sweep-dir <dir>', 'where the plan, logs, task records and tables go (default: <output>/sweeps/sweep-<plan hash>)')
    .option('--stale-after <s>', "a claim on a run directory whose heartbeat is older than this, seen from another host, is a crashed worker's", positiveInteger, DEFAULT_STALE_MS / 1000)
    .addOption(new Option('--nchwc <mode>', 'CPU convolutions of every task, as `run --nchwc`: auto (ORT NCHWc after a self-check) or off (plain Conv); fixed by the first submission of a sweep').choices(['auto', 'off']).default('auto'));
  addSetOption(sweep);
  addExecutorOptions(sweep).action(async (inputs: string[], opts: SweepCliOptions) => {
    const runs = expandRuns({ inputs, set: opts.set ?? [], grid: opts.grid ?? [], seeds: opts.seeds, output: opts.output, maxSteps: opts.maxSteps });
    const sweepDir = path.resolve(opts.sweepDir ?? defaultSweepDir(tasksOf(runs)));
    const threads = localThreads(opts);
    const plan = writePlan(sweepDir, runs, { threads, staleAfterS: opts.staleAfter, nchwc: opts.nchwc });
    if ((plan.nchwc ?? 'auto') !== (opts.nchwc ?? 'auto')) say(`note: this sweep was planned with --nchwc ${plan.nchwc ?? 'auto'} and keeps it`);
    if (plan.threads !== threads && opts.executor === 'local') say(`note: this sweep was planned with ${plan.threads} intra-op thread(s) per task and keeps them (a resumed run must use the same count)`);
    say(`sweep plan ${displayPath(path.join(sweepDir, 'plan.json'))}: ${runs.length} run director${runs.length === 1 ? 'y' : 'ies'}, ${plan.tasks.length} task(s), ${plan.threads} intra-op thread(s) each`);
    await execute(sweepDir, plan, opts);
  });

  addExecutorOptions(sweep
    .command('resume')
    .description('run again every task of a sweep that is not finished (nothing finished is rerun)')
    .argument('<sweep-dir>', 'a sweep directory (holds plan.json)'))
    .action(async (dir: string, opts: ExecutorCliOptions) => {
      const sweepDir = path.resolve(dir);
      await execute(sweepDir, readPlan(sweepDir), opts);
    });

  sweep
    .command('status')
    .description('per task: pending, running, finished, failed, diverged or preempted (from run directories, claims and squeue)')
    .argument('<sweep-dir>', 'a sweep directory (holds plan.json)')
    .option('--json', 'print the status as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const sweepDir = path.resolve(dir);
      const plan = readPlan(sweepDir);
      const queue = queryQueue(sweepDir);
      const status = sweepStatus(sweepDir, plan, queue);
      const reportMissing = status.complete && !fs.existsSync(path.join(sweepDir, 'table.rst'));
      const written = reportMissing ? await writeSweepReport(sweepDir, plan) : [];
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...status, slurm_jobs: readSubmissions(sweepDir).map((s) => s.job_id), squeue: queue !== null, report: written.map(displayPath) }, null, 2)}\n`);
        return;
      }
      process.stdout.write(formatStatus(status));
      if (written.length > 0) say(`sweep complete: ${written.map(displayPath).join(', ')}`);
    });

  sweep
    .command('task', { hidden: true })
    .description('run one task of a sweep (what Slurm array tasks and local workers run)')
    .argument('<sweep-dir>')
    .argument('<id>', 'task id', nonNegativeInteger)
    .action(async (dir: string, id: number) => {
      const result = await runSweepTask(path.resolve(dir), id);
      process.stdout.write(`task ${id}: ${result.state}: ${result.message}\n`);
      process.exitCode = result.exitCode;
    });
}
