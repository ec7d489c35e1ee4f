import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { collectSeries } from '../../src/report/plot';
import { writeFileAtomic } from '../../src/util/atomic';
import { metricsCsv, type EpochRow } from '../../src/runner/metrics-csv';
import { makeSummary, makeTempDir, runCli, writeRun } from './fixtures';

let tmp: string;
beforeEach(() => { tmp = makeTempDir('ssl-bench-plot-'); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function rows(epochs: number, top1: (e: number) => number, everyKnn = 1): EpochRow[] {
  return Array.from({ length: epochs }, (_, i): EpochRow => ({
    epoch: i + 1, steps: 10, loss: 6 - i * 0.3, lr: 0.06, eval: (i + 1) % everyKnn === 0 ? { knn_top1: top1(i + 1), knn_top5: Math.min(1, top1(i + 1) + 0.2) } : {} as Record<string, number>,
    epoch_seconds: 3, data_seconds: 1, eval_seconds: 1, images_per_second: 100,
  }));
}

function addRun(name: string, label: string, seed: number, epochRows: EpochRow[]): string {
  const dir = writeRun(tmp, name, makeSummary({ label, seed, run_name: name }));
  writeFileAtomic(path.join(dir, 'metrics.csv'), metricsCsv(epochRows));
  return dir;
}

function svgSize(svg: string): [number, number] {
  const m = svg.match(/^<svg [^>]*width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/);
  if (!m) throw new Error(`no size in ${svg.slice(0, 200)}`);
  return [Number(m[1]), Number(m[2])];
}

test('labels come from summaries; shared labels get their seeds; kNN gaps are skipped', () => {
  addRun('simclr', 'SimCLR', 0, rows(5, (e) => 0.3 + e * 0.1));
  addRun('moco-0', 'Moco', 0, rows(5, (e) => 0.2 + e * 0.1, 2));
  addRun('moco-1', 'Moco', 1, rows(5, (e) => 0.25 + e * 0.1, 2));
  const series = collectSeries([tmp], 'knn_top1');
  expect(series.map((s) => [s.label, s.points.map((p) => p.epoch)])).toEqual([
    ['Moco seed 0', [2, 4]], ['Moco seed 1', [2, 4]], ['SimCLR', [1, 2, 3, 4, 5]],
  ]);
  expect(series[2].points[4].value).toBeCloseTo(0.8, 12);
});

test('runs sharing a label are told apart by what differs: epochs or batch size, then seed, then directory', () => {
  const add = (name: string, over: Record<string, unknown>) => {
    const dir = writeRun(tmp, name, makeSummary({ label: 'SimCLR', seed: 0, run_name: name, ...over }));
    writeFileAtomic(path.join(dir, 'metrics.csv'), metricsCsv(rows(2, (e) => 0.3 + e * 0.1)));
  };
  add('a-ep12', { epochs: 12, batch_size: 128 });
  add('b-ep40', { epochs: 40, batch_size: 128 });
  add('c-ep40-seed1', { epochs: 40, batch_size: 128, seed: 1 });
  add('d-ep12-bs512', { epochs: 12, batch_size: 512 });
  add('e-ep12-bs512', { epochs: 12, batch_size: 512 });
  expect(collectSeries([tmp], 'knn_top1').map((s) => s.label)).toEqual([
    'SimCLR (bs 128, 12 ep)', 'SimCLR (bs 128, 40 ep) seed 0', 'SimCLR (bs 128, 40 ep) seed 1',
    'SimCLR (bs 512, 12 ep) (d-ep12-bs512)', 'SimCLR (bs 512, 12 ep) (e-ep12-bs512)',
  ]);
});

test('floors of two backbones sharing a label are told apart by the backbone', () => {
  const add = (name: string, backbone: string) => {
    const dir = writeRun(tmp, name, makeSummary({ label: 'Random init (floor)', seed: 0, run_name: name, epochs: 0, backbone_label: backbone }));
    writeFileAtomic(path.join(dir, 'metrics.csv'), metricsCsv(rows(1, () => 0.5)));
  };
  add('floor-random-init', 'Res18');
  add('floor-random-init-vit', 'ViT/4');
  expect(collectSeries([tmp], 'knn_top1').map((s) => s.label)).toEqual(['Random init (floor) (Res18)', 'Random init (floor) (ViT/4)']);
});

test('ssl-bench plot writes an SVG with every run label and a PNG of the SVG size times --scale', async () => {
  addRun('simclr', 'SimCLR', 0, rows(8, (e) => 0.3 + e * 0.05));
  addRun('byol', 'BYOL', 0, rows(8, (e) => 0.25 + e * 0.06));
  fs.renameSync(addRun('old', 'Replaced', 0, rows(2, () => 0.1)), path.join(tmp, 'old.replaced-20261126T070000Z'));
  const svgFile = path.join(tmp, 'fig.svg');
  const svgRun = await runCli(['plot', tmp, '--metric', 'knn_top1', '--out', svgFile]);
  expect(svgRun).toEqual({ code: 0, stdout: `${svgFile}: knn_top1 of 2 runs\n`, stderr: '' });
  const svg = fs.readFileSync(svgFile, 'utf8');
  expect(svg).toContain('>SimCLR</text>');
  expect(svg).toContain('>BYOL</text>');
  expect(svg).not.toContain('Replaced');
  expect(svg).toContain('kNN top-1 accuracy vs epoch');
  const [width, height] = svgSize(svg);
  expect(width).toBeGreaterThan(480);
  expect(height).toBeGreaterThan(300);

  const pngFile = path.join(tmp, 'fig.png');
  const pngRun = await runCli(['plot', path.join(tmp, 'simclr'), path.join(tmp, 'byol', 'metrics.csv'), '--out', pngFile, '--scale', '1.5']);
  expect(pngRun.code).toBe(0);
  const meta = await sharp(pngFile).metadata();
  expect(meta.format).toBe('png');
  expect([meta.width, meta.height]).toEqual([Math.round(width * 1.5), Math.round(height * 1.5)]);
});

test('loss curves, and errors for unknown metrics, formats and inputs', async () => {
  addRun('simclr', 'SimCLR', 0, rows(3, () => 0.5));
  const out = path.join(tmp, 'loss.svg');
  expect((await runCli(['plot', tmp, '--metric', 'loss', '--out', out, '--title', 'Loss of SimCLR'])).code).toBe(0);
  expect(fs.readFileSync(out, 'utf8')).toContain('>training loss</text>');
  const unknown = await runCli(['plot', tmp, '--metric', 'accuracy', '--out', out]);
  expect(unknown).toEqual({
    code: 2, stdout: '',
    stderr: `error: ${path.join(tmp, 'simclr', 'metrics.csv')}: no "accuracy" column; --metric accepts steps, loss, lr, knn_top1, knn_top5, epoch_seconds, data_seconds, eval_seconds, images_per_second\n`,
  });
  const format = await runCli(['plot', tmp, '--out', path.join(tmp, 'fig.jpg')]);
  expect(format.stderr).toBe(`error: --out ${path.join(tmp, 'fig.jpg')}: unknown image format ".jpg"; expected a file name ending in .svg or .png\n`);
  const missing = await runCli(['plot', path.join(tmp, 'nope'), '--out', out]);
  expect(missing.stderr).toBe(`error: ${path.join(tmp, 'nope')}: no such file or directory; expected a run directory, a results folder or a metrics.csv\n`);
});
