import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { isAbstractConfig } from '../../src/config/load';
import { loadConfig, configHash } from '../../src/config';
import { METHODS } from '../../src/registry';

const REPO = path.resolve(__dirname, '..', '..');
const BASE = 'configs/cifar10/base.yaml';
const SIMCLR = 'configs/cifar10/simclr-bs128-ep200.yaml';
const BROKEN = 'test/config/broken/bad-enum-optimizer.yaml';
const BROKEN_LINE = `${BROKEN}:5:11 train.optimizer.name: "sgdd" is not one of sgd, lars, adam, adamw`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process and captures what it writes. */
async function cli(...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'ssl-bench', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const hashOf = (file: string) => configHash(loadConfig(file));

let tmp: string;
const cwd = process.cwd();
beforeAll(() => {
  process.chdir(REPO);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-cli-'));
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('validate', () => {
  test('every committed config is valid', async () => {
    const files = fs.readdirSync('configs', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).map((f) => path.join('configs', f)).sort();
    expect(files).toContain(SIMCLR);
    const r = await cli('validate', ...files);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A suite's base file says `abstract: true`: valid, but not an experiment (no hash).
    expect(r.stdout).toBe(files.map((f) => (isAbstractConfig(f) ? `ok ${f} (abstract, only meant to be extended)\n` : `ok ${f} (${hashOf(f)})\n`)).join(''));
  });

  test('an invalid file prints its error line and exits 2; valid ones still report ok', async () => {
    const r = await cli('validate', BASE, BROKEN);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(`ok ${BASE} (abstract, only meant to be extended)\n`);
    expect(r.stderr).toBe(`${BROKEN_LINE}\nerror: validate: 1 of 2 configs invalid\n`);
  });

  test('--json reports every file', async () => {
    const r = await cli('validate', '--json', SIMCLR, BROKEN);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual([
      { file: SIMCLR, ok: true, hash: hashOf(SIMCLR) },
      { file: BROKEN, ok: false, error: BROKEN_LINE },
    ]);
  });

  test('--set applies to every file and its errors name the --set', async () => {
    const ok = await cli('validate', SIMCLR, '--set', 'train.epochs=3');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`ok ${SIMCLR} (${configHash(loadConfig(SIMCLR, { set: ['train.epochs=3'] }))})\n`);
    const bad = await cli('validate', SIMCLR, '--set', 'train.epoch=3');
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('--set train.epoch=3 train.epoch: unknown key (did you mean "epochs"?); allowed: epochs, batch_size, max_steps, optimizer, lr_scaling, schedule, grad_clip_norm, checkpoint_every');
  });

  test('a missing file is one line, exit 2', async () => {
    const r = await cli('validate', 'configs/none.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('configs/none.yaml: cannot read config: file not found\nerror: validate: 1 of 1 config invalid\n');
  });

  test('no file is a usage error', async () => {
    const r = await cli('validate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing required argument 'files'");
  });
});

describe('config', () => {
  test('prints the resolved YAML headed by the hash', async () => {
    const r = await cli('config', SIMCLR);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`# ssl-bench resolved config, hash ${hashOf(SIMCLR)}`);
    expect(r.stdout).toContain('\n    cj_strength: 0.5\n');
    expect(r.stdout).toContain('\n  label: SimCLR\n');
  });

  test('--json prints hash and config; --set is applied', async () => {
    const r = await cli('config', SIMCLR, '--json', '--set', 'method.params.temperature=0.2');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    const expected = loadConfig(SIMCLR, { set: ['method.params.temperature=0.2'] });
    expect(parsed).toEqual({ hash: configHash(expected), config: expected });
    expect(parsed.config.method.params.temperature).toBe(0.2);
  });

  test('an invalid config is one line on stderr, exit 2, nothing on stdout', async () => {
    const r = await cli('config', BROKEN);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `error: ${BROKEN_LINE}\n` });
  });
});

describe('list', () => {
  test('without a kind lists all four catalogues', async () => {
    const r = await cli('list');
    expect(r.code).toBe(0);
    for (const heading of ['methods:', 'backbones:', 'datasets:', 'presets:']) expect(r.stdout).toContain(`${heading}\n`);
    expect(r.stdout).toMatch(/^ {2}moco +Moco +Momentum Contrast/m);
    expect(r.stdout).toMatch(/^ {2}vit-s16 +ViT-S\/16 +ViT-Small/m);
  });

  test('methods --json gives the 20 methods with table labels, and none (the floor rows)', async () => {
    const r = await cli('list', 'methods', '--json');
    expect(r.code).toBe(0);
    const methods = JSON.parse(r.stdout) as { id: string; label: string }[];
    expect(methods).toHaveLength(21);
    expect(methods[20]).toMatchObject({ id: 'none', label: 'No pretraining' });
    expect(methods.map((m) => m.label)).toEqual(METHODS.map((m) => m.label));
    expect(methods.find((m) => m.id === 'swavqueue')?.label).toBe('SwaVQueue');
  });

  test('backbones lists pixels (the raw-pixel floor) with its label', async () => {
    const r = await cli('list', 'backbones');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {2}pixels +Pixels +the normalised image flattened: C·H·W features, no parameters/);
  });

  test('an unknown kind exits 2 naming the allowed kinds', async () => {
    const r = await cli('list', 'losses');
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'error: list: unknown kind "losses"; allowed methods, backbones, datasets, presets\n' });
  });
});

describe('run', () => {
  // No CIFAR-10 here: a run gets as far as loading the data, which fails with the one-line hint.
  const missingData = 'error: data.root: cifar10 not found: looked for data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin in data/cifar10/cifar-10-batches-bin, data/cifar10; fetch it with: ssl-bench data download cifar10 --root data/cifar10\n';

  test('prepares <output>/<name>-<hash>/ and hands over to the engine; a run that fails before training leaves no directory', async () => {
    const output = path.join(tmp, 'a');
    const runDir = path.join(output, `simclr-bs128-ep200-${configHash({ ...loadConfig(SIMCLR), output })}`);
    const r = await cli('run', SIMCLR, '--output', output);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(`${SIMCLR}: run directory ${runDir}\n${SIMCLR}: nothing was trained; removed ${runDir}\n`);
    expect(r.stderr).toBe(missingData);
    expect(fs.readdirSync(output)).toEqual([]);
  });

  test('a directory in which a run trained is kept when a later attempt fails', async () => {
    const output = path.join(tmp, 'a2');
    const runDir = path.join(output, `simclr-bs128-ep200-${hashOf(SIMCLR)}`);
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'metrics.csv'), 'epoch,steps,loss\n1,5,4.2\n');
    const r = await cli('run', SIMCLR, '--output', output, '--resume');
    expect([r.code, r.stderr]).toEqual([2, missingData]);
    expect(fs.readdirSync(runDir).sort()).toEqual(['config.resolved.yaml', 'metrics.csv']);
  });

  test('--max-steps becomes train.max_steps and part of the run identity', async () => {
    const output = path.join(tmp, 'b');
    const r = await cli('run', SIMCLR, '--output', output, '--max-steps', '5');
    expect(r.code).toBe(2);
    const runName = path.basename(/run directory (.*)\n/.exec(r.stdout)![1]);
    const saved = { ...loadConfig(SIMCLR, { set: ['train.max_steps=5'] }), output };
    expect(saved.train.max_steps).toBe(5);
    expect(runName).toBe(`simclr-bs128-ep200-${configHash(saved)}`);
    expect(runName).not.toBe(`simclr-bs128-ep200-${hashOf(SIMCLR)}`);
  });

  test('a finished run is not rerun without --force', async () => {
    const output = path.join(tmp, 'c');
    const runDir = path.join(output, `simclr-bs128-ep200-${hashOf(SIMCLR)}`);
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({ status: 'finished' }));
    const skipped = await cli('run', SIMCLR, '--output', output);
    expect(skipped).toEqual({ code: 0, stdout: `${SIMCLR}: already finished, results in ${path.join(runDir, 'summary.json')} (use --force to rerun)\n`, stderr: '' });
    const forced = await cli('run', SIMCLR, '--output', output, '--force');
    expect(forced.code).toBe(2);
    expect(forced.stderr).toBe(missingData);
  });

  test('an unfinished or malformed summary', async () => {
    const output = path.join(tmp, 'd');
    const runDir = path.join(output, `simclr-bs128-ep200-${hashOf(SIMCLR)}`);
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({ status: 'running' }));
    // An unfinished run without a checkpoint resumes from scratch (and here stops at the missing data).
    expect(await cli('run', SIMCLR, '--output', output, '--resume')).toMatchObject({ code: 2, stderr: missingData });
    fs.writeFileSync(path.join(runDir, 'summary.json'), '{"status": ');
    const r = await cli('run', SIMCLR, '--output', output);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*summary\.json: malformed summary\.json \(.*\); delete it or rerun with --force\n$/);
  });

  test('every config is validated before any run starts', async () => {
    const output = path.join(tmp, 'e');
    const r = await cli('run', SIMCLR, BROKEN, '--output', output);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `error: ${BROKEN_LINE}\n` });
    expect(fs.existsSync(output)).toBe(false);
  });

  test('two configs resolving to the same run run once', async () => {
    const output = path.join(tmp, 'f');
    const r = await cli('run', SIMCLR, SIMCLR, '--output', output);
    const runDir = path.join(output, `simclr-bs128-ep200-${hashOf(SIMCLR)}`);
    expect(r.stdout.split('\n')[0]).toBe(`${SIMCLR}: same experiment as ${SIMCLR} (${runDir}), run once`);
    expect(r.stdout.match(/run directory /g)).toHaveLength(1);
    expect([r.code, r.stderr]).toEqual([2, missingData]);
  });

  test('--threads is machine-local: not part of the run identity', async () => {
    const output = path.join(tmp, 'g');
    const r = await cli('run', SIMCLR, '--output', output, '--threads', '1');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(missingData);
    expect(r.stdout).toContain(`run directory ${path.join(output, `simclr-bs128-ep200-${hashOf(SIMCLR)}`)}\n`);
    const bad = await cli('run', SIMCLR, '--threads', '1.5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--threads <n>' argument '1.5' is invalid. expected an integer >= 1");
    // More intra-op threads than cores only measure contention.
    const cores = os.availableParallelism();
    const tooMany = await cli('run', SIMCLR, '--threads', String(cores + 1));
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain(`option '--threads <n>' argument '${cores + 1}' is invalid. ${cores + 1} is more than this machine's ${cores} cores; use at most ${cores}`);
  });

  test('eval.knn.k larger than the kNN bank is an error before training, and leaves no directory', async () => {
    const output = path.join(tmp, 'k');
    // configs/ci/simclr-steps.yaml trains on 13 images per class of the embedded sample: a bank of 130.
    const r = await cli('run', 'configs/ci/simclr-steps.yaml', '--output', output, '--threads', '1', '--set', 'eval.knn.k=131');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: eval.knn.k: 131 is larger than the kNN bank, the 130 labelled training images of embedded-fashion-mnist/train (data.subset); use at most 130\n');
    expect(fs.readdirSync(output)).toEqual([]);
  }, 60_000);

  test('--max-steps must be a positive integer', async () => {
    const r = await cli('run', SIMCLR, '--max-steps', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--max-steps <n>' argument '0' is invalid. expected an integer >= 1");
  });
});

describe('--help', () => {
  test.each([
    ['validate', '--json'],
    ['config', '--set <key.path=value>'],
    ['list', '[kind]'],
    ['run', '--max-steps <n>'],
  ])('%s --help exits 0 and documents its options', async (command, option) => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: ssl-bench ${command}`);
    expect(r.stdout).toContain(option);
  });

  test('an unknown option is a usage error', async () => {
    const r = await cli('config', SIMCLR, '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });
});
