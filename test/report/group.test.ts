import { groupRuns, meanAndStd } from '../../src/report/group';
import { orderGroups } from '../../src/report/table';
import { parseCsv, quoteCsvField } from '../../src/report/csv';
import type { CollectedRun } from '../../src/report/collect';
import type { RunSummary } from '../../src/report/summary';
import { makeSummary } from './fixtures';

const run = (overrides: Partial<RunSummary>, inputIndex = 0): CollectedRun => ({ summary: makeSummary(overrides), file: 'x/summary.json', inputIndex });
const knn = (value: number) => ({ knn_top1: { value, protocol: 'knn' } });

describe('grouping seeds (docs/methods.md §5.5)', () => {
  test('mean and population std (ddof 0), as numpy.mean / numpy.std', () => {
    expect(meanAndStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(1.25) });
    expect(meanAndStd([0.5])).toEqual({ mean: 0.5, std: 0 });
  });

  test('runs sharing label+marker, backbone, batch, epochs and dataset form one group: mean accuracy, mean runtime, max memory', () => {
    const groups = groupRuns([
      run({ seed: 0, metrics: knn(0.80), runtime_minutes: 10, peak_memory_gb: 2 }),
      run({ seed: 1, metrics: knn(0.90), runtime_minutes: 20, peak_memory_gb: 3 }),
      run({ seed: 2, metrics: {}, runtime_minutes: 30, peak_memory_gb: 1 }),
      run({ marker: '*', metrics: knn(0.7) }),
      run({ dataset: 'stl10' }),
      run({ epochs: 800 }),
      run({ status: 'diverged' }),
    ]);
    expect(groups).toHaveLength(5);
    const [seeds] = groups;
    expect(seeds.runs.map((r) => r.seed)).toEqual([0, 1, 2]);
    expect(seeds.metrics.knn_top1.n).toBe(2);
    expect(seeds.metrics.knn_top1.mean).toBeCloseTo(0.85, 15);
    expect(seeds.metrics.knn_top1.std).toBeCloseTo(0.05, 15);
    expect(seeds.runtimeMinutes).toBe(20);
    expect(seeds.peakMemoryGb).toBe(3);
    expect(groups.map((g) => [g.key.marker, g.key.dataset, g.key.epochs, g.key.diverged])).toEqual([
      ['', 'cifar10', 200, false], ['*', 'cifar10', 200, false], ['', 'stl10', 200, false], ['', 'cifar10', 800, false], ['', 'cifar10', 200, true],
    ]);
  });
});

describe('row order', () => {
  const labels = (runs: CollectedRun[], order?: string[]): string[] => orderGroups(groupRuns(runs), order).map((g) => `${g.key.label}${g.key.marker}/${g.key.batchSize}`);

  test('inputs in the order given, then label case-insensitively, then batch size', () => {
    expect(labels([run({ label: 'SwaV' }, 1), run({ label: 'SMoG' }, 1), run({ label: 'byol', batch_size: 512 }), run({ label: 'BarlowTwins' }), run({ label: 'byol' })]))
      .toEqual(['BarlowTwins/128', 'byol/128', 'byol/512', 'SMoG/128', 'SwaV/128']);
  });

  test('--order entries match the label with or without its marker; unlisted labels follow alphabetically', () => {
    expect(labels([run({ label: 'SMoG' }), run({ label: 'Moco', marker: '*' }), run({ label: 'DINO' }), run({ label: 'SwaV' })], ['SwaV', 'SMoG', 'Moco']))
      .toEqual(['SwaV/128', 'SMoG/128', 'Moco*/128', 'DINO/128']);
  });
});

describe('CSV', () => {
  test('quoting follows RFC 4180', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded'].map(quoteCsvField)).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '" padded"']);
  });

  test('parser reads quoted fields, CRLF line ends, empty trailing fields, and keeps positions', () => {
    const records = parseCsv('a,b,c\r\n"x,1","say ""hi""",\r\n"two\nlines",2,3\n');
    expect(records.map((r) => r.map((f) => f.text))).toEqual([['a', 'b', 'c'], ['x,1', 'say "hi"', ''], ['two\nlines', '2', '3']]);
    expect(records[1].map((f) => [f.line, f.col])).toEqual([[2, 1], [2, 7], [2, 20]]);
    expect(records[2][1]).toMatchObject({ line: 4, col: 8 });
  });
});

describe('only runs that differ in the seed alone are averaged', () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const { makeTempDir, runCli, writeRun } = require('./fixtures') as typeof import('./fixtures');
  const { configHash } = require('../../src/config/hash') as typeof import('../../src/config/hash');
  let root: string;
  beforeEach(() => { root = makeTempDir(); });
  afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

  const config = (seed: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'simclr', seed, n_runs: 1, output: 'results', method: { name: 'simclr', label: 'SimCLR' },
    augmentation: { preset: 'simclr', overrides: { cj_strength: 0.5 } }, data: { dataset: 'cifar10', root: '/data' }, ...extra,
  });
  /** A run directory as `ssl-bench run` leaves it: config.resolved.yaml next to summary.json. */
  const writeWithConfig = (name: string, cfg: Record<string, unknown>, summary: Partial<RunSummary>): void => {
    const dir = writeRun(root, name, makeSummary({ seed: cfg.seed as number, config_hash: configHash(cfg as never), ...summary }));
    fs.writeFileSync(path.join(dir, 'config.resolved.yaml'), JSON.stringify(cfg));
  };

  test('a suite\'s base.yaml run next to the SimCLR row (same label, other settings) is an error naming what differs, not a mean', async () => {
    writeWithConfig('simclr', config(0), { metrics: knn(0.131) });
    writeWithConfig('base', config(0, { name: 'base', augmentation: { preset: 'simclr', overrides: { cj_strength: 0.8 } } }), { metrics: knn(0.095) });
    const result = await runCli(['table', root]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error: ${path.join(root, 'base', 'summary.json')} and ${path.join(root, 'simclr', 'summary.json')} would both be the row "SimCLR Res18 batch 128 epochs 200 cifar10", but their configs differ in augmentation.overrides.cj_strength, name; only runs that differ in the seed alone are averaged. Tabulate one of them, or tell them apart with method.label / method.marker\n`);
  });

  test('seeds of one experiment (configs equal but for seed, n_runs and machine-local fields) are averaged', async () => {
    writeWithConfig('s0', config(0), { metrics: knn(0.8) });
    writeWithConfig('s1', config(1, { n_runs: 3, output: 'elsewhere', data: { dataset: 'cifar10', root: '/mnt/other' } }), { metrics: knn(0.9) });
    // A newer summary carries the hash itself; it equals the one an older run's resolved config gives.
    writeWithConfig('s2', config(2), { metrics: knn(0.85), config_hash_without_seed: configHash({ ...config(0), seed: 0, n_runs: 1 } as never) });
    const result = await runCli(['table', root, '--format', 'csv']);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('SimCLR,Res18,128,200,cifar10,0.8500,0.0408,97.70,1.50,3');
  });

  test('the summary\'s config_hash_without_seed decides when present; without it and without a resolved config, config_hash', () => {
    const a = run({ seed: 0, config_hash_without_seed: 'aaaaaaaaaaaa', config_hash: '111111111111' });
    const b = run({ seed: 1, config_hash_without_seed: 'aaaaaaaaaaaa', config_hash: '222222222222' });
    expect(groupRuns([a, b])[0].runs).toHaveLength(2);
    const c = run({ seed: 2, config_hash_without_seed: 'bbbbbbbbbbbb' });
    expect(() => groupRuns([a, c])).toThrow('their configs differ beyond the seed (config hashes 111111111111 and 0123456789ab)');
    // Older summaries: the seeds of one n_runs experiment share config_hash; separately run seeds do not.
    expect(groupRuns([run({ seed: 0 }), run({ seed: 1 })])[0].runs).toHaveLength(2);
    expect(() => groupRuns([run({ seed: 0 }), run({ seed: 1, config_hash: 'fedcba987654' })])).toThrow(/would both be the row "SimCLR Res18 batch 128 epochs 200 cifar10"/);
  });

  test('the same run twice (same experiment and seed) is an error: a seed counts once', () => {
    expect(() => groupRuns([run({ seed: 3 }), { ...run({ seed: 3 }), file: 'y/summary.json' }]))
      .toThrow('x/summary.json and y/summary.json are the same experiment with the same seed 3 (row "SimCLR Res18 batch 128 epochs 200 cifar10"); a seed counts once: tabulate one of them');
  });
});
