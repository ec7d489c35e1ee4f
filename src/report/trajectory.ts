import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { readMetricsCsv, type MetricsTable } from '../runner/metrics-csv';
import { formatFixed } from './format';

/**
 * The deterministic half of the regression gate: one run's metrics.csv against a committed
 * baseline metrics.csv, epoch by epoch. A CPU run is reproducible for one config, seed, thread
 * count and instruction set, so every baseline value (loss, lr, kNN) must come back within a
 * tolerance that only absorbs float reassociation; a change either way is reported as CHANGED
 * (the numerics moved: a regression, or an intended change that needs a new baseline).
 * Columns the baseline leaves out (timings) are not compared.
 */

export type EpochStatus = 'OK' | 'CHANGED' | 'MISSING';

export interface EpochComparison {
  epoch: number;
  column: string;
  baseline: number;
  current: number | null;
  delta: number | null;
  tolerance: number;
  status: EpochStatus;
}

export interface TrajectoryResult {
  baselineFile: string;
  runFile: string;
  comparisons: EpochComparison[];
  passed: boolean;
}

/** Float noise allowance: a difference of exactly the tolerance passes. */
const EPSILON = 1e-12;

/** The metrics.csv of `input`: the file itself or the one in a run directory (a single run, not a folder of runs). */
export function runMetricsFile(input: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new UserError(`${input}: no such file or directory; --per-epoch expects one run directory (holding metrics.csv) or its metrics.csv`);
  }
  if (stat.isFile()) return input;
  const file = path.join(input, 'metrics.csv');
  if (!fs.existsSync(file)) {
    throw new UserError(`${input}: no metrics.csv in this directory; --per-epoch compares one run directory (e.g. <output>/<name>-<hash>), not a folder of runs`);
  }
  return file;
}

function epochsOf(table: MetricsTable): Map<number, Record<string, number | null>> {
  const byEpoch = new Map<number, Record<string, number | null>>();
  table.rows.forEach((row, i) => {
    const epoch = row.epoch;
    if (epoch === null || !Number.isInteger(epoch) || epoch < 0) throw new UserError(`${table.file}:${i + 2}:1 epoch: expected an integer >= 0`);
    if (byEpoch.has(epoch)) throw new UserError(`${table.file}:${i + 2}:1 epoch ${epoch}: listed twice; one row per epoch`);
    byEpoch.set(epoch, row);
  });
  return byEpoch;
}

/**
 * Compares every non-empty baseline cell (all columns but `epoch`) with the run's value.
 * `tolerances[column]` is an absolute tolerance; columns without one use `tolerance`.
 */
export function compareTrajectory(baseline: MetricsTable, run: MetricsTable, tolerance: number, tolerances: Record<string, number>): TrajectoryResult {
  const columns = baseline.columns.filter((c) => c !== 'epoch');
  if (columns.length === 0) throw new UserError(`${baseline.file}:1:1 header: only "epoch"; list the columns to gate (e.g. epoch,steps,loss,lr,knn_top1)`);
  for (const column of Object.keys(tolerances)) {
    if (!columns.includes(column)) throw new UserError(`--tolerance-for ${column}: not a column of ${baseline.file}; its columns are ${columns.join(', ')}`);
  }
  const current = epochsOf(run);
  const comparisons: EpochComparison[] = [];
  for (const [epoch, row] of epochsOf(baseline)) {
    const have = current.get(epoch);
    for (const column of columns) {
      const base = row[column];
      if (base === null || base === undefined) continue;
      const tol = tolerances[column] ?? tolerance;
      const value = have?.[column] ?? null;
      if (value === null) {
        comparisons.push({ epoch, column, baseline: base, current: null, delta: null, tolerance: tol, status: 'MISSING' });
        continue;
      }
      const delta = value - base;
      comparisons.push({ epoch, column, baseline: base, current: value, delta, tolerance: tol, status: Math.abs(delta) <= tol + EPSILON ? 'OK' : 'CHANGED' });
    }
  }
  return { baselineFile: baseline.file, runFile: run.file, comparisons, passed: comparisons.every((c) => c.status === 'OK') };
}

/** Enough digits to show a difference at the tightest tolerance. */
function show(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : formatFixed(value, 6);
}

/** An aligned plain-text report, one line per compared value, and a closing verdict line. */
export function renderTrajectory(result: TrajectoryResult): string {
  const header = ['Epoch', 'Column', 'Baseline', 'Current', 'Delta', 'Tolerance', 'Status'];
  const rows = result.comparisons.map((c) => [
    String(c.epoch), c.column, show(c.baseline), c.current === null ? '-' : show(c.current),
    c.delta === null ? '-' : `${c.delta >= 0 ? '+' : ''}${show(c.delta)}`, show(c.tolerance), c.status,
  ]);
  const left = new Set(['Column', 'Status']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (left.has(header[i]) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  const count = (s: EpochStatus): number => result.comparisons.filter((c) => c.status === s).length;
  const verdict = `${result.passed ? 'PASS' : 'FAIL'}: ${result.comparisons.length} values of ${result.runFile} compared per epoch against ${result.baselineFile}: ${count('OK')} OK, ${count('CHANGED')} CHANGED, ${count('MISSING')} MISSING`;
  return `${[line(header), ...rows.map(line), verdict].join('\n')}\n`;
}
