import { UserError } from '../errors';
import { formatFixed } from './format';
import type { RunGroup } from './group';
import { KNOWN_METRICS } from './summary';

/**
 * Table columns: how one run group becomes a display cell (RST / Markdown) and raw CSV values.
 * Display formats follow the benchmarks page (docs/methods.md §6.1): fractions with 3 decimals,
 * ImageNet1k percentages with 1 decimal, `97.7 Min`, `1.5 GByte`, mean ± std for several seeds.
 */

export interface CellContext {
  /** Link text template for Tensorboard/Checkpoint cells; `{kind}` and `{name}` are substituted. */
  linkText: string;
  /** Writes a link cell in the output markup. */
  link(text: string, url: string): string;
}

export interface Column {
  /** The id used in --columns. */
  id: string;
  header: string;
  align: 'left' | 'right';
  /** CSV header names, one per raw value. */
  csvKeys: string[];
  /** Metric this column shows, if any (the regression gate reads it back from CSV). */
  metric?: string;
  display(group: RunGroup, ctx: CellContext): string;
  raw(group: RunGroup): string[];
}

/** Text of a cell with no value. */
export const EMPTY_CELL = '-';

/** CSV decimals: enough for a regression gate with tolerances of 0.001. */
const CSV_ACCURACY_DIGITS = 4;
const CSV_AMOUNT_DIGITS = 2;

const METRIC_WORDS: Record<string, [string, string]> = {
  knn: ['kNN', 'kNN'],
  linear: ['Linear', 'Linear'],
  finetune: ['Finetune', 'Finetune'],
  online_linear: ['Online Linear', 'Online Linear'],
};

/** "knn_top1" -> "kNN Top 1" (small-dataset tables) or "kNN Top1" (ImageNet1k table). */
export function metricHeader(metric: string, compact: boolean): string {
  const match = /^(.*)_top(\d+)(_final)?$/.exec(metric);
  if (!match || !METRIC_WORDS[match[1]]) return metric;
  const words = METRIC_WORDS[match[1]][compact ? 1 : 0];
  return `${words} Top${compact ? '' : ' '}${match[2]}${match[3] ? ' (final)' : ''}`;
}

export function modelName(group: RunGroup): string {
  const name = `${group.key.label}${group.key.marker}`;
  return group.key.diverged ? `${name} (diverged)` : group.key.smoke ? `${name} (smoke)` : name;
}

/** The model label without footnote markers (`*`, `\*`), as used in link texts. */
export function plainModelName(group: RunGroup): string {
  return `${group.key.label}${group.key.marker}`.replace(/\\?\*/g, '').replace(/\s+/g, ' ').trim();
}

const text = (id: string, header: string, value: (g: RunGroup) => string, align: 'left' | 'right' = 'left'): Column => ({
  id, header, align, csvKeys: [id],
  display: (g) => value(g),
  raw: (g) => [value(g)],
});

function accuracyColumn(metric: string, percent: boolean): Column {
  const scale = percent ? 100 : 1;
  const digits = percent ? 1 : 3;
  return {
    id: percent ? `${metric}_pct` : metric,
    header: metricHeader(metric, percent),
    align: 'right',
    csvKeys: [metric, `${metric}_std`],
    metric,
    display(g) {
      const stats = g.metrics[metric];
      if (!stats) return EMPTY_CELL;
      const mean = formatFixed(stats.mean * scale, digits);
      return stats.n > 1 ? `${mean} ± ${formatFixed(stats.std * scale, digits)}` : mean;
    },
    raw(g) {
      const stats = g.metrics[metric];
      if (!stats) return ['', ''];
      return [formatFixed(stats.mean, CSV_ACCURACY_DIGITS), formatFixed(stats.std, CSV_ACCURACY_DIGITS)];
    },
  };
}

function amountColumn(id: string, header: string, unit: string, pick: (g: RunGroup) => number | null): Column {
  return {
    id, header, align: 'right', csvKeys: [id], metric: id,
    display(g) {
      const value = pick(g);
      return value === null ? EMPTY_CELL : `${formatFixed(value, 1)} ${unit}`;
    },
    raw(g) {
      const value = pick(g);
      return [value === null ? '' : formatFixed(value, CSV_AMOUNT_DIGITS)];
    },
  };
}

function linkColumn(kind: 'tensorboard' | 'checkpoint', header: string): Column {
  return {
    id: kind, header, align: 'left', csvKeys: [kind],
    display(g, ctx) {
      const target = g.links[kind];
      if (target === undefined) return EMPTY_CELL;
      if (!/^https?:\/\//.test(target)) return target;
      return ctx.link(ctx.linkText.replace(/\{kind\}/g, kind).replace(/\{name\}/g, plainModelName(g)), target);
    },
    raw: (g) => [g.links[kind] ?? ''],
  };
}

const FIXED_COLUMNS: Record<string, () => Column> = {
  model: () => text('model', 'Model', modelName),
  method: () => text('method', 'Method', (g) => [...new Set(g.runs.map((r) => r.method))].join('+')),
  backbone: () => text('backbone', 'Backbone', (g) => g.key.backboneLabel),
  // A run without pretraining (epochs 0, the floor rows) has no training batch: '-' in the
  // table, an empty CSV cell (compare matches such rows by epochs 0 alone).
  batch_size: () => ({
    ...text('batch_size', 'Batch Size', (g) => String(g.key.batchSize), 'right'),
    display: (g) => (g.key.epochs === 0 ? EMPTY_CELL : String(g.key.batchSize)),
    raw: (g) => [g.key.epochs === 0 ? '' : String(g.key.batchSize)],
  }),
  epochs: () => text('epochs', 'Epochs', (g) => String(g.key.epochs), 'right'),
  dataset: () => text('dataset', 'Dataset', (g) => g.key.dataset),
  seeds: () => text('seeds', 'Seeds', (g) => g.runs.map((r) => r.seed).sort((a, b) => a - b).join(' '), 'right'),
  runtime_minutes: () => amountColumn('runtime_minutes', 'Runtime', 'Min', (g) => g.runtimeMinutes),
  peak_memory_gb: () => amountColumn('peak_memory_gb', 'GPU Memory', 'GByte', (g) => g.peakMemoryGb),
  tensorboard: () => linkColumn('tensorboard', 'Tensorboard'),
  checkpoint: () => linkColumn('checkpoint', 'Checkpoint'),
};
const ALIASES: Record<string, string> = { runtime: 'runtime_minutes', memory: 'peak_memory_gb', batch: 'batch_size' };

/**
 * Resolves one --columns entry: `id` or `id=Header`. Metric ids are metric names (fraction,
 * 3 decimals) or `<metric>_pct` (percent, 1 decimal); `knownMetrics` are the names allowed.
 */
export function resolveColumn(spec: string, knownMetrics: readonly string[]): Column {
  const eq = spec.indexOf('=');
  const rawId = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const header = eq < 0 ? undefined : spec.slice(eq + 1).trim();
  const id = ALIASES[rawId] ?? rawId;
  const metrics = new Set<string>([...KNOWN_METRICS, ...knownMetrics]);
  let column: Column;
  if (FIXED_COLUMNS[id]) column = FIXED_COLUMNS[id]();
  else if (metrics.has(id)) column = accuracyColumn(id, false);
  else if (id.endsWith('_pct') && metrics.has(id.slice(0, -4))) column = accuracyColumn(id.slice(0, -4), true);
  else {
    throw new UserError(`--columns: unknown column "${rawId}"; allowed: ${[...Object.keys(FIXED_COLUMNS), ...metrics].join(', ')} (metric ids also as <metric>_pct; rename with id=Header)`);
  }
  return header ? { ...column, header } : column;
}

export interface Preset {
  columns: string[];
  /** Caption and widths for a table whose rows all come from `dataset` (undefined: mixed). */
  caption(dataset: string | undefined): string;
  widths(dataset: string | undefined): number[];
}

const SUITE_CAPTIONS: Record<string, string> = {
  cifar10: 'CIFAR-10 benchmark results',
  'cifar10-folder': 'CIFAR-10 benchmark results',
  imagenette: 'Imagenette benchmark results',
  imagenet100: 'Imagenet100 benchmark results',
  imagenet1k: 'Imagenet benchmark results.',
  'fashion-mnist': 'Fashion-MNIST benchmark results',
  'embedded-fashion-mnist': 'Fashion-MNIST benchmark results',
  stl10: 'STL-10 benchmark results',
};

export const PRESETS: Record<string, Preset> = {
  small: {
    columns: ['model', 'backbone', 'batch_size', 'epochs', 'knn_top1', 'runtime_minutes', 'peak_memory_gb'],
    caption: (dataset) => (dataset === undefined ? 'Benchmark results' : SUITE_CAPTIONS[dataset] ?? `${dataset} benchmark results`),
    // The CIFAR-10 block of the page gives the kNN column width 30; the other suites use 20.
    widths: (dataset) => (dataset === 'cifar10' || dataset === 'cifar10-folder' ? [20, 20, 20, 20, 30, 20, 20] : [20, 20, 20, 20, 20, 20, 20]),
  },
  imagenet1k: {
    columns: ['model', 'backbone', 'batch_size', 'epochs', 'linear_top1_pct', 'linear_top5_pct', 'finetune_top1_pct',
      'finetune_top5_pct', 'knn_top1_pct', 'knn_top5_pct', 'tensorboard', 'checkpoint'],
    caption: () => SUITE_CAPTIONS.imagenet1k,
    widths: () => new Array<number>(12).fill(20),
  },
};
