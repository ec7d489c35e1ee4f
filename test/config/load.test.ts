import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, configHash, resolvedConfigYaml, METHOD_PARAMS, PRESET_PARAMS } from '../../src/config';
import type { ResolvedConfig, MethodId, PresetId, MethodParams, PresetFields } from '../../src/config';
import { METHODS, PRESETS, methodSpec } from '../../src/registry';
import { UserError } from '../../src/errors';

let dir: string;
const cwd = process.cwd();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-config-'));
  // Error messages name files relative to the working directory.
  process.chdir(dir);
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return name;
}

function load(name: string, opts: { set?: string[]; env?: NodeJS.ProcessEnv } = {}): ResolvedConfig {
  return loadConfig(name, { env: {}, ...opts });
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('defaults', () => {
  test('a file that sets one field resolves every other to the documented defaults', () => {
    const c = load(write('empty-run.yaml', 'seed: 0\n'));
    expect(c.name).toBe('empty-run');
    expect(c.method).toEqual({ name: 'simclr', label: 'SimCLR', marker: '', params: { temperature: 0.5, projection_hidden_dim: 512, projection_out_dim: 128, view_batches: 'separate' } });
    // depth, patch_size, image_size apply to ViTs (null: the backbone's own).
    expect(c.backbone).toEqual({ name: 'resnet18-cifar', label: 'Res18', width: 1, split_bn: 0, depth: null, patch_size: null, image_size: null });
    expect(c.data.root).toBe('data/cifar10');
    expect(c.data.cache_dir).toBe('.cache/ssl-bench');
    expect(c.train.optimizer).toEqual({ name: 'sgd', lr: 0.06, momentum: 0.9, nesterov: false, weight_decay: 5e-4, betas: [0.9, 0.999], eps: 1e-8, exclude_norm_bias_from_wd: false, trust_coefficient: 0.001 });
    expect(c.eval.knn).toEqual({ enabled: true, k: 200, temperature: 0.1, every: 1, feature: 'default' });
    expect(c.eval.linear.schedule).toEqual({ name: 'cosine', interval: 'step', warmup_epochs: 0, end_factor: 0.001 });
    expect(c.augmentation.overrides.scale).toEqual([0.08, 1]);
    expect(c.report.links).toEqual({});
  });

  test('dependent defaults follow the chosen method, backbone and dataset', () => {
    const c = load(write('dep.yaml', 'method: {name: moco}\nbackbone: {name: vit-b32}\ndata: {dataset: imagenette}\n'), { env: { DATA_ROOT: '/datasets' } });
    expect(c.method.label).toBe('Moco');
    expect(c.method.params).toEqual({ temperature: 0.1, memory_bank_size: 4096, momentum: 0.99, projection_hidden_dim: 512, projection_out_dim: 128, symmetric: true, shuffle_bn: true });
    expect(c.backbone.label).toBe('ViT-B/32');
    expect(c.data).toMatchObject({ root: '/datasets/imagenette2-160', image_size: 160, test_split: 'val' });
    expect(c.augmentation.input_size).toBe(128);
  });

  test('every registry method and preset has a parameter spec, and nothing else does', () => {
    expect(Object.keys(METHOD_PARAMS).sort()).toEqual(METHODS.map((m) => m.id).sort());
    for (const m of METHODS) expect(methodSpec(m.id)!.params).toBe(METHOD_PARAMS[m.id as MethodId]);
    expect(Object.keys(PRESET_PARAMS).sort()).toEqual(PRESETS.map((p) => p.id).sort());
    for (const m of METHODS) {
      // Method none (no pretraining) is the one that needs train.epochs: 0.
      const epochs = m.id === 'none' ? 'train: {epochs: 0}\n' : '';
      const c = load(write(`m-${m.id}.yaml`, `method: {name: ${m.id}}\n${epochs}`));
      expect(Object.keys(c.method.params)).toEqual(Object.keys(METHOD_PARAMS[m.id as MethodId].fields));
    }
    for (const p of PRESETS) {
      const c = load(write(`p-${p.id}.yaml`, `augmentation: {preset: ${p.id}}\n`));
      expect(Object.keys(c.augmentation.overrides)).toEqual(Object.keys(PRESET_PARAMS[p.id as PresetId].fields));
    }
  });

  test('method params from docs/methods.md §4 keep their documented defaults', () => {
    const params = (id: string) => load(write(`d-${id}.yaml`, `method: {name: ${id}}\n`)).method.params;
    expect(params('barlowtwins').lambda).toBe(0.005);
    expect(params('vicreg')).toMatchObject({ lambda: 25, mu: 25, nu: 1 });
    expect(params('tico')).toMatchObject({ beta: 0.9, rho: 8 });
    expect(params('dclw')).toMatchObject({ temperature: 0.1, sigma: 0.5 });
    expect(params('nnclr')).toMatchObject({ temperature: 0.5, memory_bank_size: 4096 });
    expect(params('vicregl').num_matches).toEqual([16, 4]);
  });

  test('MethodParams / PresetFields type the resolved params for engine code', () => {
    const c = load(write('typed.yaml', 'method: {name: moco}\naugmentation: {preset: dino}\n'));
    const moco = c.method.params as MethodParams<'moco'>;
    const dino = c.augmentation.overrides as PresetFields<'dino'>;
    const bank: number = moco.memory_bank_size;
    const shuffle: boolean = moco.shuffle_bn;
    const scale: number[] = dino.local_scale;
    expect([bank, shuffle, scale]).toEqual([4096, true, [0.05, 0.4]]);
  });
});

describe('files that are no config', () => {
  test('an empty file is an error naming the file, not a run of every default', () => {
    expect(errorOf(() => load(write('blank.yaml', '\n\n')))).toBe('blank.yaml: empty config file; expected a mapping of config fields such as `method: { name: simclr }` (schema/ssl-bench.config.schema.json lists them)');
  });

  test('a binary file is one short line, not its bytes', () => {
    const bytes = Buffer.alloc(3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) % 256;
    bytes.write('\x7fELF', 0, 'latin1');
    fs.writeFileSync(path.join(dir, 'model.onnx.yaml'), bytes);
    const message = errorOf(() => load('model.onnx.yaml'));
    expect(message).toBe('model.onnx.yaml: not a text file (binary data at byte 4); a config is a YAML text file');
    // Text that is not UTF-8 (Latin-1 bytes) counts as binary too; the message names the first bad byte.
    fs.writeFileSync(path.join(dir, 'latin1.yaml'), Buffer.from('name: caf\xe9\n', 'latin1'));
    expect(errorOf(() => load('latin1.yaml'))).toBe('latin1.yaml: not a text file (binary data at byte 9); a config is a YAML text file');
  });

  test('a long scalar as the whole file is shortened in the message', () => {
    const message = errorOf(() => load(write('prose.yaml', `${'word '.repeat(600)}\n`)));
    expect(message).toMatch(/^prose\.yaml:1:1 \(root\): expected a mapping of config fields, got string "word word .*\.\.\.$/);
    expect(message.length).toBeLessThan(130);
  });
});

describe('extends', () => {
  test('maps merge deeply, lists and scalars are replaced, the child wins', () => {
    write('suite/base.yaml', 'seed: 1\ntrain:\n  epochs: 100\n  optimizer: {lr: 0.1, betas: [0.8, 0.9], weight_decay: 0.001}\n');
    write('suite/runs/child.yaml', 'extends: ../base.yaml\ntrain:\n  optimizer: {lr: 0.2, betas: [0.5, 0.6]}\n');
    const c = load('suite/runs/child.yaml');
    expect(c.seed).toBe(1);
    expect(c.train.epochs).toBe(100);
    expect(c.train.optimizer).toMatchObject({ lr: 0.2, betas: [0.5, 0.6], weight_decay: 0.001 });
    expect(c.name).toBe('child');
  });

  test('a list of parents merges left to right, then the child', () => {
    write('multi/a.yaml', 'seed: 1\nn_runs: 2\ndevice: cuda\n');
    write('multi/b.yaml', 'seed: 5\nn_runs: 3\n');
    write('multi/c.yaml', 'extends: [a.yaml, b.yaml]\nn_runs: 4\n');
    expect(load('multi/c.yaml')).toMatchObject({ seed: 5, n_runs: 4, device: 'cuda' });
  });

  test('parents resolve their own extends relative to themselves', () => {
    write('deep/x/root.yaml', 'train: {epochs: 7}\n');
    write('deep/y/mid.yaml', 'extends: ../x/root.yaml\ntrain: {batch_size: 64}\n');
    write('deep/leaf.yaml', 'extends: y/mid.yaml\n');
    expect(load('deep/leaf.yaml').train).toMatchObject({ epochs: 7, batch_size: 64 });
  });

  test('a diamond (two parents sharing a grandparent) is not a cycle', () => {
    write('dia/root.yaml', 'seed: 9\n');
    write('dia/l.yaml', 'extends: root.yaml\n');
    write('dia/r.yaml', 'extends: root.yaml\n');
    write('dia/leaf.yaml', 'extends: [l.yaml, r.yaml]\n');
    expect(load('dia/leaf.yaml').seed).toBe(9);
  });

  test('an error inside a parent points at the parent file', () => {
    write('perr/base.yaml', 'train:\n  epochs: -3\n');
    write('perr/run.yaml', 'extends: base.yaml\n');
    expect(errorOf(() => load('perr/run.yaml'))).toBe('perr/base.yaml:2:11 train.epochs: -3 is out of range; allowed integer >= 0');
  });

  test('a file name that cannot be a run name must be overridden by name:', () => {
    expect(errorOf(() => load(write('my run.yaml', 'seed: 1\n')))).toBe(
      'my run.yaml:1:1 name: default "my run" (the config file name without extension) is not allowed; write name: explicitly, using letters, digits, ".", "_", "+", "-" (starting with a letter or digit)',
    );
    expect(load(write('my run2.yaml', 'name: my-run\n')).name).toBe('my-run');
  });

  test('a missing top-level file is one line', () => {
    expect(errorOf(() => load('nope/missing.yaml'))).toBe('nope/missing.yaml: cannot read config: file not found');
  });
});

describe('interpolation', () => {
  const file = () => write('interp.yaml', 'data:\n  root: ${ROOT:-/default}/cifar10\n  cache_dir: "$$HOME/${CACHE}"\ntrain:\n  epochs: ${EPOCHS:-12}\n');

  test('${VAR:-default} uses the variable when set and non-empty, else the default', () => {
    expect(load(file(), { env: { CACHE: 'c' } }).data.root).toBe('/default/cifar10');
    expect(load(file(), { env: { CACHE: 'c', ROOT: '' } }).data.root).toBe('/default/cifar10');
    expect(load(file(), { env: { CACHE: 'c', ROOT: '/mnt' } }).data.root).toBe('/mnt/cifar10');
  });

  test('$$ is a literal dollar; a value that is one reference is read as a YAML scalar', () => {
    const c = load(file(), { env: { CACHE: 'c', EPOCHS: '30' } });
    expect(c.data.cache_dir).toBe('$HOME/c');
    expect(c.train.epochs).toBe(30);
    expect(load(file(), { env: { CACHE: 'c' } }).train.epochs).toBe(12);
  });

  test('an unset variable without default names the field', () => {
    expect(errorOf(() => load(file()))).toBe('interp.yaml:3:14 data.cache_dir: environment variable CACHE is not set; set it or write ${CACHE:-default}');
  });

  test('interpolation happens after --set', () => {
    expect(load(file(), { env: { CACHE: 'c', R2: '/r2' }, set: ['data.root=${R2}'] }).data.root).toBe('/r2');
  });
});

describe('--set', () => {
  const base = () => write('set-base.yaml', 'train:\n  epochs: 10\n  optimizer: {lr: 0.1, betas: [0.9, 0.99]}\nmethod: {name: moco}\n');

  test('values are parsed as YAML and override files', () => {
    const c = load(base(), { set: ['train.epochs=3', 'train.optimizer.betas=[0.5, 0.6]', 'method.params={temperature: 0.2}', 'method.marker="*"', 'data.subset.per_class=5'] });
    expect(c.train.epochs).toBe(3);
    expect(c.train.optimizer.lr).toBe(0.1);
    expect(c.train.optimizer.betas).toEqual([0.5, 0.6]);
    expect(c.method.params.temperature).toBe(0.2);
    expect(c.method.params.memory_bank_size).toBe(4096);
    expect(c.method.marker).toBe('*');
    expect(c.data.subset.per_class).toBe(5);
  });

  test('later --set wins; method params follow a method changed by --set', () => {
    const c = load(base(), { set: ['seed=1', 'seed=2', 'method.name=byol'] });
    expect(c.seed).toBe(2);
    expect(c.method.label).toBe('BYOL');
    expect(c.method.params).toHaveProperty('momentum_start', 0.99);
  });

  test('an unknown path names the --set', () => {
    expect(errorOf(() => load(base(), { set: ['train.optimzer.lr=0.2'] }))).toBe(
      '--set train.optimzer.lr=0.2 train.optimzer: unknown key (did you mean "optimizer"?); allowed: epochs, batch_size, max_steps, optimizer, lr_scaling, schedule, grad_clip_norm, checkpoint_every',
    );
    expect(errorOf(() => load(base(), { set: ['method.params.memory_bank=10'] }))).toBe(
      '--set method.params.memory_bank=10 method.params.memory_bank: unknown parameter of method "moco" (did you mean "memory_bank_size"?); allowed: temperature, memory_bank_size, momentum, projection_hidden_dim, projection_out_dim, symmetric, shuffle_bn',
    );
  });

  test('a bad value names the --set', () => {
    expect(errorOf(() => load(base(), { set: ['train.epochs=many'] }))).toBe('--set train.epochs=many train.epochs: expected integer >= 0, got string "many"');
    expect(errorOf(() => load(base(), { set: ['train.epochs=[1,'] }))).toMatch(/^--set train\.epochs=\[1, invalid YAML: /);
    // A bare * is a YAML alias; markers must be quoted: --set 'method.marker="*"'.
    expect(errorOf(() => load(base(), { set: ['method.marker=*'] }))).toBe('--set method.marker=* invalid YAML: Alias cannot be an empty string');
  });

  test('a malformed assignment is rejected', () => {
    expect(errorOf(() => load(base(), { set: ['train.epochs'] }))).toBe('--set train.epochs: expected key.path=value, e.g. --set train.epochs=10');
    expect(errorOf(() => load(base(), { set: ['=3'] }))).toBe('--set =3: expected key.path=value, e.g. --set train.epochs=10');
    expect(errorOf(() => load(base(), { set: ['train..epochs=3'] }))).toBe('--set train..epochs=3: expected key.path=value, e.g. --set train.epochs=10');
  });
});

describe('hash and resolved YAML', () => {
  test('the hash is 12 hex characters, independent of key order and of output', () => {
    const a = load(write('h/a.yaml', 'name: same\nseed: 3\ntrain: {epochs: 5, batch_size: 64}\noutput: x\n'));
    const b = load(write('h/b.yaml', 'output: somewhere/else\ntrain: {batch_size: 64, epochs: 5}\nseed: 3\nname: same\n'));
    expect(configHash(a)).toMatch(/^[0-9a-f]{12}$/);
    expect(configHash(a)).toBe(configHash(b));
    const c = load(write('h/c.yaml', 'name: same\nseed: 4\ntrain: {epochs: 5, batch_size: 64}\n'));
    expect(configHash(c)).not.toBe(configHash(a));
  });

  test('the hash of a fixed config does not drift between builds', () => {
    // Changing any default changes every hash; update this value only on purpose.
    const c = load(write('h/pinned.yaml', 'name: pinned\n'));
    expect(configHash(c)).toBe(PINNED_HASH);
  });

  test('resolved YAML loads back to the same config and hash', () => {
    const original = load(write('rt/src.yaml', 'method: {name: vicregl}\naugmentation: {preset: dino}\ndata: {subset: {fraction: 0.5}}\nreport: {links: {tensorboard: "https://x/y"}}\n'));
    const text = resolvedConfigYaml(original);
    expect(text.startsWith(`# ssl-bench resolved config, hash ${configHash(original)}\n`)).toBe(true);
    const again = load(write('rt/src-resolved.yaml', text));
    expect(again).toEqual(original);
    expect(configHash(again)).toBe(configHash(original));
  });
});

const PINNED_HASH = 'b314fee8ea0d';

describe('hash identity', () => {
  test('machine-local fields (data root, cache dir, workers, output) do not change the hash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-hash-'));
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    fs.writeFileSync(a, 'name: x\n');
    fs.writeFileSync(b, 'name: x\noutput: elsewhere\ndata:\n  root: /mnt/data\n  cache_dir: /tmp/c\n  workers: 7\n');
    const c = path.join(dir, 'c.yaml');
    fs.writeFileSync(c, 'name: x\nseed: 1\n');
    expect(configHash(loadConfig(b))).toBe(configHash(loadConfig(a)));
    expect(configHash(loadConfig(c))).not.toBe(configHash(loadConfig(a)));
  });
});
