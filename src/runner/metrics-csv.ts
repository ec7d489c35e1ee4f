import * as fs from 'node:fs';
import { UserError } from '../errors';

/**
 * `metrics.csv`: one row per completed epoch. The runner rewrites the whole file atomically after
 * every epoch from the rows it keeps (and restores from the checkpoint on resume), so the file
 * always matches a state the run actually reached.
 */

export interface EpochRow {
  /**
   * 1-based number of the epoch (the row of the first epoch says 1); 0 for the one evaluation of a
   * run without pretraining (method none, the floors), which has no steps, loss or lr.
   */
  epoch: number;
  /** Steps run in the epoch (fewer than steps per epoch only when train.max_steps cut it). */
  steps: number;
  /** Mean training loss over the epoch's steps; null (an empty cell) for epoch 0. */
  loss: number | null;
  /** Learning rate of the epoch's last step; null (an empty cell) for epoch 0. */
  lr: number | null;
  /** Online evaluation results at the end of the epoch (empty when none was due). */
  eval: Record<string, number>;
  /** Wall-clock seconds of the epoch: steps plus evaluation. */
  epoch_seconds: number;
  /** Seconds the steps waited for data. */
  data_seconds: number;
  /** Seconds of the epoch-end evaluation (0 when none was due). */
  eval_seconds: number;
  /** Training images per second over the steps' wall-clock time (evaluation excluded). */
  images_per_second: number;
}

/** kNN columns are always present so files of runs with and without a kNN at epoch 1 line up. */
const FIXED_EVAL_COLUMNS = ['knn_top1', 'knn_top5'];

export function metricsColumns(rows: readonly EpochRow[]): string[] {
  const extra = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.eval)) if (!FIXED_EVAL_COLUMNS.includes(name)) extra.add(name);
  return ['epoch', 'steps', 'loss', 'lr', ...FIXED_EVAL_COLUMNS, ...[...extra].sort(), 'epoch_seconds', 'data_seconds', 'eval_seconds', 'images_per_second'];
}

/** Timings are rounded to milliseconds; losses, lrs and accuracies keep every digit (exact round trip). */
const seconds = (value: number): string => String(Math.round(value * 1000) / 1000);

export function metricsCsv(rows: readonly EpochRow[]): string {
  const columns = metricsColumns(rows);
  const lines = [columns.join(',')];
  for (const row of rows) {
    lines.push(columns.map((column) => {
      switch (column) {
        case 'epoch': return String(row.epoch);
        case 'steps': return String(row.steps);
        case 'loss': return row.loss === null ? '' : String(row.loss);
        case 'lr': return row.lr === null ? '' : String(row.lr);
        case 'epoch_seconds': return seconds(row.epoch_seconds);
        case 'data_seconds': return seconds(row.data_seconds);
        case 'eval_seconds': return seconds(row.eval_seconds);
        case 'images_per_second': return String(Math.round(row.images_per_second * 10) / 10);
        default: return column in row.eval ? String(row.eval[column]) : '';
      }
    }).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export interface MetricsTable {
  file: string;
  columns: string[];
  /** One entry per row; an empty cell is null. */
  rows: Record<string, number | null>[];
}

/** Reads a metrics.csv written by the runner; a malformed file is one UserError naming file:line. */
export function readMetricsCsv(file: string): MetricsTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read metrics (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected a metrics.csv written by \`ssl-bench run\``);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || !lines[0].split(',').includes('epoch')) {
    throw new UserError(`${file}:1:1 header: missing "epoch" column; expected a metrics.csv written by \`ssl-bench run\``);
  }
  const columns = lines[0].split(',');
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) {
      throw new UserError(`${file}:${i + 2}:1 row: ${cells.length} cells; expected ${columns.length} (one per header column)`);
    }
    const row: Record<string, number | null> = {};
    cells.forEach((cell, c) => {
      if (cell === '') { row[columns[c]] = null; return; }
      const value = Number(cell);
      if (!Number.isFinite(value)) throw new UserError(`${file}:${i + 2}:${line.split(',').slice(0, c).join(',').length + (c > 0 ? 2 : 1)} ${columns[c]}: "${cell}" is not a number; expected a finite number or an empty cell`);
      row[columns[c]] = value;
    });
    return row;
  });
  return { file, columns, rows };
}
