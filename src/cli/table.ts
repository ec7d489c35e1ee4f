import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { UserError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { collectRuns } from '../report/collect';
import { renderTable, TABLE_FORMATS, type TableFormat } from '../report/render';
import { PRESETS } from '../report/columns';
import { buildTable, DEFAULT_LINK_TEXT, parseOrderList, type Table } from '../report/table';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface TableCommandOptions {
  format: TableFormat;
  title?: string;
  preset?: string;
  columns?: string;
  widths?: string;
  order?: string;
  includeDiverged?: boolean;
  includeSmoke?: boolean;
  linkText: string;
  footnote: string[];
  footnoteFile: string[];
  out?: string;
  json?: boolean;
}

function readText(file: string, option: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${option} ${file}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected a readable text file`);
  }
}

function parseWidths(text: string): number[] {
  return text.split(',').map((part) => {
    const value = part.trim();
    if (!/^[1-9][0-9]*$/.test(value)) throw new UserError(`--widths: "${value}" is not a positive integer; expected a comma-separated list like 20,20,30`);
    return Number(value);
  });
}

function tableAsJson(table: Table, format: string): string {
  const ctx = { linkText: table.linkText, link: (text: string, url: string) => `${text} <${url}>` };
  return `${JSON.stringify({
    title: table.title,
    format,
    columns: table.columns.map((c, i) => ({ id: c.id, header: c.header, width: table.widths[i] })),
    rows: table.groups.map((g) => ({
      label: g.key.label, marker: g.key.marker, backbone: g.key.backboneLabel, batch_size: g.key.batchSize,
      epochs: g.key.epochs, dataset: g.key.dataset, status: g.key.diverged ? 'diverged' : g.key.smoke ? 'smoke' : 'finished',
      seeds: g.runs.map((r) => r.seed), metrics: g.metrics, runtime_minutes: g.runtimeMinutes, peak_memory_gb: g.peakMemoryGb,
      memory_kind: g.memoryKind, cells: table.columns.map((c) => c.display(g, ctx)),
    })),
    footnotes: table.footnotes,
  }, null, 2)}\n`;
}

export function registerTable(program: Command): void {
  program
    .command('table')
    .description('collect summary.json files into a table (RST as on the benchmarks page, CSV, Markdown)')
    .argument('<results...>', 'run directories or folders searched recursively for summary.json')
    .addOption(new Option('--format <format>', 'output format').choices([...TABLE_FORMATS]).default('rst'))
    .option('--title <text>', 'table caption (default: from the suite, e.g. "CIFAR-10 benchmark results")')
    .addOption(new Option('--preset <name>', 'column set').choices(Object.keys(PRESETS)))
    .option('--columns <ids>', 'custom comma-separated column ids, each `id` or `id=Header` (e.g. model,backbone,knn_top1,knn_top5_pct,runtime)')
    .option('--widths <list>', 'RST :widths: values, one per column (e.g. 20,20,20,20,30,20,20)')
    .option('--order <file|list>', 'row order: a file with one model label per line, or a comma-separated list')
    .option('--include-diverged', 'also show diverged runs, marked "(diverged)"')
    .option('--include-smoke', 'also show --max-steps smoke runs (status smoke), marked "(smoke)"')
    .option('--link-text <template>', 'text of Tensorboard/Checkpoint links; {kind} and {name} are replaced', DEFAULT_LINK_TEXT)
    .option('--footnote <text>', 'paragraph written after the table, verbatim (repeatable)', collect, [])
    .option('--footnote-file <file>', 'file whose text is one footnote paragraph (repeatable)', collect, [])
    .option('--out <file>', 'write to a file (atomically) instead of stdout')
    .option('--json', 'print the table model (cells, means, stds) as JSON')
    .action((inputs: string[], options: TableCommandOptions) => {
      const footnotes = [
        ...options.footnote,
        ...options.footnoteFile.map((file) => readText(file, '--footnote-file').replace(/\r?\n$/, '')),
      ];
      if (footnotes.length > 0 && options.format === 'csv' && !options.json) {
        throw new UserError('--footnote: CSV has no place for footnote paragraphs; use --format rst or md');
      }
      let order: string[] | undefined;
      if (options.order !== undefined) {
        const isFile = fs.existsSync(options.order) && fs.statSync(options.order).isFile();
        order = parseOrderList(isFile ? readText(options.order, '--order') : options.order, isFile);
      }
      const table = buildTable(collectRuns(inputs), {
        preset: options.preset,
        columns: options.columns?.split(',').map((s) => s.trim()).filter((s) => s !== ''),
        widths: options.widths === undefined ? undefined : parseWidths(options.widths),
        title: options.title,
        order,
        includeDiverged: options.includeDiverged,
        includeSmoke: options.includeSmoke,
        linkText: options.linkText,
        footnotes,
      });
      const text = options.json ? tableAsJson(table, options.format) : renderTable(table, options.format);
      if (options.out) writeFileAtomic(options.out, text);
      else process.stdout.write(text);
    });
}
