import { UserError } from '../errors';
import type { CollectedRun } from './collect';
import { PRESETS, modelName, resolveColumn, type Column } from './columns';
import { groupRuns, type RunGroup } from './group';

/** A table ready for a writer: resolved columns, widths, caption and ordered run groups. */
export interface Table {
  title: string;
  columns: Column[];
  widths: number[];
  groups: RunGroup[];
  footnotes: string[];
  linkText: string;
}

export interface TableOptions {
  /** Named column set: "small" or "imagenet1k"; default imagenet1k when every run is on imagenet1k. */
  preset?: string;
  /** Custom column ids (`id` or `id=Header`); replaces the preset's columns. */
  columns?: string[];
  widths?: number[];
  title?: string;
  /** Model labels (with or without marker) in the wanted row order. */
  order?: string[];
  includeDiverged?: boolean;
  /** Also show smoke runs (status smoke: stopped by train.max_steps), marked "(smoke)". */
  includeSmoke?: boolean;
  /** Link text template for link columns; `{kind}` and `{name}` are substituted. */
  linkText?: string;
  /** Paragraphs written after the table, verbatim. */
  footnotes?: string[];
}

export const DEFAULT_LINK_TEXT = 'link';

export function buildTable(runs: readonly CollectedRun[], options: TableOptions = {}): Table {
  const shown = runs.filter((r) => r.summary.status === 'finished'
    || (options.includeDiverged && r.summary.status === 'diverged')
    || (options.includeSmoke && r.summary.status === 'smoke'));
  if (shown.length === 0) {
    const counts = new Map<string, number>();
    for (const r of runs) counts.set(r.summary.status, (counts.get(r.summary.status) ?? 0) + 1);
    const found = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
    const hints = [
      options.includeDiverged ? null : 'add --include-diverged to show diverged ones',
      options.includeSmoke ? null : counts.has('smoke') ? 'add --include-smoke to show --max-steps smoke runs' : null,
    ].filter((h) => h !== null);
    throw new UserError(`no finished runs to tabulate (found ${found}); tables show finished runs${options.includeDiverged ? ' and diverged ones' : ''}${hints.length ? ` (${hints.join('; ')})` : ''}`);
  }
  const groups = orderGroups(groupRuns(shown), options.order);
  const datasets = [...new Set(groups.map((g) => g.key.dataset))];
  const dataset = datasets.length === 1 ? datasets[0] : undefined;

  const presetName = options.preset ?? (dataset === 'imagenet1k' ? 'imagenet1k' : 'small');
  const preset = PRESETS[presetName];
  if (!preset) throw new UserError(`--preset: unknown preset "${presetName}"; allowed: ${Object.keys(PRESETS).join(', ')}`);

  const metricNames = [...new Set(shown.flatMap((r) => Object.keys(r.summary.metrics)))];
  const columns = (options.columns ?? preset.columns).map((spec) => resolveColumn(spec, metricNames));
  if (columns.length === 0) throw new UserError('--columns: empty list; give at least one column id');
  const cpuMemory = groups.some((g) => g.memoryKind !== 'device');
  const labelled = columns.map((c) => (c.id === 'peak_memory_gb' && c.header === 'GPU Memory' && cpuMemory ? { ...c, header: 'Memory (RSS)' } : c));

  const defaultWidths = options.columns ? new Array<number>(columns.length).fill(20) : preset.widths(dataset);
  const widths = options.widths ?? defaultWidths;
  if (widths.length !== columns.length) {
    throw new UserError(`--widths: ${widths.length} values for ${columns.length} columns; give one positive integer per column`);
  }
  return {
    title: options.title ?? preset.caption(dataset),
    columns: labelled,
    widths,
    groups,
    footnotes: options.footnotes ?? [],
    linkText: options.linkText ?? DEFAULT_LINK_TEXT,
  };
}

/**
 * Rows follow the inputs as given on the command line; within one input they follow `order`
 * (labels not listed come after, alphabetically) or, without `order`, the label alphabetically.
 */
export function orderGroups(groups: readonly RunGroup[], order?: readonly string[]): RunGroup[] {
  const position = (g: RunGroup): number => {
    if (!order) return 0;
    const full = `${g.key.label}${g.key.marker}`;
    const byFull = order.indexOf(full);
    if (byFull >= 0) return byFull;
    const byLabel = order.indexOf(g.key.label);
    return byLabel >= 0 ? byLabel : order.length;
  };
  if (order) {
    for (const entry of order) {
      if (!groups.some((g) => `${g.key.label}${g.key.marker}` === entry || g.key.label === entry)) {
        throw new UserError(`--order: "${entry}" matches no model in the results; use the labels the table shows (${[...new Set(groups.map(modelName))].join(', ')})`);
      }
    }
  }
  const compareText = (a: string, b: string): number => {
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    if (la !== lb) return la < lb ? -1 : 1;
    return a === b ? 0 : a < b ? -1 : 1;
  };
  return [...groups].sort((a, b) =>
    a.inputIndex - b.inputIndex
    || position(a) - position(b)
    || compareText(`${a.key.label}${a.key.marker}`, `${b.key.label}${b.key.marker}`)
    || compareText(a.key.dataset, b.key.dataset)
    || compareText(a.key.backboneLabel, b.key.backboneLabel)
    || a.key.batchSize - b.key.batchSize
    || a.key.epochs - b.key.epochs
    || Number(a.key.diverged) - Number(b.key.diverged)
    || Number(a.key.smoke) - Number(b.key.smoke));
}

/** Parses an --order value: a file with one label per line (# comments) or a comma-separated list. */
export function parseOrderList(text: string, fromFile: boolean): string[] {
  const entries = fromFile
    ? text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return entries;
}
