import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as VegaModule from 'vega';
import { UserError } from '../errors';
import { readMetricsCsv } from '../runner/metrics-csv';
import { REPLACED_RUN_NAME } from './collect';
import { readSummary } from './summary';

/**
 * Curves over epochs from runs' metrics.csv files (kNN accuracy as on the benchmarks page, loss,
 * lr, throughput): one line per run, drawn as a Vega spec rendered headless to SVG, and to PNG by
 * sharp. No browser, no canvas: Vega's own SVG renderer with estimated text widths.
 */

export const METRICS_FILE = 'metrics.csv';
const SUMMARY_FILE = 'summary.json';

export interface PlotSeries {
  label: string;
  file: string;
  points: { epoch: number; value: number }[];
  /**
   * A run without pretraining (method none, the floor rows: one value, at epoch 0), drawn as a
   * dashed level line from epoch 0 to the last epoch of the other runs.
   */
  level?: boolean;
}

export interface PlotOptions {
  metric: string;
  title?: string;
  /** Size of the plotting area in px; axes, title and legend add to it. */
  width: number;
  height: number;
}

const AXIS_TITLES: Record<string, string> = {
  knn_top1: 'kNN top-1 accuracy',
  knn_top5: 'kNN top-5 accuracy',
  online_linear_top1: 'online linear top-1 accuracy',
  loss: 'training loss',
  lr: 'learning rate',
  images_per_second: 'images / s',
  epoch_seconds: 'seconds per epoch',
};

export function axisTitle(metric: string): string {
  return AXIS_TITLES[metric] ?? metric;
}

function findMetricsFiles(input: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new UserError(`${input}: no such file or directory; expected a run directory, a results folder or a metrics.csv`);
  }
  if (stat.isFile()) return [input];
  const walk = (dir: string): string[] => {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.name === METRICS_FILE && e.isFile())) return [path.join(dir, METRICS_FILE)];
    return entries.filter((e) => e.isDirectory() && !REPLACED_RUN_NAME.test(e.name)).map((e) => e.name).sort().flatMap((name) => walk(path.join(dir, name)));
  };
  const files = walk(input);
  if (files.length === 0) throw new UserError(`${input}: no ${METRICS_FILE} found in this folder or below; expected run directories written by \`ssl-bench run\``);
  return files;
}

interface RunIdentity { label: string; seed: number | null; dirName: string; backbone: string | null; batchSize: number | null; epochs: number | null }

function identify(metricsFile: string): RunIdentity {
  const dir = path.dirname(path.resolve(metricsFile));
  const parent = path.basename(path.dirname(dir));
  const dirName = /^seed\d+$/.test(path.basename(dir)) ? `${parent}/${path.basename(dir)}` : path.basename(dir);
  const summaryFile = path.join(dir, SUMMARY_FILE);
  if (!fs.existsSync(summaryFile)) return { label: dirName, seed: null, dirName, backbone: null, batchSize: null, epochs: null };
  const summary = readSummary(summaryFile);
  return { label: `${summary.label}${summary.marker}`, seed: summary.seed, dirName, backbone: summary.backbone_label, batchSize: summary.batch_size, epochs: summary.epochs };
}

/**
 * A legend label that tells apart runs sharing a table label: the backbone, batch size and/or
 * epochs where those differ (as the tables' columns would), then the seed, or else the directory name.
 */
function distinctLabel(id: RunIdentity, ids: readonly RunIdentity[]): string {
  const group = ids.filter((other) => other.label === id.label);
  if (group.length < 2) return id.label;
  const varies = (key: 'backbone' | 'batchSize' | 'epochs'): boolean => new Set(group.map((other) => other[key])).size > 1;
  const parts = [
    ...(varies('backbone') ? [`${id.backbone}`] : []), ...(varies('batchSize') ? [`bs ${id.batchSize}`] : []), ...(varies('epochs') ? [`${id.epochs} ep`] : []),
  ];
  const label = parts.length > 0 ? `${id.label} (${parts.join(', ')})` : id.label;
  const twins = group.filter((other) => other.backbone === id.backbone && other.batchSize === id.batchSize && other.epochs === id.epochs);
  if (twins.length < 2) return label;
  const sameSeed = twins.filter((other) => other.seed === id.seed).length > 1;
  return id.seed === null || sameSeed ? `${label} (${id.dirName})` : `${label} seed ${id.seed}`;
}

/** One series per metrics.csv under `inputs`, labelled by the run's summary (label + marker; distinctLabel). */
export function collectSeries(inputs: readonly string[], metric: string): PlotSeries[] {
  const files = inputs.flatMap(findMetricsFiles);
  const ids = files.map(identify);
  const series: PlotSeries[] = files.map((file, i) => {
    const table = readMetricsCsv(file);
    if (!table.columns.includes(metric)) {
      throw new UserError(`${file}: no "${metric}" column; --metric accepts ${table.columns.filter((c) => c !== 'epoch').join(', ')}`);
    }
    const points = table.rows.flatMap((row) => (row[metric] === null || row.epoch === null ? [] : [{ epoch: row.epoch, value: row[metric] as number }]));
    return { label: distinctLabel(ids[i], ids), file, points };
  });
  const drawn = series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) throw new UserError(`${metric}: no values in ${files.join(', ')}; choose a metric the runs recorded (e.g. --metric loss)`);
  const isFloor = (s: PlotSeries): boolean => s.points.length === 1 && s.points[0].epoch === 0;
  const lastEpoch = Math.max(0, ...drawn.filter((s) => !isFloor(s)).flatMap((s) => s.points.map((p) => p.epoch)));
  if (lastEpoch > 0) {
    for (const s of drawn.filter(isFloor)) {
      s.points = [s.points[0], { epoch: lastEpoch, value: s.points[0].value }];
      s.level = true;
    }
  }
  return drawn;
}

/** The Vega spec: a line (and a dot per epoch) for each series, colour legend by label. */
export function plotSpec(series: readonly PlotSeries[], options: PlotOptions): Record<string, unknown> {
  const values = series.flatMap((s) => s.points.map((p) => ({ run: s.label, epoch: p.epoch, value: p.value, level: s.level === true })));
  const position = { x: { scale: 'x', field: 'epoch' }, y: { scale: 'y', field: 'value' } };
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: options.width,
    height: options.height,
    padding: 8,
    autosize: { type: 'pad' },
    background: 'white',
    title: { text: options.title ?? `${axisTitle(options.metric)} vs epoch`, fontSize: 14 },
    data: [{ name: 'points', values }],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 'epoch' }, range: 'width', zero: false, nice: false },
      { name: 'y', type: 'linear', domain: { data: 'points', field: 'value' }, range: 'height', zero: false, nice: true },
      // category has 10 colours; more series would repeat them.
      { name: 'color', type: 'ordinal', domain: series.map((s) => s.label), range: series.length > 10 ? { scheme: 'tableau20' } : 'category' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'epoch', tickMinStep: 1, format: 'd' },
      { orient: 'left', scale: 'y', title: axisTitle(options.metric), grid: true },
    ],
    legends: [{ stroke: 'color', fill: 'color', title: 'run', symbolType: 'stroke', orient: 'right', labelLimit: 320 }],
    marks: [{
      type: 'group',
      from: { facet: { name: 'series', data: 'points', groupby: 'run' } },
      marks: [
        {
          type: 'line', from: { data: 'series' },
          encode: { enter: { ...position, stroke: { scale: 'color', field: 'run' }, strokeWidth: { value: 2 }, strokeDash: [{ test: 'datum.level', value: [6, 4] }, { value: [] }] } },
        },
        {
          type: 'symbol', from: { data: 'series' },
          encode: { enter: { ...position, fill: { scale: 'color', field: 'run' }, size: [{ test: 'datum.level', value: 0 }, { value: 18 }] } },
        },
      ],
    }],
  };
}

type Vega = typeof VegaModule;

/**
 * Vega's package entry is an ES module with top-level await, which neither require() nor jest's
 * CommonJS loader can take. Its UMD bundle is the same library in one file, but the package's
 * "type": "module" makes Node load that file as ESM too (and then the bundle exports nothing), so
 * the bundle's source is evaluated with CommonJS `module`/`exports` bindings instead.
 */
let vegaLibrary: Vega | null = null;
function loadVega(): Vega {
  if (vegaLibrary === null) {
    const bundle = path.join(path.dirname(require.resolve('vega')), 'vega.js');
    const cjs = { exports: {} as Vega };
    new Function('exports', 'module', fs.readFileSync(bundle, 'utf8'))(cjs.exports, cjs);
    vegaLibrary = cjs.exports;
  }
  return vegaLibrary;
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = loadVega();
  const view = new vega.View(vega.parse(spec as VegaModule.Spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string, scale: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale }).png().toBuffer();
}
