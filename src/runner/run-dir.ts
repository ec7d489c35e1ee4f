import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { displayPath } from '../config';
import type { ResolvedConfig } from '../config';

/**
 * Layout of a run directory and the rules that protect what is in it.
 *
 *   <output>/<name>-<hash>/            one per resolved config (made by `ssl-bench run`)
 *     config.resolved.yaml
 *     metrics.csv  summary.json  backbone.onnx  checkpoint/last.ckpt      (n_runs = 1)
 *     seed<S>/metrics.csv  seed<S>/summary.json  ...                      (n_runs > 1, S = seed + r)
 *
 * A finished or diverged result is never overwritten; an unfinished one is continued only with
 * --resume; --force renames the whole directory aside (`<dir>.replaced-<UTC time>`, the name
 * REPLACED_RUN_NAME in report/collect.ts matches, so tables and plots skip it), never deletes.
 */

export const CONFIG_FILE = 'config.resolved.yaml';
export const METRICS_FILE = 'metrics.csv';
export const SUMMARY_FILE = 'summary.json';
export const BACKBONE_FILE = 'backbone.onnx';
export const CHECKPOINT_FILE = path.join('checkpoint', 'last.ckpt');


export interface SeedRun {
  seed: number;
  dir: string;
}

/** Run r of n_runs uses seed + r; with several runs each lives in `seed<seed + r>/`. */
export function seedRuns(runDir: string, config: ResolvedConfig): SeedRun[] {
  if (config.n_runs === 1) return [{ seed: config.seed, dir: runDir }];
  return Array.from({ length: config.n_runs }, (_, r) => ({ seed: config.seed + r, dir: path.join(runDir, `seed${config.seed + r}`) }));
}

export type RunDirState =
  | { kind: 'empty' }
  | { kind: 'finished'; summaryFile: string }
  | { kind: 'diverged'; summaryFile: string }
  /** interrupted: summary status "interrupted" (SIGINT/SIGTERM with a checkpoint saved). */
  | { kind: 'unfinished'; hasCheckpoint: boolean; interrupted: boolean };

function summaryStatus(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${displayPath(file)}: cannot read summary (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix its permissions or rerun with --force`);
  }
  try {
    const status = (JSON.parse(text) as { status?: unknown } | null)?.status;
    return typeof status === 'string' ? status : 'unknown';
  } catch (err) {
    throw new UserError(`${displayPath(file)}: malformed summary.json (${(err as Error).message}); delete it or rerun with --force`);
  }
}

/** What a (seed) run directory holds: nothing, a final result, or an unfinished run. */
export function inspectRunDir(dir: string): RunDirState {
  const summaryFile = path.join(dir, SUMMARY_FILE);
  const status = summaryStatus(summaryFile);
  if (status === 'finished' || status === 'smoke') return { kind: 'finished', summaryFile };
  if (status === 'diverged') return { kind: 'diverged', summaryFile };
  const hasCheckpoint = fs.existsSync(path.join(dir, CHECKPOINT_FILE));
  if (status !== null || hasCheckpoint || fs.existsSync(path.join(dir, METRICS_FILE))) return { kind: 'unfinished', hasCheckpoint, interrupted: status === 'interrupted' && hasCheckpoint };
  return { kind: 'empty' };
}

/** Whether `runDir` holds anything a run wrote (anything but config.resolved.yaml and temp files). */
export function holdsResults(runDir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  return names.some((name) => name !== CONFIG_FILE && !name.startsWith('.'));
}

/** What a run writes before its first step: the resolved config and data.json (backbone-evaluation.ts DATA_MANIFEST_FILE). */
const WRITTEN_BEFORE_TRAINING = new Set([CONFIG_FILE, 'data.json']);

/**
 * Deletes `runDir` when no run in it got as far as training (it holds only the resolved config,
 * data manifests and temp files, in it or its seed<S>/ folders), so a run that failed before its
 * first step (data not found, a batch larger than the dataset) leaves nothing behind. Returns
 * whether it deleted.
 */
export function removeIfNeverTrained(runDir: string): boolean {
  const onlyPreTraining = (dir: string): boolean => fs.readdirSync(dir, { withFileTypes: true }).every((e) => {
    if (e.isDirectory()) return /^seed\d+$/.test(e.name) && onlyPreTraining(path.join(dir, e.name));
    return WRITTEN_BEFORE_TRAINING.has(e.name) || e.name.startsWith('.');
  });
  try {
    if (!onlyPreTraining(runDir)) return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  return true;
}

function compactUtc(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * Renames `runDir` to `<runDir>.replaced-<UTC time>` in one rename (atomic on one filesystem),
 * so a forced rerun never destroys a result; returns the new name.
 */
export function moveAside(runDir: string, now: Date): string {
  const base = `${runDir.replace(/[\\/]+$/, '')}.replaced-${compactUtc(now)}`;
  for (let n = 0; ; n++) {
    const target = n === 0 ? base : `${base}-${n}`;
    if (fs.existsSync(target)) continue;
    fs.renameSync(runDir, target);
    return target;
  }
}
