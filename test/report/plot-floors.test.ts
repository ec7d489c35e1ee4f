import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectSeries } from '../../src/report/plot';
import { metricsCsv, type EpochRow } from '../../src/runner/metrics-csv';
import { writeFileAtomic } from '../../src/util/atomic';
import { makeSummary, makeTempDir, runCli, writeRun } from './fixtures';

/** Floor runs (method none: one kNN value at epoch 0) in a kNN-vs-epoch plot next to trained runs. */

let tmp: string;
beforeEach(() => { tmp = makeTempDir('ssl-bench-plot-floors-'); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function addRun(name: string, label: string, epochs: number, rows: EpochRow[]): void {
  const dir = writeRun(tmp, name, makeSummary({ label, epochs, run_name: name, method: epochs === 0 ? 'none' : 'simclr' }));
  writeFileAtomic(path.join(dir, 'metrics.csv'), metricsCsv(rows));
}

const trained = (epochs: number): EpochRow[] => Array.from({ length: epochs }, (_, i) => ({
  epoch: i + 1, steps: 10, loss: 5 - i * 0.1, lr: 0.06, eval: { knn_top1: 0.5 + i * 0.02 },
  epoch_seconds: 3, data_seconds: 0, eval_seconds: 1, images_per_second: 100,
}));
const floor = (top1: number): EpochRow[] => [{
  epoch: 0, steps: 0, loss: null, lr: null, eval: { knn_top1: top1 }, epoch_seconds: 1, data_seconds: 0, eval_seconds: 1, images_per_second: 0,
}];

test('a floor becomes a level line from epoch 0 to the trained runs\' last epoch; alone it stays one point', () => {
  addRun('simclr', 'SimCLR', 6, trained(6));
  addRun('floor-raw-pixels', 'Raw pixels (floor)', 0, floor(0.77));
  const series = collectSeries([tmp], 'knn_top1');
  expect(series.map((s) => [s.label, s.level === true, s.points])).toEqual([
    ['Raw pixels (floor)', true, [{ epoch: 0, value: 0.77 }, { epoch: 6, value: 0.77 }]],
    ['SimCLR', false, trained(6).map((r) => ({ epoch: r.epoch, value: r.eval.knn_top1 }))],
  ]);
  const alone = collectSeries([path.join(tmp, 'floor-raw-pixels')], 'knn_top1');
  expect(alone).toEqual([{ label: 'Raw pixels (floor)', file: path.join(tmp, 'floor-raw-pixels', 'metrics.csv'), points: [{ epoch: 0, value: 0.77 }] }]);
});

test('ssl-bench plot draws the floor dashed and the trained run solid; a loss plot leaves the floor out', async () => {
  addRun('simclr', 'SimCLR', 4, trained(4));
  addRun('floor-random-init', 'Random init (floor)', 0, floor(0.62));
  const out = path.join(tmp, 'knn.svg');
  const r = await runCli(['plot', tmp, '--metric', 'knn_top1', '--out', out]);
  expect(r).toEqual({ code: 0, stdout: `${out}: knn_top1 of 2 runs\n`, stderr: '' });
  const svg = fs.readFileSync(out, 'utf8');
  expect(svg).toContain('>Random init (floor)</text>');
  expect(svg.match(/stroke-dasharray="6,4"/g)).toHaveLength(1);
  const loss = await runCli(['plot', tmp, '--metric', 'loss', '--out', path.join(tmp, 'loss.svg')]);
  expect(loss).toEqual({ code: 0, stdout: `${path.join(tmp, 'loss.svg')}: loss of 1 run\n`, stderr: '' });
});
