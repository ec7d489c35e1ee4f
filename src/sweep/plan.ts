import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { configHash, displayPath, expandConfigArgs, loadConfig, resolvedConfigYaml } from '../config';
import type { ResolvedConfig } from '../config';
import { CONFIG_FILE, seedRuns } from '../runner/run-dir';
import { writeFileAtomic } from '../util/atomic';

/**
 * A sweep's plan: every (run directory, seed) it will train, one task each, written once into the
 * sweep directory as plan.json. Run directories follow `ssl-bench run`'s identity rules exactly
 * (`<output>/<name>-<hash>/`, `seed<S>/` when n_runs > 1), so a run finished by either command is
 * finished for both. Tasks are numbered 0..n-1 in plan order; that number is the Slurm array index.
 */

export const PLAN_FILE = 'plan.json';
export const PLAN_FORMAT = 'ssl-bench-sweep/1';

export interface SweepTask {
  id: number;
  /** `<name>-<hash>` or `<name>-<hash>/seed<S>`: how messages name the task. */
  title: string;
  /** The config file it came from, as given on the command line. */
  configFile: string;
  /** Absolute run directory (holds config.resolved.yaml). */
  runDir: string;
  seed: number;
  /** Absolute directory this task's run writes (the run directory, or its seed<S>/ subdirectory). */
  seedDir: string;
  configHash: string;
}

export interface SweepPlan {
  format: typeof PLAN_FORMAT;
  created_at: string;
  /** Intra-op threads of every task: fixed for the sweep, because CPU results depend on it and a resume must match. */
  threads: number;
  /** `ssl-bench sweep --nchwc off`: every task runs plain ONNX Conv; absent: auto (the default). */
  nchwc?: 'off';
  /** Across hosts, a claim whose heartbeat is older than this is a crashed worker's. */
  stale_after_s: number;
  tasks: SweepTask[];
}

export interface PlanRequest {
  /** Config files or folders of them (abstract files are skipped). */
  inputs: string[];
  set: string[];
  /** `key=v1,v2,...` each; the plan takes every combination. */
  grid: string[];
  /** n_runs for every config (seeds seed .. seed+N-1); default: the config's own n_runs. */
  seeds?: number;
  output?: string;
  maxSteps?: number;
}

export interface ExpandedRun {
  configFile: string;
  config: ResolvedConfig;
  runDir: string;
}

/** Grid keys whose values already tell table rows apart (tables group runs by these). */
const ROW_KEYS = new Set(['method.name', 'method.label', 'method.marker', 'backbone.name', 'backbone.label', 'train.batch_size', 'train.epochs', 'data.dataset']);

/** Splits `a,b,[c,d],"e,f"` at the commas outside brackets, braces and quotes. */
export function splitGridValues(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of text) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '[' || ch === '{') {
      depth++;
    } else if (ch === ']' || ch === '}') {
      depth--;
    } else if (ch === ',' && depth === 0) {
      values.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  values.push(current.trim());
  return values;
}

export interface GridAxis {
  key: string;
  values: string[];
}

export function parseGrid(specs: readonly string[]): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq > 0 ? spec.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(key)) throw new UserError(`--grid ${spec}: expected key.path=v1,v2,..., e.g. --grid method.params.temperature=0.1,0.5`);
    if (key === 'seed' || key === 'n_runs') throw new UserError(`--grid ${spec}: seeds are not a grid axis; use --seeds N (seeds seed .. seed+N-1, one table row with mean ± std)`);
    if (axes.some((a) => a.key === key)) throw new UserError(`--grid ${spec}: ${key} is given twice; list all its values in one --grid`);
    const values = splitGridValues(spec.slice(eq + 1));
    if (values.some((v) => v === '')) throw new UserError(`--grid ${spec}: empty value; expected key.path=v1,v2,...`);
    if (new Set(values).size !== values.length) throw new UserError(`--grid ${spec}: a value is listed twice`);
    axes.push({ key, values });
  }
  return axes;
}

/** Every combination of the axes' values, first axis slowest. */
export function gridCombinations(axes: readonly GridAxis[]): { key: string; value: string }[][] {
  let combos: { key: string; value: string }[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((value) => [...c, { key: axis.key, value }]));
  return combos;
}

const nameSafe = (text: string): string => text.replace(/[^A-Za-z0-9._+-]+/g, '_');

/**
 * Loads every config once per grid combination. A grid value is a `--set` (read as YAML); the run
 * name gains `-<leaf><value>` per axis and, unless the axis already separates table rows (batch
 * size, epochs, method, backbone, dataset), the table label gains ` (<leaf>=<value>)`, so grid
 * points never merge into one row as if they were seeds.
 */
export function expandRuns(request: PlanRequest): ExpandedRun[] {
  const expanded = expandConfigArgs(request.inputs);
  const files = expanded.filter((f) => !f.abstract).map((f) => f.file);
  if (files.length === 0) throw new UserError(`sweep: ${request.inputs.join(', ')}: only abstract configs (meant to be extended); give configs that extend them`);
  const axes = parseGrid(request.grid);
  const baseSet = [...request.set];
  if (request.seeds !== undefined) baseSet.push(`n_runs=${request.seeds}`);
  if (request.maxSteps !== undefined) baseSet.push(`train.max_steps=${request.maxSteps}`);
  const runs: ExpandedRun[] = [];
  for (const file of files) {
    for (const combo of gridCombinations(axes)) {
      const config = loadConfig(file, { set: [...baseSet, ...combo.map(({ key, value }) => `${key}=${value}`)] });
      if (request.output !== undefined) config.output = request.output;
      const leaf = (key: string): string => key.slice(key.lastIndexOf('.') + 1);
      if (combo.length > 0) config.name = `${config.name}-${combo.map(({ key, value }) => `${leaf(key)}${nameSafe(value)}`).join('-')}`;
      const labelled = combo.filter(({ key }) => !ROW_KEYS.has(key));
      if (labelled.length > 0) config.method.label = `${config.method.label} (${labelled.map(({ key, value }) => `${leaf(key)}=${value}`).join(', ')})`;
      const runDir = path.resolve(config.output, `${config.name}-${configHash(config)}`);
      const twin = runs.find((r) => r.runDir === runDir);
      if (twin) {
        // The same experiment reached twice (an alias file, a grid value equal to the default): run it once.
        continue;
      }
      runs.push({ configFile: file, config, runDir });
    }
  }
  return runs;
}

export function tasksOf(runs: readonly ExpandedRun[]): SweepTask[] {
  const tasks: SweepTask[] = [];
  for (const run of runs) {
    const hash = configHash(run.config);
    for (const { seed, dir } of seedRuns(run.runDir, run.config)) {
      const base = path.basename(run.runDir);
      tasks.push({
        id: tasks.length, title: run.config.n_runs === 1 ? base : `${base}/seed${seed}`, configFile: run.configFile,
        runDir: run.runDir, seed, seedDir: dir, configHash: hash,
      });
    }
  }
  return tasks;
}

/** Identity of a plan: its tasks' run directories and seeds (not where or when it was made). */
export function planHash(tasks: readonly SweepTask[]): string {
  const identity = tasks.map((t) => `${t.runDir}#${t.seed}`).join('\n');
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

/** `<output of the first run>/sweeps/sweep-<plan hash>`: the same sweep command finds the same directory again. */
export function defaultSweepDir(tasks: readonly SweepTask[]): string {
  return path.join(path.dirname(tasks[0].runDir), 'sweeps', `sweep-${planHash(tasks)}`);
}

export function readPlan(sweepDir: string): SweepPlan {
  const file = path.join(sweepDir, PLAN_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${displayPath(file)}: no sweep plan here; expected a directory made by \`ssl-bench sweep <configs...>\``);
    throw new UserError(`${displayPath(file)}: cannot read sweep plan (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let plan: SweepPlan;
  try {
    plan = JSON.parse(text) as SweepPlan;
  } catch (err) {
    throw new UserError(`${displayPath(file)}: malformed plan (${(err as Error).message})`);
  }
  if (plan?.format !== PLAN_FORMAT || !Array.isArray(plan.tasks)) throw new UserError(`${displayPath(file)}: not a sweep plan of format ${PLAN_FORMAT}`);
  return plan;
}

/**
 * Writes each run directory's config.resolved.yaml and the plan. An existing plan in `sweepDir` is
 * kept when it lists the same tasks (a resubmission), and is an error when it lists others.
 */
export function writePlan(sweepDir: string, runs: readonly ExpandedRun[], settings: { threads: number; staleAfterS: number; nchwc?: 'auto' | 'off' }, now: Date = new Date()): SweepPlan {
  const tasks = tasksOf(runs);
  let existing: SweepPlan | null = null;
  if (fs.existsSync(path.join(sweepDir, PLAN_FILE))) {
    existing = readPlan(sweepDir);
    if (planHash(existing.tasks) !== planHash(tasks)) {
      throw new UserError(`${displayPath(sweepDir)}: holds the plan of another sweep (${existing.tasks.length} tasks); choose another --sweep-dir, or resubmit that one with \`ssl-bench sweep resume ${displayPath(sweepDir)}\``);
    }
  }
  for (const run of runs) {
    const file = path.join(run.runDir, CONFIG_FILE);
    const yaml = resolvedConfigYaml(run.config);
    // Rewriting the same bytes under a task that is already running would be harmless; skipping it is quieter.
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== yaml) writeFileAtomic(file, yaml);
  }
  if (existing !== null) return existing;
  const plan: SweepPlan = {
    format: PLAN_FORMAT, created_at: now.toISOString(), threads: settings.threads, ...(settings.nchwc === 'off' ? { nchwc: 'off' as const } : {}),
    stale_after_s: settings.staleAfterS, tasks,
  };
  writeFileAtomic(path.join(sweepDir, PLAN_FILE), `${JSON.stringify(plan, null, 2)}\n`);
  return plan;
}

/** The task's resolved config, read back from its run directory and checked against the plan. */
export function loadTaskConfig(task: SweepTask): ResolvedConfig {
  const file = path.join(task.runDir, CONFIG_FILE);
  if (!fs.existsSync(file)) throw new UserError(`${displayPath(file)}: missing; the sweep plan expects the resolved config of task ${task.id} here`);
  const config = loadConfig(file);
  const hash = configHash(config);
  if (hash !== task.configHash) throw new UserError(`${displayPath(file)}: config hash ${hash}, the sweep plan says ${task.configHash}; the run directory was changed after planning`);
  return config;
}
