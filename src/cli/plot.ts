import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { UserError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { collectSeries, plotSpec, renderSvg, svgToPng } from '../report/plot';

interface PlotCommandOptions {
  metric: string;
  out: string;
  title?: string;
  width: number;
  height: number;
  scale: number;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

/** `ssl-bench plot <results...> --metric knn_top1 --out fig.png`: curves over epochs from metrics.csv. */
export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw a metric over epochs for several runs (one line per run) as SVG or PNG')
    .argument('<results...>', 'run directories, results folders (searched recursively) or metrics.csv files')
    .requiredOption('--out <file>', 'output file; .svg or .png')
    .option('--metric <name>', 'metrics.csv column: knn_top1, knn_top5, loss, lr, images_per_second, ...', 'knn_top1')
    .option('--title <text>', 'figure title (default: "<metric> vs epoch")')
    .option('--width <px>', 'width of the plotting area', positiveNumber, 480)
    .option('--height <px>', 'height of the plotting area', positiveNumber, 300)
    .option('--scale <factor>', 'PNG pixel density relative to the SVG size', positiveNumber, 2)
    .action(async (inputs: string[], opts: PlotCommandOptions) => {
      const format = path.extname(opts.out).toLowerCase();
      if (format !== '.svg' && format !== '.png') throw new UserError(`--out ${opts.out}: unknown image format "${format || '(none)'}"; expected a file name ending in .svg or .png`);
      const series = collectSeries(inputs, opts.metric);
      const svg = await renderSvg(plotSpec(series, { metric: opts.metric, title: opts.title, width: opts.width, height: opts.height }));
      writeFileAtomic(opts.out, format === '.svg' ? svg : await svgToPng(svg, opts.scale));
      process.stdout.write(`${opts.out}: ${opts.metric} of ${series.length} run${series.length === 1 ? '' : 's'}\n`);
    });
}
