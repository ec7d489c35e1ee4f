import * as fs from 'node:fs';
import { UserError } from '../errors';
import { CsvSyntaxError, IDENTITY_COLUMNS, parseCsv } from './csv';
import { formatFixed } from './format';
import { modelName } from './columns';
import type { RunGroup } from './group';
import { METRIC_NAME } from './summary';

/**
 * The regression gate: a baseline CSV (as written by `table --format csv`) against current runs.
 * Accuracies (higher is better) use absolute tolerances in fraction units; runtime and memory
 * (lower is better) are only reported unless a tolerance is given for them, which is relative.
 */

export const AMOUNT_METRICS = ['runtime_minutes', 'peak_memory_gb'] as const;
/** Baseline columns that carry neither identity nor a gated value. */
const INFORMATIONAL_COLUMNS = new Set(['runs', 'seeds', 'method', 'tensorboard', 'checkpoint']);

/** A row's identity; batchSize is null for a run without pretraining (epochs 0: no training batch). */
export interface RowKey { model: string; backbone: string; batchSize: number | null; epochs: number; dataset: string }

export interface BaselineRow {
  key: RowKey;
  line: number;
  /** Metric name -> baseline value (empty cells are left out). */
  values: Map<string, number>;
}

export interface Baseline { file: string; metrics: string[]; rows: BaselineRow[] }

export type ComparisonStatus = 'OK' | 'REGRESSION' | 'IMPROVED' | 'MISSING' | 'INFO';

export interface MetricComparison {
  key: RowKey;
  metric: string;
  baseline: number;
  current: number | null;
  delta: number | null;
  /** Null when the metric is reported but not gated. */
  tolerance: number | null;
  relative: boolean;
  status: ComparisonStatus;
}

export interface ComparisonResult {
  comparisons: MetricComparison[];
  /** Current rows the baseline does not list (reported, never a failure). */
  notInBaseline: RowKey[];
  passed: boolean;
}

export interface CompareOptions {
  /** Absolute tolerance for every accuracy metric (fraction units). */
  tolerance: number;
  /** Per-metric tolerances; for runtime_minutes / peak_memory_gb a relative one (0.1 = 10 %). */
  tolerances: Record<string, number>;
}

/** Float noise allowance: a drop of exactly the tolerance passes. */
const EPSILON = 1e-9;

export function readBaseline(file: string): Baseline {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read baseline (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected a CSV written by \`ssl-bench table --format csv\``);
  }
  return parseBaseline(text, file);
}

export function parseBaseline(text: string, file: string): Baseline {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (!(err instanceof CsvSyntaxError)) throw err;
    throw new UserError(`${file}:${err.line}:${err.col} invalid CSV: ${err.what}`);
  }
  if (records.length === 0) throw new UserError(`${file}:1:1 empty baseline; expected a header row and one row per run group, as written by \`ssl-bench table --format csv\``);
  const [header, ...body] = records;
  const names = header.map((f) => f.text);
  const at = (f: { line: number; col: number }): string => `${file}:${f.line}:${f.col}`;
  for (const id of IDENTITY_COLUMNS) {
    if (!names.includes(id)) {
      const old = id === 'dataset' ? '; baselines written before rows were matched by dataset lack it: add a dataset column (the summary\'s dataset id, e.g. cifar10)' : '';
      throw new UserError(`${file}:1:1 header: missing column "${id}"; a baseline needs ${IDENTITY_COLUMNS.join(', ')} (as written by \`ssl-bench table --format csv\`)${old}`);
    }
  }
  const seen = new Set<string>();
  header.forEach((f) => {
    if (seen.has(f.text)) throw new UserError(`${at(f)} header: duplicate column "${f.text}"; each column once`);
    seen.add(f.text);
  });
  const metricColumns: number[] = [];
  header.forEach((f, index) => {
    const name = f.text;
    if ((IDENTITY_COLUMNS as readonly string[]).includes(name) || INFORMATIONAL_COLUMNS.has(name) || name.endsWith('_std')) return;
    if (!METRIC_NAME.test(name)) {
      throw new UserError(`${at(f)} header: "${name}" is not a metric name; expected lowercase metric keys such as knn_top1 (write the baseline with \`ssl-bench table --format csv\`)`);
    }
    metricColumns.push(index);
  });
  const rows: BaselineRow[] = [];
  const keys = new Set<string>();
  for (const record of body) {
    const first = record[0];
    if (record.length !== header.length) {
      throw new UserError(`${at(first)} row has ${record.length} fields; expected ${header.length} like the header`);
    }
    const field = (name: string): { text: string; line: number; col: number } => record[names.indexOf(name)];
    const integer = (name: string): number => {
      const f = field(name);
      if (!/^[0-9]+$/.test(f.text)) throw new UserError(`${at(f)} ${name}: got "${f.text}"; expected a positive integer`);
      return Number(f.text);
    };
    const textField = (name: string): string => {
      const f = field(name);
      if (f.text === '') throw new UserError(`${at(f)} ${name}: empty; expected a non-empty value`);
      return f.text;
    };
    const epochs = integer('epochs');
    // A floor row (epochs 0) has no training batch: its cell is empty (older tables wrote a number).
    const batchSize = epochs === 0 && field('batch_size').text === '' ? null : integer('batch_size');
    const key: RowKey = {
      model: textField('model'), backbone: textField('backbone'), batchSize: epochs === 0 ? null : batchSize, epochs, dataset: textField('dataset'),
    };
    const id = rowKeyId(key);
    if (keys.has(id)) throw new UserError(`${at(first)} duplicate row for ${describeKey(key)}; one row per run group`);
    keys.add(id);
    const values = new Map<string, number>();
    for (const index of metricColumns) {
      const f = record[index];
      if (f.text === '') continue;
      const value = Number(f.text);
      if (!/^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(f.text) || !Number.isFinite(value)) {
        throw new UserError(`${at(f)} ${names[index]}: got "${f.text}"; expected a number or an empty cell`);
      }
      values.set(names[index], value);
    }
    rows.push({ key, line: first.line, values });
  }
  return { file, metrics: metricColumns.map((i) => names[i]), rows };
}

const rowKeyId = (key: RowKey): string => JSON.stringify([key.model, key.backbone, key.batchSize, key.epochs, key.dataset]);

export function describeKey(key: RowKey): string {
  return `${key.model} ${key.backbone} ${key.batchSize === null ? 'no batch' : `batch ${key.batchSize}`} epochs ${key.epochs} ${key.dataset}`;
}

function groupRowKey(group: RunGroup): RowKey {
  return {
    model: modelName(group), backbone: group.key.backboneLabel, batchSize: group.key.epochs === 0 ? null : group.key.batchSize,
    epochs: group.key.epochs, dataset: group.key.dataset,
  };
}

function currentValue(group: RunGroup, metric: string): number | null {
  if (metric === 'runtime_minutes') return group.runtimeMinutes;
  if (metric === 'peak_memory_gb') return group.peakMemoryGb;
  return group.metrics[metric]?.mean ?? null;
}

export function compareToBaseline(groups: readonly RunGroup[], baseline: Baseline, options: CompareOptions): ComparisonResult {
  const current = new Map<string, RunGroup>();
  for (const group of groups) {
    current.set(rowKeyId(groupRowKey(group)), group);
  }
  const comparisons: MetricComparison[] = [];
  const matched = new Set<string>();
  for (const row of baseline.rows) {
    const id = rowKeyId(row.key);
    const group = current.get(id);
    if (group) matched.add(id);
    for (const [metric, base] of row.values) {
      const isAmount = (AMOUNT_METRICS as readonly string[]).includes(metric);
      const tolerance = options.tolerances[metric] ?? (isAmount ? null : options.tolerance);
      const value = group ? currentValue(group, metric) : null;
      if (value === null) {
        comparisons.push({ key: row.key, metric, baseline: base, current: null, delta: null, tolerance, relative: isAmount, status: isAmount && tolerance === null ? 'INFO' : 'MISSING' });
        continue;
      }
      const delta = value - base;
      let status: ComparisonStatus;
      if (tolerance === null) status = 'INFO';
      else if (isAmount) {
        // Lower is better; the tolerance is a fraction of the baseline.
        const limit = Math.abs(base) * tolerance + EPSILON;
        status = delta > limit ? 'REGRESSION' : delta < -limit ? 'IMPROVED' : 'OK';
      } else {
        const limit = tolerance + EPSILON;
        status = delta < -limit ? 'REGRESSION' : delta > limit ? 'IMPROVED' : 'OK';
      }
      comparisons.push({ key: row.key, metric, baseline: base, current: value, delta, tolerance, relative: isAmount, status });
    }
  }
  const notInBaseline = groups.map((g) => groupRowKey(g)).filter((k) => !matched.has(rowKeyId(k)));
  const passed = comparisons.every((c) => c.status !== 'REGRESSION' && c.status !== 'MISSING');
  return { comparisons, notInBaseline, passed };
}

/** Parses repeated `--tolerance-for name=value` entries. */
export function parseTolerances(entries: readonly string[]): Record<string, number> {
  const tolerances: Record<string, number> = {};
  for (const entry of entries) {
    const match = /^([a-z][a-z0-9_]*)=(.*)$/.exec(entry);
    const value = match ? Number(match[2]) : NaN;
    if (!match || match[2].trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new UserError(`--tolerance-for ${entry}: expected metric=number with a number >= 0, e.g. knn_top1=0.02 or runtime_minutes=0.2 (relative)`);
    }
    tolerances[match[1]] = value;
  }
  return tolerances;
}

function formatNumber(metric: string, value: number, signed = false): string {
  const digits = (AMOUNT_METRICS as readonly string[]).includes(metric) ? 2 : 4;
  // A difference that rounds to zero prints as +0.00, not -0.00 (float noise from averaging seeds).
  const text = formatFixed(value, digits).replace(/^-(?=[0.]*$)/, '');
  return signed && !text.startsWith('-') ? `+${text}` : text;
}

function formatTolerance(c: MetricComparison): string {
  if (c.tolerance === null) return 'not gated';
  return c.relative ? `${formatFixed(c.tolerance * 100, 1)}%` : formatFixed(c.tolerance, 4);
}

/** An aligned plain-text diff, one line per baseline metric, and a closing verdict line. */
export function renderComparison(result: ComparisonResult, baseline: Baseline): string {
  const header = ['Model', 'Backbone', 'Batch', 'Epochs', 'Dataset', 'Metric', 'Baseline', 'Current', 'Delta', 'Tolerance', 'Status'];
  const right = new Set(['Batch', 'Epochs', 'Baseline', 'Current', 'Delta', 'Tolerance']);
  const rows = result.comparisons.map((c) => [
    c.key.model, c.key.backbone, c.key.batchSize === null ? '-' : String(c.key.batchSize), String(c.key.epochs), c.key.dataset,
    c.metric, formatNumber(c.metric, c.baseline), c.current === null ? '-' : formatNumber(c.metric, c.current),
    c.delta === null ? '-' : formatNumber(c.metric, c.delta, true), formatTolerance(c), c.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (right.has(header[i]) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const key of result.notInBaseline) out.push(`not in baseline (not gated): ${describeKey(key)}`);
  const count = (s: ComparisonStatus): number => result.comparisons.filter((c) => c.status === s).length;
  out.push(`${result.passed ? 'PASS' : 'FAIL'}: ${result.comparisons.length} values compared against ${baseline.file}: ${count('OK')} OK, ${count('IMPROVED')} IMPROVED, ${count('REGRESSION')} REGRESSION, ${count('MISSING')} MISSING, ${count('INFO')} not gated`);
  return `${out.join('\n')}\n`;
}
