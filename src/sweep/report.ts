import * as path from 'node:path';
import { UserError } from '../errors';
import { collectRuns } from '../report/collect';
import { collectSeries, plotSpec, renderSvg, svgToPng } from '../report/plot';
import { renderTable, TABLE_FORMATS } from '../report/render';
import { buildTable } from '../report/table';
import { writeFileAtomic } from '../util/atomic';
import type { SweepPlan } from './plan';

/**
 * A completed sweep's results, written with the same code as `ssl-bench table` and `ssl-bench
 * plot`, over exactly the sweep's run directories: table.rst, table.md, table.csv and
 * knn_top1.svg/.png in the sweep directory. Smoke and diverged runs are shown, marked.
 */
export async function writeSweepReport(sweepDir: string, plan: SweepPlan): Promise<string[]> {
  const runDirs = [...new Set(plan.tasks.map((t) => t.runDir))];
  const table = buildTable(collectRuns(runDirs), { includeDiverged: true, includeSmoke: true });
  const written: string[] = [];
  for (const format of TABLE_FORMATS) {
    const file = path.join(sweepDir, `table.${format}`);
    writeFileAtomic(file, renderTable(table, format));
    written.push(file);
  }
  let series;
  try {
    series = collectSeries(runDirs, 'knn_top1');
  } catch (err) {
    // Runs without kNN evaluation have no curve to draw; the tables stand alone.
    if (err instanceof UserError) return written;
    throw err;
  }
  const svg = await renderSvg(plotSpec(series, { metric: 'knn_top1', width: 480, height: 300 }));
  writeFileAtomic(path.join(sweepDir, 'knn_top1.svg'), svg);
  writeFileAtomic(path.join(sweepDir, 'knn_top1.png'), await svgToPng(svg, 2));
  written.push(path.join(sweepDir, 'knn_top1.svg'), path.join(sweepDir, 'knn_top1.png'));
  return written;
}
