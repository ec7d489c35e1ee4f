import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSummary, makeTempDir, runCli, writeRun } from '../report/fixtures';

let root: string;
let results: string;
beforeEach(() => {
  root = makeTempDir();
  results = path.join(root, 'results');
  [[0.844, 97], [0.847, 98], [0.85, 99]].forEach(([acc, minutes], seed) => {
    writeRun(results, `simclr-s${seed}`, makeSummary({ seed, runtime_minutes: minutes, metrics: { knn_top1: { value: acc, protocol: 'knn' } } }));
  });
  writeRun(results, 'moco', makeSummary({ method: 'moco', label: 'Moco', marker: '*', batch_size: 512, runtime_minutes: 112.2, peak_memory_gb: 5.6, metrics: { knn_top1: { value: 0.8125, protocol: 'knn' } } }));
});
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

const HEADER = 'model,backbone,batch_size,epochs,dataset,knn_top1,knn_top1_std,runtime_minutes,peak_memory_gb,runs';
function baseline(...rows: string[]): string {
  const file = path.join(root, 'baseline.csv');
  fs.writeFileSync(file, [HEADER, ...rows, ''].join('\n'));
  return file;
}

describe('ssl-bench compare', () => {
  test('a baseline written by `table --format csv` passes against the same results', async () => {
    const file = path.join(root, 'baseline.csv');
    expect((await runCli(['table', results, '--format', 'csv', '--out', file])).code).toBe(0);
    const result = await runCli(['compare', results, '--baseline', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([
      'Model   Backbone  Batch  Epochs  Dataset  Metric           Baseline  Current    Delta  Tolerance  Status',
      'Moco*   Res18       512     200  cifar10  knn_top1           0.8125   0.8125  +0.0000     0.0100  OK',
      'Moco*   Res18       512     200  cifar10  runtime_minutes    112.20   112.20    +0.00  not gated  INFO',
      'Moco*   Res18       512     200  cifar10  peak_memory_gb       5.60     5.60    +0.00  not gated  INFO',
      'SimCLR  Res18       128     200  cifar10  knn_top1           0.8470   0.8470  +0.0000     0.0100  OK',
      'SimCLR  Res18       128     200  cifar10  runtime_minutes     98.00    98.00    +0.00  not gated  INFO',
      'SimCLR  Res18       128     200  cifar10  peak_memory_gb       1.50     1.50    +0.00  not gated  INFO',
      `PASS: 6 values compared against ${file}: 2 OK, 0 IMPROVED, 0 REGRESSION, 0 MISSING, 4 not gated`,
      '',
    ].join('\n'));
  });

  test('a drop beyond the tolerance is a REGRESSION: exit 1 with the diff on stdout and one line on stderr', async () => {
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8700,,,,1', 'Moco*,Res18,512,200,cifar10,0.8000,,,,1');
    const result = await runCli(['compare', results, file, '--tolerance', '0.01']);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').slice(1, 3)).toEqual([
      'SimCLR  Res18       128     200  cifar10  knn_top1    0.8700   0.8470  -0.0230     0.0100  REGRESSION',
      'Moco*   Res18       512     200  cifar10  knn_top1    0.8000   0.8125  +0.0125     0.0100  IMPROVED',
    ]);
    expect(result.stdout).toContain(`FAIL: 2 values compared against ${file}: 0 OK, 1 IMPROVED, 1 REGRESSION, 0 MISSING, 0 not gated`);
    expect(result.stderr).toBe(`error: compare: 1 value(s) regressed beyond tolerance or missing against ${file}\n`);
  });

  test('per-metric tolerances override --tolerance; a drop of exactly the tolerance passes', async () => {
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8700,,,,1', 'Moco*,Res18,512,200,cifar10,0.8225,,,,1');
    const result = await runCli(['compare', results, '--baseline', file, '--tolerance-for', 'knn_top1=0.03']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Moco*   Res18       512     200  cifar10  knn_top1    0.8225   0.8125  -0.0100     0.0300  OK');
    const exact = await runCli(['compare', results, '--baseline', file, '--tolerance', '0.01', '--tolerance-for', 'knn_top1=0.023']);
    expect(exact.code).toBe(0);
  });

  test('a baseline row without results is MISSING (exit 1); results without a baseline row are listed, not gated', async () => {
    fs.rmSync(path.join(results, 'moco'), { recursive: true });
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8470,,,,3', 'DINO,Res18,128,200,cifar10,0.8400,,,,1');
    writeRun(results, 'byol', makeSummary({ method: 'byol', label: 'BYOL' }));
    const result = await runCli(['compare', results, file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('DINO    Res18       128     200  cifar10  knn_top1    0.8400        -        -     0.0100  MISSING');
    expect(result.stdout).toContain('not in baseline (not gated): BYOL Res18 batch 128 epochs 200 cifar10');
  });

  test('runtime is reported only, unless --tolerance-for runtime_minutes gives a relative tolerance', async () => {
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8470,,80.00,,3');
    expect((await runCli(['compare', results, file])).code).toBe(0);
    const gated = await runCli(['compare', results, file, '--tolerance-for', 'runtime_minutes=0.2']);
    expect(gated.code).toBe(1);
    expect(gated.stdout).toContain('SimCLR  Res18       128     200  cifar10  runtime_minutes     80.00    98.00   +18.00      20.0%  REGRESSION');
    const loose = await runCli(['compare', results, file, '--tolerance-for', 'runtime_minutes=0.25']);
    expect(loose.code).toBe(0);
  });

  test('--json gives every comparison with its status', async () => {
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8700,,,,1');
    const result = await runCli(['compare', results, file, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      baseline: file,
      passed: false,
      comparisons: [{
        model: 'SimCLR', backbone: 'Res18', batch_size: 128, epochs: 200, dataset: 'cifar10', metric: 'knn_top1', baseline: 0.87,
        current: expect.closeTo(0.847, 12), delta: expect.closeTo(-0.023, 12), tolerance: 0.01, tolerance_kind: 'absolute', status: 'REGRESSION',
      }],
      not_in_baseline: [{ model: 'Moco*', backbone: 'Res18', batch_size: 512, epochs: 200, dataset: 'cifar10' }],
    });
  });

  describe('malformed input: one line, exit 2', () => {
    const cases: [string, string, (file: string) => string][] = [
      ['missing identity column', 'model,backbone,epochs,knn_top1\nSimCLR,Res18,200,0.8\n',
        (f) => `error: ${f}:1:1 header: missing column "batch_size"; a baseline needs model, backbone, batch_size, epochs, dataset (as written by \`ssl-bench table --format csv\`)\n`],
      ['display headers instead of keys', 'model,backbone,batch_size,epochs,dataset,kNN Top 1\nSimCLR,Res18,128,200,cifar10,0.847\n',
        (f) => `error: ${f}:1:42 header: "kNN Top 1" is not a metric name; expected lowercase metric keys such as knn_top1 (write the baseline with \`ssl-bench table --format csv\`)\n`],
      ['not a number', `${HEADER}\nSimCLR,Res18,128,200,cifar10,0.8x,,,,1\n`, (f) => `error: ${f}:2:30 knn_top1: got "0.8x"; expected a number or an empty cell\n`],
      ['ragged row', `${HEADER}\nSimCLR,Res18,128,200,cifar10,0.8\n`, (f) => `error: ${f}:2:1 row has 6 fields; expected 10 like the header\n`],
      ['unterminated quote', `${HEADER}\n"SimCLR,Res18,128,200,cifar10,0.8,,,,1\n`, (f) => `error: ${f}:2:1 invalid CSV: unterminated quoted field\n`],
      ['bad batch size', `${HEADER}\nSimCLR,Res18,big,200,cifar10,0.8,,,,1\n`, (f) => `error: ${f}:2:14 batch_size: got "big"; expected a positive integer\n`],
      ['duplicate row', `${HEADER}\nSimCLR,Res18,128,200,cifar10,0.8,,,,1\nSimCLR,Res18,128,200,cifar10,0.8,,,,1\n`, (f) => `error: ${f}:3:1 duplicate row for SimCLR Res18 batch 128 epochs 200 cifar10; one row per run group\n`],
      ['empty file', '', (f) => `error: ${f}:1:1 empty baseline; expected a header row and one row per run group, as written by \`ssl-bench table --format csv\`\n`],
    ];
    test.each(cases)('%s', async (_name, text, expected) => {
      const file = path.join(root, 'baseline.csv');
      fs.writeFileSync(file, text);
      const result = await runCli(['compare', results, '--baseline', file]);
      expect(result.stderr).toBe(expected(file));
      expect(result.code).toBe(2);
    });

    test('no baseline given', async () => {
      const result = await runCli(['compare', results]);
      expect(result.stderr).toBe('error: compare: no baseline; give --baseline FILE.csv or the CSV as the last argument (ssl-bench compare <results...> <baseline.csv>)\n');
      expect(result.code).toBe(2);
    });

    test('missing baseline file, bad tolerances', async () => {
      const missing = path.join(root, 'nope.csv');
      expect((await runCli(['compare', results, missing])).stderr).toBe(`error: ${missing}: cannot read baseline (ENOENT); expected a CSV written by \`ssl-bench table --format csv\`\n`);
      const file = baseline('SimCLR,Res18,128,200,cifar10,0.8470,,,,3');
      const bad = await runCli(['compare', results, file, '--tolerance', '-1']);
      expect([bad.code, bad.stderr]).toEqual([2, 'error: --tolerance -1: expected a number >= 0 (absolute fraction, e.g. 0.01)\n']);
      const badFor = await runCli(['compare', results, file, '--tolerance-for', 'knn_top1']);
      expect([badFor.code, badFor.stderr]).toEqual([2, 'error: --tolerance-for knn_top1: expected metric=number with a number >= 0, e.g. knn_top1=0.02 or runtime_minutes=0.2 (relative)\n']);
      const unknown = await runCli(['compare', results, file, '--tolerance-for', 'knn_top9=0.1']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^error: --tolerance-for knn_top9: unknown metric; allowed: knn_top1, knn_top5, /);
    });
  });
});

describe('ssl-bench compare: rows match by dataset; floor rows have no batch size', () => {
  test('a baseline row of another dataset does not gate these results (MISSING + not in baseline)', async () => {
    const file = baseline('SimCLR,Res18,128,200,stl10,0.8470,,,,3');
    const result = await runCli(['compare', results, file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('SimCLR  Res18       128     200  stl10    knn_top1    0.8470        -      -     0.0100  MISSING');
    expect(result.stdout).toContain('not in baseline (not gated): SimCLR Res18 batch 128 epochs 200 cifar10');
  });

  test('the same label on two datasets gives two rows, each gated against its own baseline row', async () => {
    writeRun(results, 'simclr-stl10', makeSummary({ dataset: 'stl10', metrics: { knn_top1: { value: 0.7, protocol: 'knn' } } }));
    const file = baseline('SimCLR,Res18,128,200,cifar10,0.8470,,,,3', 'SimCLR,Res18,128,200,stl10,0.7000,,,,1', 'Moco*,Res18,512,200,cifar10,0.8125,,,,1');
    const result = await runCli(['compare', results, file]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('SimCLR  Res18       128     200  stl10    knn_top1    0.7000   0.7000  +0.0000     0.0100  OK');
  });

  test('a baseline written before rows were matched by dataset is refused, saying what to add', async () => {
    const file = path.join(root, 'old.csv');
    fs.writeFileSync(file, 'model,backbone,batch_size,epochs,knn_top1,knn_top1_std,runtime_minutes,peak_memory_gb,runs\nSimCLR,Res18,128,200,0.8470,,,,3\n');
    const result = await runCli(['compare', results, file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .*old\.csv:1:1 header: missing column "dataset"; .* add a dataset column/);
  });

  test('a floor row (epochs 0) round-trips through table CSV with an empty batch cell and passes', async () => {
    writeRun(results, 'floor', makeSummary({ method: 'none', label: 'Random init', epochs: 0, batch_size: 256, runtime_minutes: 0.1, metrics: { knn_top1: { value: 0.3, protocol: 'knn' } } }));
    const file = path.join(root, 'baseline.csv');
    expect((await runCli(['table', results, '--format', 'csv', '--out', file])).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain('\nRandom init,Res18,,0,cifar10,0.3000,');
    const result = await runCli(['compare', results, file]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('Random init  Res18         -       0  cifar10  knn_top1           0.3000   0.3000  +0.0000     0.0100  OK');
  });
});

describe('ssl-bench compare --per-epoch (the deterministic gate on one run\'s metrics.csv)', () => {
  const METRICS = 'epoch,steps,loss,lr,knn_top1,knn_top5,epoch_seconds,data_seconds,eval_seconds,images_per_second\n'
    + '1,3,4.7104,0.03,0.25,0.6,1.5,0.1,0.5,100\n2,3,4.6001,0.02,0.3,0.7,1.4,0.1,0.5,110\n';
  let run: string;
  beforeEach(() => {
    run = path.join(root, 'run');
    fs.mkdirSync(run);
    fs.writeFileSync(path.join(run, 'metrics.csv'), METRICS);
  });
  const write = (name: string, text: string): string => { const f = path.join(root, name); fs.writeFileSync(f, text); return f; };

  test('values within their tolerance pass; columns the baseline leaves out (timings) are not compared', async () => {
    const file = write('steps.csv', 'epoch,steps,loss,knn_top1\n1,3,4.71045,0.25\n2,3,4.6001,0.3\n');
    const result = await runCli(['compare', run, file, '--per-epoch', '--tolerance', '0', '--tolerance-for', 'loss=1e-4']);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout.split('\n')[0]).toBe('Epoch  Column    Baseline   Current     Delta  Tolerance  Status');
    expect(result.stdout).toContain('    1  loss      4.710450  4.710400  -5.00e-5    1.00e-4  OK');
    expect(result.stdout).toContain(`PASS: 6 values of ${path.join(run, 'metrics.csv')} compared per epoch against ${file}: 6 OK, 0 CHANGED, 0 MISSING`);
  });

  test('a change either way beyond the tolerance fails (exit 1), and so does a missing epoch', async () => {
    const file = write('steps.csv', 'epoch,steps,loss,knn_top1\n1,3,4.7000,0.25\n2,3,4.6001,0.28\n3,3,4.5,0.3\n');
    const result = await runCli(['compare', run, file, '--per-epoch', '--tolerance', '0.01', '--tolerance-for', 'loss=1e-4']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('    1  loss      4.700000  4.710400  +0.010400    1.00e-4  CHANGED');
    expect(result.stdout).toContain('    2  knn_top1  0.280000  0.300000  +0.020000   0.010000  CHANGED');
    expect(result.stdout).toContain('    3  loss      4.500000         -          -    1.00e-4  MISSING');
    expect(result.stderr).toBe(`error: compare --per-epoch: 5 value(s) changed beyond tolerance or missing against ${file}\n`);
  });

  test('one run only; tolerances name baseline columns', async () => {
    const file = write('steps.csv', 'epoch,loss\n1,4.7104\n');
    const two = await runCli(['compare', run, run, file, '--per-epoch']);
    expect([two.code, two.stderr]).toEqual([2, 'error: compare --per-epoch: got 2 results; expected exactly one run directory (or its metrics.csv) and the baseline metrics CSV\n']);
    const folder = await runCli(['compare', root, file, '--per-epoch']);
    expect(folder.stderr).toBe(`error: ${root}: no metrics.csv in this directory; --per-epoch compares one run directory (e.g. <output>/<name>-<hash>), not a folder of runs\n`);
    const unknown = await runCli(['compare', run, file, '--per-epoch', '--tolerance-for', 'knn_top1=0.1']);
    expect(unknown.stderr).toBe(`error: --tolerance-for knn_top1: not a column of ${file}; its columns are loss\n`);
  });
});
