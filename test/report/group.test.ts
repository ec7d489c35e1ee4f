import { groupRuns, meanAndStd } from '../../src/report/group';
import { orderGroups } from '../../src/report/table';
import { parseCsv, quoteCsvField } from '../../src/report/csv';
import type { CollectedRun } from '../../src/report/collect';
import type { RunSummary } from '../../src/report/summary';
import { makeSummary } from './fixtures';

const run = (overrides: Partial<RunSummary>, inputIndex = 0): CollectedRun => ({ summary: makeSummary(overrides), file: 'x/summary.json', inputIndex });
const knn = (value: number) => ({ knn_top1: { value, protocol: 'knn' } });

describe('grouping seeds (METHODS.md §5.5)', () => {
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
