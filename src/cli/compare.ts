import { Command, Option } from 'commander';
import { UserError } from '../errors';
import { collectRuns } from '../report/collect';
import { AMOUNT_METRICS, compareToBaseline, parseTolerances, readBaseline, renderComparison } from '../report/compare';
import { groupRuns } from '../report/group';
import { KNOWN_METRICS } from '../report/summary';
import { compareTrajectory, renderTrajectory, runMetricsFile } from '../report/trajectory';
import { readMetricsCsv } from '../runner/metrics-csv';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface CompareCommandOptions {
  baseline?: string;
  tolerance: string;
  toleranceFor: string[];
  json?: boolean;
  perEpoch?: boolean;
}

/** `--per-epoch`: one run's metrics.csv against a baseline metrics.csv, every value within its tolerance. */
function comparePerEpoch(inputs: string[], baselineFile: string, tolerance: number, options: CompareCommandOptions): void {
  if (inputs.length !== 1) throw new UserError(`compare --per-epoch: got ${inputs.length} results; expected exactly one run directory (or its metrics.csv) and the baseline metrics CSV`);
  const result = compareTrajectory(readMetricsCsv(baselineFile), readMetricsCsv(runMetricsFile(inputs[0])), tolerance, parseTolerances(options.toleranceFor));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ baseline: result.baselineFile, run: result.runFile, passed: result.passed, comparisons: result.comparisons }, null, 2)}\n`);
  } else {
    process.stdout.write(renderTrajectory(result));
  }
  if (!result.passed) {
    const failures = result.comparisons.filter((c) => c.status !== 'OK');
    throw new UserError(`compare --per-epoch: ${failures.length} value(s) changed beyond tolerance or missing against ${result.baselineFile}`, 1);
  }
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('regression gate: compare finished runs with a baseline CSV; exit 1 on a drop beyond tolerance or a missing row')
    .argument('<results...>', 'run directories or folders with summary.json files; without --baseline the last argument is the baseline CSV')
    .option('--baseline <file.csv>', 'baseline written by `ssl-bench table --format csv`')
    .addOption(new Option('--tolerance <fraction>', 'allowed absolute drop of every accuracy metric (0.01 = one point)').default('0.01'))
    .option('--tolerance-for <metric=value>', 'per-metric tolerance (repeatable); runtime_minutes / peak_memory_gb take a relative one and are gated only when given', collect, [])
    .option('--json', 'print the comparison as JSON')
    .option('--per-epoch', 'deterministic gate: compare one run\'s metrics.csv with a baseline metrics CSV epoch by epoch; every baseline value (loss, lr, kNN ...) must be within its absolute tolerance either way')
    .action((args: string[], options: CompareCommandOptions) => {
      let inputs = args;
      let baselineFile = options.baseline;
      if (baselineFile === undefined) {
        if (args.length < 2 || !args[args.length - 1].toLowerCase().endsWith('.csv')) {
          throw new UserError('compare: no baseline; give --baseline FILE.csv or the CSV as the last argument (ssl-bench compare <results...> <baseline.csv>)');
        }
        baselineFile = args[args.length - 1];
        inputs = args.slice(0, -1);
      }
      const tolerance = Number(options.tolerance);
      if (options.tolerance.trim() === '' || !Number.isFinite(tolerance) || tolerance < 0) {
        throw new UserError(`--tolerance ${options.tolerance}: expected a number >= 0 (absolute fraction, e.g. 0.01)`);
      }
      if (options.perEpoch) {
        comparePerEpoch(inputs, baselineFile, tolerance, options);
        return;
      }
      const baseline = readBaseline(baselineFile);
      const tolerances = parseTolerances(options.toleranceFor);
      const allowed = new Set<string>([...KNOWN_METRICS, ...AMOUNT_METRICS, ...baseline.metrics]);
      for (const metric of Object.keys(tolerances)) {
        if (!allowed.has(metric)) throw new UserError(`--tolerance-for ${metric}: unknown metric; allowed: ${[...allowed].join(', ')}`);
      }
      const runs = collectRuns(inputs).filter((r) => r.summary.status === 'finished');
      const result = compareToBaseline(groupRuns(runs), baseline, { tolerance, tolerances });
      if (options.json) {
        process.stdout.write(`${JSON.stringify({
          baseline: baseline.file,
          passed: result.passed,
          comparisons: result.comparisons.map((c) => ({
            model: c.key.model, backbone: c.key.backbone, batch_size: c.key.batchSize, epochs: c.key.epochs, dataset: c.key.dataset,
            metric: c.metric, baseline: c.baseline, current: c.current, delta: c.delta,
            tolerance: c.tolerance, tolerance_kind: c.relative ? 'relative' : 'absolute', status: c.status,
          })),
          not_in_baseline: result.notInBaseline.map((k) => ({ model: k.model, backbone: k.backbone, batch_size: k.batchSize, epochs: k.epochs, dataset: k.dataset })),
        }, null, 2)}\n`);
      } else {
        process.stdout.write(renderComparison(result, baseline));
      }
      if (!result.passed) {
        const failures = result.comparisons.filter((c) => c.status === 'REGRESSION' || c.status === 'MISSING');
        throw new UserError(`compare: ${failures.length} value(s) regressed beyond tolerance or missing against ${baseline.file}`, 1);
      }
    });
}
