import { configHash, type ResolvedConfig } from '../config';
import { METHOD_IMPLEMENTATIONS } from '../methods';
import { KNOWN_METRICS, type MetricValue, type RunStatus, type RunSummary } from '../report/summary';
import type { LoopState } from './loop-state';
import type { EpochRow } from './metrics-csv';

/** Builds summary.json from the loop state: every number comes from the rows the run produced. */

const GIB = 1024 ** 3;

/** How an epoch-end metric is measured, and whether its max over epochs is what the benchmarks publish. */
function evalProtocol(name: string, config: ResolvedConfig): { protocol: string; published: boolean } {
  const split = `${config.data.dataset} ${config.data.test_split} split`;
  if (name.startsWith('knn_')) return { protocol: `kNN k=${config.eval.knn.k} t=${config.eval.knn.temperature}, ${split}`, published: true };
  if (name.startsWith('online_linear_')) {
    const views = METHOD_IMPLEMENTATIONS.get(config.method.name)?.onlineClassifierViews === 'all' ? 'every view, labels repeated per view' : 'view 0';
    return {
      protocol: `online linear classifier (Linear head on detached training-mode backbone features of ${views}, cross-entropy added to the SSL loss, same optimizer and LR schedule, wd 0), test images with the eval transform, ${split}`,
      published: false,
    };
  }
  return { protocol: `online evaluation "${name}", ${split}`, published: false };
}

/**
 * Every evaluated metric twice: `<name>` = maximum over evaluated epochs (the published protocol for kNN)
 * and `<name>_final` = the last evaluated epoch; each with its protocol spelled out.
 */
export function summaryMetrics(rows: readonly EpochRow[], config: ResolvedConfig): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {};
  const names = [...new Set(rows.flatMap((row) => Object.keys(row.eval)))];
  // Known names first, in the order tables list them; the rest alphabetically.
  names.sort((a, b) => {
    const ia = (KNOWN_METRICS as readonly string[]).indexOf(a);
    const ib = (KNOWN_METRICS as readonly string[]).indexOf(b);
    if (ia !== ib) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib) || a.localeCompare(b);
    return a.localeCompare(b);
  });
  for (const name of names) {
    const evaluated = rows.filter((row) => name in row.eval);
    let best = evaluated[0];
    for (const row of evaluated) if (row.eval[name] > best.eval[name]) best = row;
    const last = evaluated[evaluated.length - 1];
    const { protocol, published } = evalProtocol(name, config);
    const maxLabel = published ? 'published protocol' : 'the reference prints it, does not publish it';
    metrics[name] = { value: best.eval[name], protocol: `${protocol}, max over epochs (${maxLabel}; best at epoch ${best.epoch})` };
    metrics[`${name}_final`] = { value: last.eval[name], protocol: `${protocol}, final epoch (epoch ${last.epoch})` };
  }
  return metrics;
}

export interface SummaryContext {
  config: ResolvedConfig;
  /** Hash of the experiment's resolved config (the run directory's), the same for every seed. */
  configHash: string;
  configFile: string;
  runName: string;
  device: string;
  /** The training step's conv layout on the CPU EP (Training.describe); absent without a step. */
  convLayout?: string;
  versions: RunSummary['versions'];
}

/** Results of Training.postTrainingEvals and how long they took. */
export interface PostTrainingResult {
  metrics: Record<string, MetricValue>;
  seconds: number;
}

export function buildSummary(ctx: SummaryContext, state: LoopState, status: RunStatus, finishedAt: string | null, post: PostTrainingResult | null = null): RunSummary {
  const { config } = ctx;
  const metrics = summaryMetrics(state.rows, config);
  for (const [name, metric] of Object.entries(post?.metrics ?? {})) {
    if (name in metrics) throw new Error(`post-training evaluation metric '${name}' is also an epoch-end evaluation metric`);
    metrics[name] = metric;
  }
  const summary: RunSummary = {
    schema_version: 1,
    status,
    method: config.method.name,
    label: config.method.label,
    marker: config.method.marker,
    backbone: config.backbone.name,
    backbone_label: config.backbone.label,
    dataset: config.data.dataset,
    batch_size: config.train.batch_size,
    epochs: config.train.epochs,
    seed: state.seed,
    metrics,
    runtime_minutes: state.elapsedSeconds / 60,
    peak_memory_gb: state.peakMemoryBytes === null ? null : state.peakMemoryBytes / GIB,
    memory_kind: state.memoryKind,
    device: ctx.device,
    ...(state.threads === null ? {} : { threads: state.threads }),
    ...(ctx.convLayout === undefined ? {} : { conv_layout: ctx.convLayout }),
    config_hash: ctx.configHash,
    config_hash_without_seed: configHash({ ...config, seed: 0, n_runs: 1 }),
    config_file: ctx.configFile,
    run_name: ctx.runName,
    versions: ctx.versions,
    started_at: state.startedAt,
    finished_at: finishedAt,
  };
  if (post !== null && Object.keys(post.metrics).length > 0) summary.post_training_eval_minutes = post.seconds / 60;
  const links = Object.fromEntries(Object.entries(config.report.links).filter(([kind]) => kind === 'tensorboard' || kind === 'checkpoint'));
  if (Object.keys(links).length > 0) summary.links = links;
  return summary;
}
