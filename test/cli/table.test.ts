import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFiles, makeSummary, makeTempDir, runCli, writeRun } from '../report/fixtures';

let root: string;
beforeEach(() => { root = makeTempDir(); });
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

const knn = (value: number) => ({ knn_top1: { value, protocol: 'knn max over epochs' } });

/** SimCLR with three seeds, one Moco* run, a label that needs CSV quoting. */
function writeMixedResults(): void {
  [[0.844, 97, 1.5], [0.847, 98, 1.6], [0.85, 99, 1.4]].forEach(([acc, minutes, gib], seed) => {
    writeRun(root, `simclr/s${seed}`, makeSummary({ seed, metrics: knn(acc), runtime_minutes: minutes, peak_memory_gb: gib }));
  });
  writeRun(root, 'moco', makeSummary({ method: 'moco', label: 'Moco', marker: '*', batch_size: 512, metrics: knn(0.8125), runtime_minutes: 112.25, peak_memory_gb: 5.55 }));
  writeRun(root, 'odd', makeSummary({ method: 'odd', label: 'Odd, "quoted"', metrics: knn(0.5), runtime_minutes: 1, peak_memory_gb: 0.25 }));
}

describe('ssl-bench table', () => {
  test('RST: several seeds render as mean ± population std; exact binary ties round to even', async () => {
    writeMixedResults();
    const result = await runCli(['table', root]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([
      '.. csv-table:: CIFAR-10 benchmark results',
      '  :header: "Model", "Backbone", "Batch Size", "Epochs", "kNN Top 1", "Runtime", "GPU Memory"',
      '  :widths: 20, 20, 20, 20, 30, 20, 20',
      '',
      '  "Moco*", "Res18", "512", "200", "0.812", "112.2 Min", "5.5 GByte"',
      '  "Odd, ""quoted""", "Res18", "128", "200", "0.500", "1.0 Min", "0.2 GByte"',
      '  "SimCLR", "Res18", "128", "200", "0.847 ± 0.002", "98.0 Min", "1.6 GByte"',
      '',
    ].join('\n'));
  });

  test('CSV: key header, fractions with 4 decimals plus _std, RFC 4180 quoting, run count', async () => {
    writeMixedResults();
    const result = await runCli(['table', root, '--format', 'csv']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([
      'model,backbone,batch_size,epochs,dataset,knn_top1,knn_top1_std,runtime_minutes,peak_memory_gb,runs',
      'Moco*,Res18,512,200,cifar10,0.8125,0.0000,112.25,5.55,1',
      '"Odd, ""quoted""",Res18,128,200,cifar10,0.5000,0.0000,1.00,0.25,1',
      'SimCLR,Res18,128,200,cifar10,0.8470,0.0024,98.00,1.60,3',
      '',
    ].join('\n'));
  });

  test('Markdown: pipe table, numbers right-aligned, caption and footnote', async () => {
    writeMixedResults();
    const result = await runCli(['table', root, '--format', 'md', '--title', 'CPU runs', '--footnote', '*Moco used a bank of 8192.']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([
      '**CPU runs**',
      '',
      '| Model | Backbone | Batch Size | Epochs | kNN Top 1 | Runtime | GPU Memory |',
      '|:---|:---|---:|---:|---:|---:|---:|',
      '| Moco* | Res18 | 512 | 200 | 0.812 | 112.2 Min | 5.5 GByte |',
      '| Odd, "quoted" | Res18 | 128 | 200 | 0.500 | 1.0 Min | 0.2 GByte |',
      '| SimCLR | Res18 | 128 | 200 | 0.847 ± 0.002 | 98.0 Min | 1.6 GByte |',
      '',
      '*Moco used a bank of 8192.',
      '',
    ].join('\n'));
  });

  test('custom --columns with renamed headers, percent columns, --widths and --title', async () => {
    writeRun(root, 'a', makeSummary({ metrics: { ...knn(0.8465), knn_top5: { value: 0.99, protocol: 'knn' } }, seed: 4 }));
    const result = await runCli(['table', root, '--columns', 'model,seeds,knn_top1_pct=kNN %,knn_top5,dataset', '--widths', '10,5,5,5,5', '--title', 'T']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('.. csv-table:: T\n  :header: "Model", "Seeds", "kNN %", "kNN Top 5", "Dataset"\n  :widths: 10, 5, 5, 5, 5\n\n  "SimCLR", "4", "84.7", "0.990", "cifar10"\n');
  });

  test('only finished runs by default; --include-diverged adds them marked; failed and running never show', async () => {
    writeRun(root, 'ok', makeSummary());
    writeRun(root, 'div', makeSummary({ status: 'diverged', seed: 1, metrics: knn(0.1) }));
    writeRun(root, 'fail', makeSummary({ status: 'failed', seed: 2, runtime_minutes: null, finished_at: null }));
    writeRun(root, 'run', makeSummary({ status: 'running', seed: 3, runtime_minutes: null, peak_memory_gb: null, finished_at: null }));
    const plain = await runCli(['table', root, '--columns', 'model,knn_top1']);
    expect(plain.stdout.split('\n').filter((l) => l.startsWith('  "'))).toEqual(['  "SimCLR", "0.847"']);
    const withDiverged = await runCli(['table', root, '--columns', 'model,knn_top1', '--include-diverged']);
    expect(withDiverged.stdout.split('\n').filter((l) => l.startsWith('  "'))).toEqual(['  "SimCLR", "0.847"', '  "SimCLR (diverged)", "0.100"']);
  });

  test('CPU runs measured as process RSS get a "Memory (RSS)" header, missing values print "-"', async () => {
    writeRun(root, 'a', makeSummary({ memory_kind: 'process-rss', dataset: 'fashion-mnist', metrics: {} }));
    const result = await runCli(['table', root]);
    expect(result.stdout).toBe([
      '.. csv-table:: Fashion-MNIST benchmark results',
      '  :header: "Model", "Backbone", "Batch Size", "Epochs", "kNN Top 1", "Runtime", "Memory (RSS)"',
      '  :widths: 20, 20, 20, 20, 20, 20, 20',
      '',
      '  "SimCLR", "Res18", "128", "200", "-", "97.7 Min", "1.5 GByte"',
      '',
    ].join('\n'));
  });

  test('--out writes atomically (no temp files left) and --json describes the table', async () => {
    writeMixedResults();
    const out = path.join(root, 'out', 'table.json');
    const result = await runCli(['table', root, '--json', '--out', out]);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(listFiles(path.join(root, 'out'))).toEqual(['table.json']);
    const json = JSON.parse(fs.readFileSync(out, 'utf8')) as { rows: { label: string; seeds: number[]; metrics: { knn_top1: { mean: number; std: number; n: number } }; cells: string[] }[] };
    const simclr = json.rows.find((r) => r.label === 'SimCLR')!;
    expect(simclr.seeds).toEqual([0, 1, 2]);
    expect(simclr.metrics.knn_top1.n).toBe(3);
    expect(simclr.metrics.knn_top1.mean).toBeCloseTo(0.847, 12);
    expect(simclr.metrics.knn_top1.std).toBeCloseTo(Math.sqrt((0.003 ** 2 * 2) / 3), 12);
    expect(simclr.cells[4]).toBe('0.847 ± 0.002');
  });

  describe('bad input: one line on stderr, exit code 2', () => {
    test.each([
      [['table', 'no/such/dir'], 'error: no/such/dir: no such file or directory; expected a run directory, a results folder or a summary.json\n'],
      [['table', '{root}', '--columns', 'model,knn_top'], 'error: --columns: unknown column "knn_top"; allowed: model, method, backbone, batch_size, epochs, dataset, seeds, runtime_minutes, peak_memory_gb, tensorboard, checkpoint, knn_top1, knn_top5, knn_top1_final, linear_top1, linear_top5, finetune_top1, finetune_top5, online_linear_top1 (metric ids also as <metric>_pct; rename with id=Header)\n'],
      [['table', '{root}', '--widths', '20,20'], 'error: --widths: 2 values for 7 columns; give one positive integer per column\n'],
      [['table', '{root}', '--widths', '20,x'], 'error: --widths: "x" is not a positive integer; expected a comma-separated list like 20,20,30\n'],
      [['table', '{root}', '--order', 'SimCLR,Mocco'], 'error: --order: "Mocco" matches no model in the results; use the labels the table shows (SimCLR)\n'],
      [['table', '{root}', '--format', 'csv', '--footnote', 'x'], 'error: --footnote: CSV has no place for footnote paragraphs; use --format rst or md\n'],
    ])('%j', async (args, expected) => {
      writeRun(root, 'a', makeSummary());
      const result = await runCli(args.map((a) => a.replace('{root}', root)));
      expect(result.stderr).toBe(expected);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    });

    test('a malformed summary anywhere in the tree names its file, line and field', async () => {
      writeRun(root, 'a', makeSummary());
      fs.mkdirSync(path.join(root, 'b'));
      fs.writeFileSync(path.join(root, 'b', 'summary.json'), '{\n  "schema_version": 1,\n  "status": "done"\n}\n');
      const result = await runCli(['table', root]);
      expect(result.stderr).toBe(`error: ${path.join(root, 'b', 'summary.json')}:3:13 status: got "done"; expected one of finished, smoke, diverged, interrupted, failed, running\n`);
      expect(result.code).toBe(2);
    });

    test('no finished runs', async () => {
      writeRun(root, 'a', makeSummary({ status: 'running', runtime_minutes: null, peak_memory_gb: null, finished_at: null }));
      const result = await runCli(['table', root]);
      expect(result.stderr).toBe('error: no finished runs to tabulate (found 1 running); tables show finished runs (add --include-diverged to show diverged ones)\n');
      expect(result.code).toBe(2);
    });

    test('an empty results folder', async () => {
      const result = await runCli(['table', root]);
      expect(result.stderr).toBe(`error: ${root}: no summary.json found in this folder or below; expected run directories written by \`ssl-bench run\`\n`);
      expect(result.code).toBe(2);
    });
  });
});
