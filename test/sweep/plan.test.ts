import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configHash, loadConfig } from '../../src/config';
import { UserError } from '../../src/errors';
import { defaultSweepDir, expandRuns, gridCombinations, loadTaskConfig, parseGrid, planHash, readPlan, splitGridValues, tasksOf, writePlan } from '../../src/sweep/plan';
import { CONFIG } from '../e2e/support/harness';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-sweep-plan-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('grid parsing', () => {
  test('splits values at commas outside brackets, braces and quotes', () => {
    expect(splitGridValues('0.1, 0.5,1')).toEqual(['0.1', '0.5', '1']);
    expect(splitGridValues('[0.2,1.0],[0.5,1.0]')).toEqual(['[0.2,1.0]', '[0.5,1.0]']);
    expect(splitGridValues('{a: 1, b: 2},"x,y"')).toEqual(['{a: 1, b: 2}', '"x,y"']);
  });

  test('every combination, first axis slowest', () => {
    const axes = parseGrid(['a.b=1,2', 'c=x,y,z']);
    expect(gridCombinations(axes).map((c) => c.map((p) => `${p.key}=${p.value}`).join(' '))).toEqual([
      'a.b=1 c=x', 'a.b=1 c=y', 'a.b=1 c=z', 'a.b=2 c=x', 'a.b=2 c=y', 'a.b=2 c=z',
    ]);
    expect(gridCombinations([])).toEqual([[]]);
  });

  test.each([
    ['noequals', /expected key\.path=v1,v2/],
    ['seed=0,1', /use --seeds N/],
    ['a=1,,2', /empty value/],
    ['a=1,1', /listed twice/],
  ])('rejects %s', (spec, message) => {
    expect(() => parseGrid([spec])).toThrow(UserError);
    expect(() => parseGrid([spec])).toThrow(message);
  });

  test('rejects an axis given twice', () => {
    expect(() => parseGrid(['a=1', 'a=2'])).toThrow(/given twice/);
  });
});

describe('expandRuns / tasksOf', () => {
  test('run directories are ssl-bench run\'s <output>/<name>-<hash>; grid points get their own name and table label', () => {
    const output = path.join(tmp, 'out');
    const runs = expandRuns({ inputs: [CONFIG], set: ['train.epochs=2'], grid: ['method.params.temperature=0.2,0.5', 'train.batch_size=8,16'], output });
    expect(runs).toHaveLength(4);
    const plain = loadConfig(CONFIG, { set: ['train.epochs=2', 'method.params.temperature=0.2', 'train.batch_size=8'] });
    const first = runs[0].config;
    expect(first.name).toBe('tiny-simclr-temperature0.2-batch_size8');
    // batch size already separates table rows; the temperature would not.
    expect(first.method.label).toBe(`${plain.method.label} (temperature=0.2)`);
    expect(first.method.params).toEqual(plain.method.params);
    expect(runs[0].runDir).toBe(path.resolve(output, `${first.name}-${configHash(first)}`));
    expect(new Set(runs.map((r) => r.runDir)).size).toBe(4);
  });

  test('--seeds N sets n_runs: one task per seed in seed<S>/, same run directory', () => {
    const runs = expandRuns({ inputs: [CONFIG], set: [], grid: [], seeds: 3, output: path.join(tmp, 'seeds') });
    expect(runs).toHaveLength(1);
    const tasks = tasksOf(runs);
    expect(tasks.map((t) => [t.id, t.seed, path.relative(runs[0].runDir, t.seedDir)])).toEqual([[0, 3, 'seed3'], [1, 4, 'seed4'], [2, 5, 'seed5']]);
    expect(tasks[1].title).toBe(`${path.basename(runs[0].runDir)}/seed4`);
  });

  test('the same experiment reached twice runs once', () => {
    const runs = expandRuns({ inputs: [CONFIG, CONFIG], set: [], grid: [], output: path.join(tmp, 'dup') });
    expect(runs).toHaveLength(1);
  });

  test('--max-steps becomes train.max_steps', () => {
    const [run] = expandRuns({ inputs: [CONFIG], set: [], grid: [], output: tmp, maxSteps: 2 });
    expect(run.config.train.max_steps).toBe(2);
  });
});

describe('writePlan / readPlan', () => {
  test('writes plan.json and each resolved config; the task config reads back with the planned hash', () => {
    const runs = expandRuns({ inputs: [CONFIG], set: [], grid: ['method.params.temperature=0.2,0.5'], output: path.join(tmp, 'w') });
    const tasks = tasksOf(runs);
    const dir = defaultSweepDir(tasks);
    expect(dir).toBe(path.join(tmp, 'w', 'sweeps', `sweep-${planHash(tasks)}`));
    const plan = writePlan(dir, runs, { threads: 2, staleAfterS: 600 }, new Date('2026-01-02T03:04:05Z'));
    expect(readPlan(dir)).toEqual(plan);
    expect(plan).toMatchObject({ format: 'ssl-bench-sweep/1', threads: 2, stale_after_s: 600, created_at: '2026-01-02T03:04:05.000Z' });
    for (const task of plan.tasks) expect(configHash(loadTaskConfig(task))).toBe(task.configHash);

    // The same plan again keeps the first one (its thread count included); another plan is refused.
    expect(writePlan(dir, runs, { threads: 1, staleAfterS: 600 })).toEqual(plan);
    const other = expandRuns({ inputs: [CONFIG], set: [], grid: [], output: path.join(tmp, 'w') });
    expect(() => writePlan(dir, other, { threads: 2, staleAfterS: 600 })).toThrow(/holds the plan of another sweep/);
  });

  test('a task config changed after planning is refused', () => {
    const runs = expandRuns({ inputs: [CONFIG], set: [], grid: [], output: path.join(tmp, 'changed') });
    const plan = writePlan(path.join(tmp, 'changed-sweep'), runs, { threads: 1, staleAfterS: 600 });
    const file = path.join(plan.tasks[0].runDir, 'config.resolved.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('epochs: 3', 'epochs: 4'));
    expect(() => loadTaskConfig(plan.tasks[0])).toThrow(/the sweep plan says/);
  });

  test('a folder without a plan is a one-line user error', () => {
    expect(() => readPlan(tmp)).toThrow(/no sweep plan here/);
  });
});
