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

const HEADER = 'model,backbone,batch_size,epochs,knn_top1,knn_top1_std,runtime_minutes,peak_memory_gb,runs';
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
      'Model   Backbone  Batch  Epochs  Metric           Baseline  Current    Delta  Tolerance  Status',
      'Moco*   Res18       512     200  knn_top1           0.8125   0.8125  +0.0000     0.0100  OK',
      'Moco*   Res18       512     200  runtime_minutes    112.20   112.20    +0.00  not gated  INFO',
      'Moco*   Res18       512     200  peak_memory_gb       5.60     5.60    +0.00  not gated  INFO',
      'SimCLR  Res18       128     200  knn_top1           0.8470   0.8470  +0.0000     0.0100  OK',
      'SimCLR  Res18       128     200  runtime_minutes     98.00    98.00    +0.00  not gated  INFO',
      'SimCLR  Res18       128     200  peak_memory_gb       1.50     1.50    +0.00  not gated  INFO',
      `PASS: 6 values compared against ${file}: 2 OK, 0 IMPROVED, 0 REGRESSION, 0 MISSING, 4 not gated`,
      '',
    ].join('\n'));
  });

  test('a drop beyond the tolerance is a REGRESSION: exit 1 with the diff on stdout and one line on stderr', async () => {
    const file = baseline('SimCLR,Res18,128,200,0.8700,,,,1', 'Moco*,Res18,512,200,0.8000,,,,1');
    const result = await runCli(['compare', results, file, '--tolerance', '0.01']);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').slice(1, 3)).toEqual([
      'SimCLR  Res18       128     200  knn_top1    0.8700   0.8470  -0.0230     0.0100  REGRESSION',
      'Moco*   Res18       512     200  knn_top1    0.8000   0.8125  +0.0125     0.0100  IMPROVED',
    ]);
    expect(result.stdout).toContain(`FAIL: 2 values compared against ${file}: 0 OK, 1 IMPROVED, 1 REGRESSION, 0 MISSING, 0 not gated`);
    expect(result.stderr).toBe(`error: compare: 1 value(s) regressed beyond tolerance or missing against ${file}\n`);
  });

  test('per-metric tolerances override --tolerance; a drop of exactly the tolerance passes', async () => {
    const file = baseline('SimCLR,Res18,128,200,0.8700,,,,1', 'Moco*,Res18,512,200,0.8225,,,,1');
    const result = await runCli(['compare', results, '--baseline', file, '--tolerance-for', 'knn_top1=0.03']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Moco*   Res18       512     200  knn_top1    0.8225   0.8125  -0.0100     0.0300  OK');
    const exact = await runCli(['compare', results, '--baseline', file, '--tolerance', '0.01', '--tolerance-for', 'knn_top1=0.023']);
    expect(exact.code).toBe(0);
  });

  test('a baseline row without results is MISSING (exit 1); results without a baseline row are listed, not gated', async () => {
    fs.rmSync(path.join(results, 'moco'), { recursive: true });
    const file = baseline('SimCLR,Res18,128,200,0.8470,,,,3', 'DINO,Res18,128,200,0.8400,,,,1');
    writeRun(results, 'byol', makeSummary({ method: 'byol', label: 'BYOL' }));
    const result = await runCli(['compare', results, file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('DINO    Res18       128     200  knn_top1    0.8400        -        -     0.0100  MISSING');
    expect(result.stdout).toContain('not in baseline (not gated): BYOL Res18 batch 128 epochs 200');
  });

  test('runtime is reported only, unless --tolerance-for runtime_minutes gives a relative tolerance', async () => {
    const file = baseline('SimCLR,Res18,128,200,0.8470,,80.00,,3');
    expect((await runCli(['compare', results, file])).code).toBe(0);
    const gated = await runCli(['compare', results, file, '--tolerance-for', 'runtime_minutes=0.2']);
    expect(gated.code).toBe(1);
    expect(gated.stdout).toContain('SimCLR  Res18       128     200  runtime_minutes     80.00    98.00   +18.00      20.0%  REGRESSION');
    const loose = await runCli(['compare', results, file, '--tolerance-for', 'runtime_minutes=0.25']);
    expect(loose.code).toBe(0);
  });

  test('--json gives every comparison with its status', async () => {
    const file = baseline('SimCLR,Res18,128,200,0.8700,,,,1');
    const result = await runCli(['compare', results, file, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      baseline: file,
      passed: false,
      comparisons: [{
        model: 'SimCLR', backbone: 'Res18', batch_size: 128, epochs: 200, metric: 'knn_top1', baseline: 0.87,
        current: expect.closeTo(0.847, 12), delta: expect.closeTo(-0.023, 12), tolerance: 0.01, tolerance_kind: 'absolute', status: 'REGRESSION',
      }],
      not_in_baseline: [{ model: 'Moco*', backbone: 'Res18', batch_size: 512, epochs: 200 }],
    });
  });

  describe('malformed input: one line, exit 2', () => {
    const cases: [string, string, (file: string) => string][] = [
      ['missing identity column', 'model,backbone,epochs,knn_top1\nSimCLR,Res18,200,0.8\n',
        (f) => `error: ${f}:1:1 header: missing column "batch_size"; a baseline needs model, backbone, batch_size, epochs (as written by \`ssl-bench table --format csv\`)\n`],
      ['display headers instead of keys', 'model,backbone,batch_size,epochs,kNN Top 1\nSimCLR,Res18,128,200,0.847\n',
        (f) => `error: ${f}:1:34 header: "kNN Top 1" is not a metric name; expected lowercase metric keys such as knn_top1 (write the baseline with \`ssl-bench table --format csv\`)\n`],
      ['not a number', `${HEADER}\nSimCLR,Res18,128,200,0.8x,,,,1\n`, (f) => `error: ${f}:2:22 knn_top1: got "0.8x"; expected a number or an empty cell\n`],
      ['ragged row', `${HEADER}\nSimCLR,Res18,128,200,0.8\n`, (f) => `error: ${f}:2:1 row has 5 fields; expected 9 like the header\n`],
      ['unterminated quote', `${HEADER}\n"SimCLR,Res18,128,200,0.8,,,,1\n`, (f) => `error: ${f}:2:1 invalid CSV: unterminated quoted field\n`],
      ['bad batch size', `${HEADER}\nSimCLR,Res18,big,200,0.8,,,,1\n`, (f) => `error: ${f}:2:14 batch_size: got "big"; expected a positive integer\n`],
      ['duplicate row', `${HEADER}\nSimCLR,Res18,128,200,0.8,,,,1\nSimCLR,Res18,128,200,0.8,,,,1\n`, (f) => `error: ${f}:3:1 duplicate row for SimCLR Res18 batch 128 epochs 200; one row per run group\n`],
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
      const file = baseline('SimCLR,Res18,128,200,0.8470,,,,3');
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
