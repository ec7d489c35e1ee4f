import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSummary, makeTempDir, runCli, writeRun } from './fixtures';

/**
 * Floor rows (method none, 0 epochs: the backbone as initialised, or raw pixels) in the table of a
 * CPU suite next to a trained method: batch size has no meaning without training, so its cell is
 * the page's empty-cell "-" (an empty CSV cell; `compare` matches it by epochs 0); epochs 0,
 * runtime and process-RSS memory as for any run.
 */

let root: string;
beforeEach(() => { root = makeTempDir(); });
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

function writeSuite(): void {
  const common = { dataset: 'fashion-mnist', memory_kind: 'process-rss' as const, device: 'cpu', batch_size: 128 };
  writeRun(root, 'simclr', makeSummary({
    ...common, label: 'SimCLR', epochs: 20, runtime_minutes: 23.46, peak_memory_gb: 2.04, run_name: 'simclr-0a1b2c3d4e5f',
    metrics: { knn_top1: { value: 0.7521, protocol: 'kNN k=200 t=0.1, max over epochs' } },
  }));
  writeRun(root, 'floor-raw-pixels', makeSummary({
    ...common, method: 'none', label: 'Raw pixels (floor)', backbone: 'pixels', backbone_label: 'Pixels', epochs: 0,
    runtime_minutes: 0.0731, peak_memory_gb: 0.61, run_name: 'floor-raw-pixels-0a1b2c3d4e5f',
    metrics: { knn_top1: { value: 0.7742, protocol: 'kNN k=200 t=0.1, max over epochs (best at epoch 0)' } },
  }));
  writeRun(root, 'floor-random-init', makeSummary({
    ...common, method: 'none', label: 'Random init (floor)', epochs: 0,
    runtime_minutes: 0.152, peak_memory_gb: 0.83, run_name: 'floor-random-init-0a1b2c3d4e5f',
    metrics: { knn_top1: { value: 0.6262, protocol: 'kNN k=200 t=0.1, max over epochs (best at epoch 0)' } },
  }));
}

test('RST: floors print "-" for batch size and 0 epochs, in the order given by --order', async () => {
  writeSuite();
  const result = await runCli(['table', root, '--order', 'SimCLR,Raw pixels (floor),Random init (floor)']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe([
    '.. csv-table:: Fashion-MNIST benchmark results',
    '  :header: "Model", "Backbone", "Batch Size", "Epochs", "kNN Top 1", "Runtime", "Memory (RSS)"',
    '  :widths: 20, 20, 20, 20, 20, 20, 20',
    '',
    '  "SimCLR", "Res18", "128", "20", "0.752", "23.5 Min", "2.0 GByte"',
    '  "Raw pixels (floor)", "Pixels", "-", "0", "0.774", "0.1 Min", "0.6 GByte"',
    '  "Random init (floor)", "Res18", "-", "0", "0.626", "0.2 Min", "0.8 GByte"',
    '',
  ].join('\n'));
});

test('CSV leaves the floors\' batch size empty (RST/Markdown "-") with 0 epochs', async () => {
  writeSuite();
  const csv = await runCli(['table', root, '--format', 'csv']);
  expect(csv.code).toBe(0);
  const lines = csv.stdout.trim().split('\n');
  expect(lines[0]).toBe('model,backbone,batch_size,epochs,dataset,knn_top1,knn_top1_std,runtime_minutes,peak_memory_gb,runs');
  expect(lines).toContain('SimCLR,Res18,128,20,fashion-mnist,0.7521,0.0000,23.46,2.04,1');
  expect(lines).toContain('Raw pixels (floor),Pixels,,0,fashion-mnist,0.7742,0.0000,0.07,0.61,1');
  expect(lines).toContain('Random init (floor),Res18,,0,fashion-mnist,0.6262,0.0000,0.15,0.83,1');
  const md = await runCli(['table', path.join(root, 'floor-raw-pixels'), '--format', 'md']);
  expect(md.code).toBe(0);
  expect(md.stdout).toMatch(/\| Raw pixels \(floor\) \| Pixels \| - \| 0 \| 0\.774 \| 0\.1 Min \| 0\.6 GByte \|/);
});
