import { UserError } from '../errors';
import type { CollectedRun } from './collect';
import { differingFields, experimentIdentity } from './experiment';
import type { RunSummary } from './summary';

/** Runs that differ only by seed form one table row (docs/methods.md §5.5). */
export interface GroupKey {
  label: string;
  marker: string;
  backboneLabel: string;
  batchSize: number;
  epochs: number;
  dataset: string;
  diverged: boolean;
  /** A --max-steps run (status smoke): shown only on request, never merged with real results. */
  smoke: boolean;
}

export interface MetricStats {
  mean: number;
  /** Population standard deviation (ddof 0), as numpy.std. */
  std: number;
  /** Number of runs that reported the metric. */
  n: number;
}

export interface RunGroup {
  key: GroupKey;
  runs: RunSummary[];
  /** Smallest input index of the group's runs. */
  inputIndex: number;
  metrics: Record<string, MetricStats>;
  /** Mean over runs, or null when no run measured it. */
  runtimeMinutes: number | null;
  /** Maximum over runs, or null when no run measured it. */
  peakMemoryGb: number | null;
  memoryKind: RunSummary['memory_kind'];
  links: NonNullable<RunSummary['links']>;
}

export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

export function groupKeyOf(summary: RunSummary): GroupKey {
  return {
    label: summary.label,
    marker: summary.marker,
    backboneLabel: summary.backbone_label,
    batchSize: summary.batch_size,
    epochs: summary.epochs,
    dataset: summary.dataset,
    diverged: summary.status === 'diverged',
    smoke: summary.status === 'smoke',
  };
}

function rowText(key: GroupKey): string {
  return `${key.label}${key.marker} ${key.backboneLabel} batch ${key.batchSize} epochs ${key.epochs} ${key.dataset}`;
}

/**
 * Two runs that would print as the same row but are not seeds of one experiment. Averaging them
 * would publish a mean ± std of different settings, so this is an error naming what differs.
 */
function notSeedsError(key: GroupKey, a: CollectedRun, b: CollectedRun): UserError {
  const ea = a.experiment ?? experimentIdentity(a.summary, null);
  const eb = b.experiment ?? experimentIdentity(b.summary, null);
  let what: string;
  if (ea.config !== null && eb.config !== null) {
    const fields = differingFields(ea.config, eb.config);
    what = fields.length > 0
      ? `their configs differ in ${fields.slice(0, 6).join(', ')}${fields.length > 6 ? ` and ${fields.length - 6} more` : ''}`
      : `their configs differ beyond the seed (config hashes ${a.summary.config_hash} and ${b.summary.config_hash})`;
  } else {
    what = `their configs differ beyond the seed (config hashes ${a.summary.config_hash} and ${b.summary.config_hash})`;
  }
  return new UserError(`${a.file} and ${b.file} would both be the row "${rowText(key)}", but ${what}; only runs that differ in the seed alone are averaged. Tabulate one of them, or tell them apart with method.label / method.marker`);
}

/**
 * Groups runs by GroupKey, keeping first-appearance order. Runs of one row must be seeds of one
 * experiment (experiment.ts), each seed once; anything else is a UserError, never an average.
 */
export function groupRuns(runs: readonly CollectedRun[]): RunGroup[] {
  const byKey = new Map<string, { key: GroupKey; runs: CollectedRun[] }>();
  for (const run of runs) {
    const key = groupKeyOf(run.summary);
    const id = JSON.stringify(key);
    const entry = byKey.get(id);
    if (!entry) {
      byKey.set(id, { key, runs: [run] });
      continue;
    }
    const first = entry.runs[0];
    const experiment = (r: CollectedRun): string => (r.experiment ?? experimentIdentity(r.summary, null)).id;
    if (experiment(run) !== experiment(first)) throw notSeedsError(key, first, run);
    const twin = entry.runs.find((r) => r.summary.seed === run.summary.seed);
    if (twin) {
      throw new UserError(`${twin.file} and ${run.file} are the same experiment with the same seed ${run.summary.seed} (row "${rowText(key)}"); a seed counts once: tabulate one of them`);
    }
    entry.runs.push(run);
  }
  return [...byKey.values()].map(({ key, runs: members }) => summarizeGroup(key, members));
}

function summarizeGroup(key: GroupKey, members: CollectedRun[]): RunGroup {
  const summaries = members.map((m) => m.summary);
  const metricNames = [...new Set(summaries.flatMap((s) => Object.keys(s.metrics)))];
  const metrics: Record<string, MetricStats> = {};
  for (const name of metricNames) {
    const values = summaries.filter((s) => s.metrics[name] !== undefined).map((s) => s.metrics[name].value);
    metrics[name] = { ...meanAndStd(values), n: values.length };
  }
  const runtimes = summaries.map((s) => s.runtime_minutes).filter((v): v is number => v !== null);
  const memories = summaries.map((s) => s.peak_memory_gb).filter((v): v is number => v !== null);
  return {
    key,
    runs: summaries,
    inputIndex: Math.min(...members.map((m) => m.inputIndex)),
    metrics,
    runtimeMinutes: runtimes.length ? meanAndStd(runtimes).mean : null,
    peakMemoryGb: memories.length ? Math.max(...memories) : null,
    memoryKind: summaries.every((s) => s.memory_kind === 'device') ? 'device' : 'process-rss',
    links: summaries.find((s) => s.links)?.links ?? {},
  };
}
