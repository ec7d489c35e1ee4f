import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { UserError } from '../../src/errors';

/**
 * The broken-config corpus: every YAML file under broken/ must fail with exactly this one-line
 * error (file:line:col field.path: message; allowed ...). Messages carry paths relative to the
 * repository root, so the test runs from there.
 */
const EXPECTED: Record<string, string> = {
  'bad-enum-dataset.yaml':
    'test/config/broken/bad-enum-dataset.yaml:2:12 data.dataset: "cifar100" is not one of cifar10, cifar10-folder, fashion-mnist, stl10, imagefolder, imagenette, imagenet100, imagenet1k, embedded-fashion-mnist',
  'backbone-pixels-with-method.yaml':
    'test/config/broken/backbone-pixels-with-method.yaml:3:9 backbone.name: "pixels" has no parameters to train, so it needs method.name: none, got method.name "byol"; allowed with method byol: resnet18-cifar, resnet18, resnet50, vit-s16, vit-b16, vit-b32',
  'bad-enum-device.yaml':
    'test/config/broken/bad-enum-device.yaml:1:9 device: "gpu" is not one of cpu, cuda, webgpu, auto',
  'bad-enum-method.yaml':
    'test/config/broken/bad-enum-method.yaml:2:9 method.name: "simclr2" is not one of barlowtwins, byol, dcl, dclw, dino, fastsiam, mae, moco, msn, nnclr, pmsn, simclr, simmim, simsiam, smog, swav, swavqueue, tico, vicreg, vicregl, none',
  'bad-enum-optimizer.yaml':
    'test/config/broken/bad-enum-optimizer.yaml:5:11 train.optimizer.name: "sgdd" is not one of sgd, lars, adam, adamw',
  'bad-enum-schedule.yaml':
    'test/config/broken/bad-enum-schedule.yaml:2:20 train.schedule.name: "cosine_warmup" is not one of cosine, cosine-warmup, constant',
  'bad-run-name.yaml':
    'test/config/broken/bad-run-name.yaml:1:7 name: "my run/1" is not allowed; allowed letters, digits, ".", "_", "+", "-" (starting with a letter or digit)',
  'duplicate-nested-key.yaml':
    'test/config/broken/duplicate-nested-key.yaml:4:3 train.epochs: duplicate key; first written at line 2, each key may appear once per mapping',
  'duplicate-top-level-key.yaml':
    'test/config/broken/duplicate-top-level-key.yaml:3:1 seed: duplicate key; first written at line 1, each key may appear once per mapping',
  'epochs-zero-with-method.yaml':
    'test/config/broken/epochs-zero-with-method.yaml:4:11 train.epochs: 0 means no pretraining, which is method.name: none, got method.name "simclr"; allowed with method simclr: integer >= 1',
  'empty.yaml':
    'test/config/broken/empty.yaml: empty config file; expected a mapping of config fields such as `method: { name: simclr }` (schema/ssl-bench.config.schema.json lists them)',
  'comments-only.yaml':
    'test/config/broken/comments-only.yaml: config file without fields (only comments or an empty mapping); expected a mapping of config fields such as `method: { name: simclr }` (schema/ssl-bench.config.schema.json lists them)',
  'empty-mapping.yaml':
    'test/config/broken/empty-mapping.yaml: config file without fields (only comments or an empty mapping); expected a mapping of config fields such as `method: { name: simclr }` (schema/ssl-bench.config.schema.json lists them)',
  'extends-empty.yaml':
    'test/config/broken/extends-empty.yaml:1:10 extends: "empty.yaml" (test/config/broken/empty.yaml) is an empty config file; extend a file that sets fields',
  'env-var-bad-name.yaml':
    'test/config/broken/env-var-bad-name.yaml:2:9 data.root: invalid variable reference "${1ROOT}"; write ${VAR} or ${VAR:-default}',
  'env-var-unset.yaml':
    'test/config/broken/env-var-unset.yaml:2:9 data.root: environment variable SSL_BENCH_TEST_UNSET_ROOT is not set; set it or write ${SSL_BENCH_TEST_UNSET_ROOT:-default}',
  'env-var-unterminated.yaml':
    'test/config/broken/env-var-unterminated.yaml:2:14 data.cache_dir: unterminated "${" in "${SSL_BENCH_CACHE:-.cache"; write ${VAR} or ${VAR:-default}',
  'extends-cycle-a.yaml':
    'test/config/broken/extends-cycle-b.yaml:2:5 extends: cycle test/config/broken/extends-cycle-a.yaml -> test/config/broken/extends-cycle-b.yaml -> test/config/broken/extends-cycle-a.yaml; a config cannot extend itself',
  'extends-cycle-b.yaml':
    'test/config/broken/extends-cycle-a.yaml:1:10 extends: cycle test/config/broken/extends-cycle-b.yaml -> test/config/broken/extends-cycle-a.yaml -> test/config/broken/extends-cycle-b.yaml; a config cannot extend itself',
  'extends-missing-file.yaml':
    'test/config/broken/extends-missing-file.yaml:2:10 extends: cannot read "does-not-exist.yaml" (test/config/broken/does-not-exist.yaml): file not found',
  'extends-parent-error.yaml':
    'test/config/broken/wrong-type-string-for-integer.yaml:2:11 train.epochs: expected integer >= 0, got string "ten"',
  'extends-self.yaml':
    'test/config/broken/extends-self.yaml:1:10 extends: cycle test/config/broken/extends-self.yaml -> test/config/broken/extends-self.yaml; a config cannot extend itself',
  'extends-wrong-type.yaml':
    'test/config/broken/extends-wrong-type.yaml:1:10 extends: expected a file path or a list of file paths, got integer 5',
  'invalid-yaml-bad-indent.yaml':
    'test/config/broken/invalid-yaml-bad-indent.yaml:3:1 invalid YAML: All mapping items must start at the same column',
  'invalid-yaml-tab-indent.yaml':
    'test/config/broken/invalid-yaml-tab-indent.yaml:2:1 invalid YAML: Tabs are not allowed as indentation',
  'invalid-yaml-unclosed-flow.yaml':
    'test/config/broken/invalid-yaml-unclosed-flow.yaml:2:1 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
  'method-none-with-epochs.yaml':
    'test/config/broken/method-none-with-epochs.yaml:2:9 method.name: "none" evaluates the backbone as initialised without training, got train.epochs 10; allowed with method none: train.epochs: 0',
  'method-param-of-other-method.yaml':
    'test/config/broken/method-param-of-other-method.yaml:4:5 method.params.temperature: unknown parameter of method "byol"; allowed: projection_hidden_dim, projection_out_dim, prediction_hidden_dim, momentum_start, momentum_end',
  'method-param-out-of-range.yaml':
    'test/config/broken/method-param-out-of-range.yaml:4:11 method.params.beta: 1.5 is out of range; allowed number in [0, 1]',
  'method-param-unknown.yaml':
    'test/config/broken/method-param-unknown.yaml:4:5 method.params.tempreature: unknown parameter of method "simclr" (did you mean "temperature"?); allowed: temperature, projection_hidden_dim, projection_out_dim, view_batches',
  'method-param-wrong-type.yaml':
    'test/config/broken/method-param-wrong-type.yaml:4:23 method.params.memory_bank_size: expected integer >= 1, got number 4096.5',
  'null-for-required-integer.yaml':
    'test/config/broken/null-for-required-integer.yaml:2:10 train.epochs: expected integer >= 0, got null',
  'out-of-range-exclusive-minimum.yaml':
    'test/config/broken/out-of-range-exclusive-minimum.yaml:3:9 train.optimizer.lr: 0 is out of range; allowed number > 0',
  'out-of-range-fraction.yaml':
    'test/config/broken/out-of-range-fraction.yaml:3:15 data.subset.fraction: 1.5 is out of range; allowed number in (0, 1] or null',
  'out-of-range-minimum.yaml':
    'test/config/broken/out-of-range-minimum.yaml:2:11 train.epochs: -1 is out of range; allowed integer >= 0',
  'out-of-range-negative-seed.yaml':
    'test/config/broken/out-of-range-negative-seed.yaml:1:7 seed: -1 is out of range; allowed integer >= 0',
  'out-of-range-probability-override.yaml':
    'test/config/broken/out-of-range-probability-override.yaml:4:16 augmentation.overrides.blur_prob: 1.5 is out of range; allowed number in [0, 1]',
  'preset-override-unknown.yaml':
    'test/config/broken/preset-override-unknown.yaml:4:5 augmentation.overrides.blur_prob: unknown field of preset "dino"; allowed: n_global_views, n_local_views, local_size, global_scale, local_scale, interpolation, hflip_prob, vflip_prob, cj_prob, cj_strength, cj_bright, cj_contrast, cj_sat, cj_hue, gray_prob, global1_blur_prob, global2_blur_prob, local_blur_prob, blur_sigma, global2_solarize_prob',
  'report-link-not-string.yaml':
    'test/config/broken/report-link-not-string.yaml:3:18 report.links.tensorboard: expected a string, got integer 5',
  'root-is-list.yaml':
    'test/config/broken/root-is-list.yaml:1:1 (root): expected a mapping of config fields, got a list',
  'root-is-scalar.yaml':
    'test/config/broken/root-is-scalar.yaml:1:1 (root): expected a mapping of config fields, got string "just a sentence"',
  'tuple-descending-range.yaml':
    'test/config/broken/tuple-descending-range.yaml:3:12 augmentation.overrides.scale: min 1 is greater than max 0.2; allowed a list of 2 numbers in [0, 1] (min, max)',
  'tuple-wrong-item-type.yaml':
    'test/config/broken/tuple-wrong-item-type.yaml:3:18 train.optimizer.betas[1]: expected number in [0, 1), got string "high"',
  'tuple-wrong-length.yaml':
    'test/config/broken/tuple-wrong-length.yaml:3:12 train.optimizer.betas: expected a list of 2 numbers in [0, 1), got 1 item',
  'unknown-nested-key-no-suggestion.yaml':
    'test/config/broken/unknown-nested-key-no-suggestion.yaml:2:3 data.colour_space: unknown key; allowed: dataset, root, train_split, test_split, image_size, subset, cache_dir, workers, prefetch',
  'unknown-nested-key.yaml':
    'test/config/broken/unknown-nested-key.yaml:2:3 train.optimzer: unknown key (did you mean "optimizer"?); allowed: epochs, batch_size, max_steps, optimizer, lr_scaling, schedule, grad_clip_norm, checkpoint_every',
  'unknown-top-level-key.yaml':
    'test/config/broken/unknown-top-level-key.yaml:2:1 epochs: unknown key (did you mean "train.epochs"?); allowed: name, seed, n_runs, device, output, method, backbone, data, augmentation, train, eval, report',
  'wrong-type-float-for-integer.yaml':
    'test/config/broken/wrong-type-float-for-integer.yaml:2:15 train.batch_size: expected integer >= 2, got number 12.5',
  'wrong-type-list-for-integer.yaml':
    'test/config/broken/wrong-type-list-for-integer.yaml:1:7 seed: expected integer >= 0, got a list',
  'wrong-type-mapping-for-integer.yaml':
    'test/config/broken/wrong-type-mapping-for-integer.yaml:2:3 seed: expected integer >= 0, got a mapping',
  'wrong-type-number-for-string.yaml':
    'test/config/broken/wrong-type-number-for-string.yaml:2:11 method.marker: expected a string, got integer 1',
  'wrong-type-scalar-for-mapping.yaml':
    'test/config/broken/wrong-type-scalar-for-mapping.yaml:1:8 train: expected a mapping, got integer 5',
  'wrong-type-string-for-boolean.yaml':
    'test/config/broken/wrong-type-string-for-boolean.yaml:3:14 eval.knn.enabled: expected true or false, got string "yes"',
  'wrong-type-string-for-integer.yaml':
    'test/config/broken/wrong-type-string-for-integer.yaml:2:11 train.epochs: expected integer >= 0, got string "ten"',
};

const REPO = path.resolve(__dirname, '..', '..');
const DIR = 'test/config/broken';

function errorOf(file: string): UserError {
  try {
    loadConfig(file, { env: {} });
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

describe('broken config corpus', () => {
  const cwd = process.cwd();
  beforeAll(() => process.chdir(REPO));
  afterAll(() => process.chdir(cwd));

  test('every file in the corpus has an expected error and vice versa', () => {
    const files = fs.readdirSync(path.join(REPO, DIR)).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual(Object.keys(EXPECTED).sort());
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  test.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const err = errorOf(`${DIR}/${name}`);
    expect(err.message).toBe(expected);
    expect(err.exitCode).toBe(2);
    expect(err.message).not.toContain('\n');
  });
});
