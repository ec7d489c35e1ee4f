/**
 * Configs that are only meant to be extended (`abstract: true`), folders as `run`/`validate`
 * arguments, aliases that resolve to another file's run, and --max-steps runs marked "smoke" and
 * kept out of tables unless asked for — through the loader and the CLI's main().
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configHash, expandConfigArgs, isAbstractConfig, loadConfig } from '../../src/config';
import { cli } from '../e2e/support/harness';

let tmp: string;
let suite: string;

const BASE = `abstract: true
seed: 3
device: cpu
backbone: { name: resnet18-cifar, width: 0.0625 }
data: { dataset: embedded-fashion-mnist, image_size: 28, subset: { per_class: 4, test_per_class: 4 } }
augmentation: { input_size: 28 }
train: { epochs: 3, batch_size: 8, optimizer: { name: sgd, lr: 0.06, momentum: 0.9, weight_decay: 5.0e-4 } }
eval: { knn: { enabled: true, k: 5, temperature: 0.1, every: 1 } }
`;
const ROW = `extends: base.yaml
name: simclr-bs8-ep3
method: { name: simclr, params: { temperature: 0.5, projection_hidden_dim: 16, projection_out_dim: 8 } }
augmentation: { preset: simclr, overrides: { cj_strength: 0.5, blur_prob: 0.0 } }
`;
const ALIAS = 'extends: simclr-bs8-ep3.yaml\n';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-abstract-'));
  suite = path.join(tmp, 'suite');
  fs.mkdirSync(suite);
  fs.writeFileSync(path.join(suite, 'base.yaml'), BASE);
  fs.writeFileSync(path.join(suite, 'simclr-bs8-ep3.yaml'), ROW);
  fs.writeFileSync(path.join(suite, 'simclr.yaml'), ALIAS);
  fs.writeFileSync(path.join(suite, 'notes.txt'), 'not a config');
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('abstract: true', () => {
  test('belongs to the file: not inherited, not in the resolved config, not in the hash', () => {
    expect(isAbstractConfig(path.join(suite, 'base.yaml'))).toBe(true);
    expect(isAbstractConfig(path.join(suite, 'simclr-bs8-ep3.yaml'))).toBe(false);
    const row = loadConfig(path.join(suite, 'simclr-bs8-ep3.yaml'));
    expect('abstract' in row).toBe(false);
    const concreteBase = path.join(tmp, 'concrete');
    fs.mkdirSync(concreteBase);
    fs.writeFileSync(path.join(concreteBase, 'base.yaml'), BASE.replace('abstract: true\n', ''));
    fs.writeFileSync(path.join(concreteBase, 'simclr-bs8-ep3.yaml'), ROW);
    expect(configHash(loadConfig(path.join(concreteBase, 'simclr-bs8-ep3.yaml')))).toBe(configHash(row));
  });

  test('a value other than true/false is a one-line error at its position', async () => {
    const file = path.join(tmp, 'bad-abstract.yaml');
    fs.writeFileSync(file, 'abstract: yes please\nseed: 1\n');
    expect(() => loadConfig(file)).toThrow(`${file}:1:11 abstract: expected true or false, got string "yes please"`);
  });

  test('a folder expands to its .yaml files in name order (other files ignored), each flagged', () => {
    expect(expandConfigArgs([suite]).map((f) => [path.basename(f.file), f.abstract])).toEqual([
      ['base.yaml', true], ['simclr-bs8-ep3.yaml', false], ['simclr.yaml', false],
    ]);
  });

  test('validate checks an abstract file and says what it is', async () => {
    const r = await cli('validate', suite);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`ok ${path.join(suite, 'base.yaml')} (abstract, only meant to be extended)`);
    expect(lines[1]).toMatch(/^ok .*simclr-bs8-ep3\.yaml \([0-9a-f]{12}\)$/);
    expect(lines[2].slice(-14)).toBe(lines[1].slice(-14));
  });

  test('run with only abstract files refuses, naming them', async () => {
    const r = await cli('run', path.join(suite, 'base.yaml'), '--output', path.join(tmp, 'none'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: run: ${path.join(suite, 'base.yaml')} is abstract (only meant to be extended); run a config that extends it\n`);
    expect(fs.existsSync(path.join(tmp, 'none'))).toBe(false);
  });
});

describe('run <folder> --max-steps: base skipped, alias run once, result marked smoke', () => {
  let output: string;
  let first: Awaited<ReturnType<typeof cli>>;

  beforeAll(async () => {
    output = path.join(tmp, 'out');
    first = await cli('run', suite, '--output', output, '--max-steps', '2', '--threads', '1');
  });

  test('skips base.yaml, runs the row once and reports the alias as the same experiment', () => {
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`${path.join(suite, 'base.yaml')}: abstract (only meant to be extended), skipped\n`);
    expect(first.stdout).toMatch(new RegExp(`${path.join(suite, 'simclr.yaml').replace(/[.\\/]/g, '\\$&')}: same experiment as .*simclr-bs8-ep3\\.yaml \\(.*\\), run once`));
    expect(fs.readdirSync(output)).toHaveLength(1);
  });

  test('the summary says smoke, with the configured epochs', () => {
    const [dir] = fs.readdirSync(output);
    const summary = JSON.parse(fs.readFileSync(path.join(output, dir, 'summary.json'), 'utf8')) as { status: string; epochs: number };
    expect(summary.status).toBe('smoke');
    expect(summary.epochs).toBe(3);
  });

  test('tables leave smoke runs out unless asked, and mark them', async () => {
    const hidden = await cli('table', output);
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toBe('error: no finished runs to tabulate (found 1 smoke); tables show finished runs (add --include-diverged to show diverged ones; add --include-smoke to show --max-steps smoke runs)\n');
    const shown = await cli('table', output, '--include-smoke', '--format', 'csv');
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n')[1]).toMatch(/^SimCLR \(smoke\),Res18,8,3,/);
  });

  test('running it again reports the completed smoke run instead of redoing it', async () => {
    const again = await cli('run', path.join(suite, 'simclr.yaml'), '--output', output, '--max-steps', '2', '--threads', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already finished');
  });

  test('the same config without --max-steps is another run (train.max_steps is part of the identity)', () => {
    const withCap = loadConfig(path.join(suite, 'simclr.yaml'), { set: ['train.max_steps=2'] });
    const without = loadConfig(path.join(suite, 'simclr.yaml'));
    expect(configHash(withCap)).not.toBe(configHash(without));
  });
});
