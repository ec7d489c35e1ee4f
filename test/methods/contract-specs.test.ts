/**
 * One spec per method (src/methods/registry.ts), backbone (src/nn/backbones) and dataset
 * (src/data/datasets.ts) is the only list: the catalogue, the config
 * schema's method ids and parameter schemas, the JSON Schema and `ssl-bench list` all derive from
 * it, and a config that names nothing but a method (plus the backbone a ViT method needs) gets the
 * method's own preset and passes the run's preparation checks.
 */
import { loadConfig } from '../../src/config';
import { configJsonSchema } from '../../src/config/json-schema';
import { METHOD_SPECS } from '../../src/methods/registry';
import { BACKBONE_IDS, BACKBONE_SPECS, createBackbone } from '../../src/nn/backbones';
import { DATASET_IDS, DATASET_SPECS, type DatasetSpec } from '../../src/data/datasets';
import { BACKBONES, DATASETS, METHODS, PRESETS, ids } from '../../src/registry';
import { checkRunnable } from '../../src/runner/prepare-method';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-specs-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function resolve(yaml: string) {
  const file = path.join(tmp, 'x.yaml');
  fs.writeFileSync(file, yaml);
  return loadConfig(file, {});
}

/**
 * What a method needs beyond the config defaults (CIFAR-10, resnet18-cifar, 32 px): a ViT for the
 * token-masking methods; SMoG trains on one crop per group and VICRegL's grid must match the
 * 4 x 4 feature map (the transform classes' own defaults are the ImageNet ones).
 */
const VIT = 'backbone: {name: vit-b32, width: 0.1, depth: 1}\n';
const NEEDS: Record<string, string> = {
  mae: VIT, msn: VIT, pmsn: VIT, simmim: VIT,
  smog: 'augmentation: {overrides: {n_global_views: 1, n_local_views: 1}}\n',
  vicregl: 'augmentation: {overrides: {n_local_views: 0, global_grid_size: 4}}\n',
};

describe('method specs', () => {
  test('the catalogue and list derive from the specs; ids unique; presets and sections exist', () => {
    expect(new Set(METHOD_SPECS.map((m) => m.id)).size).toBe(METHOD_SPECS.length);
    expect(ids(METHODS).sort()).toEqual(METHOD_SPECS.map((m) => m.id).sort());
    for (const m of METHOD_SPECS) {
      expect(ids(PRESETS)).toContain(m.defaultPreset);
      expect(m.label.length).toBeGreaterThan(0);
      expect(m.description.length).toBeGreaterThan(10);
      expect(m.section).toMatch(/^§\d/);
      expect(METHODS.find((e) => e.id === m.id)).toEqual({ id: m.id, label: m.label, description: m.description, defaultPreset: m.defaultPreset });
    }
  });

  test('the JSON Schema offers exactly the registered methods, each with its spec\'s parameters', () => {
    const schema = JSON.stringify(configJsonSchema());
    const nameEnum = /"name":\{"type":"string","description":"method id","enum":(\[[^\]]*\])/.exec(schema);
    expect(nameEnum).not.toBeNull();
    expect((JSON.parse(nameEnum![1]) as string[]).sort()).toEqual(METHOD_SPECS.map((m) => m.id).sort());
    for (const m of METHOD_SPECS) for (const field of Object.keys(m.params.fields)) expect(schema).toContain(`"${field}"`);
  });

  test.each(METHOD_SPECS.filter((m) => m.id !== 'none').map((m) => [m.id, m.defaultPreset]))(
    '%s: a config naming only the method (and what it needs) gets preset %s and is runnable',
    (id, preset) => {
      const config = resolve(`method: {name: ${id}}\n${NEEDS[id] ?? ''}`);
      expect(config.augmentation.preset).toBe(preset);
      expect(() => checkRunnable(config)).not.toThrow();
    },
  );

  test('a preset set in the config wins over the method\'s default', () => {
    expect(resolve('method: {name: byol}\naugmentation: {preset: simclr}\n').augmentation.preset).toBe('simclr');
    expect(resolve('method: {name: none}\ntrain: {epochs: 0}\n').augmentation.preset).toBe('simclr');
  });
});

describe('backbone specs', () => {
  test('the catalogue derives from the specs, and each builds with the feature size its entry states', () => {
    expect(BACKBONES.map((b) => b.id)).toEqual([...BACKBONE_IDS]);
    for (const id of BACKBONE_IDS) {
      const spec = BACKBONE_SPECS[id];
      expect(BACKBONES.find((b) => b.id === id)).toEqual({ id, label: spec.label, description: spec.description, featureDim: spec.featureDim });
      const built = createBackbone(id, { depth: 1, imageSize: id.startsWith('vit') ? 64 : 32 });
      expect(built.featureDim).toBe(spec.featureDim ?? 3 * 32 * 32);
    }
    expect(() => createBackbone('resnet34')).toThrow(/backbone 'resnet34' is unknown; allowed: resnet18-cifar, resnet18, resnet50, vit-s16, vit-b16, vit-b32, pixels/);
  });
});

describe('dataset specs', () => {
  test('the catalogue derives from the specs; every format resolves its candidate folders', () => {
    expect(DATASETS.map((d) => d.id)).toEqual([...DATASET_IDS]);
    for (const id of DATASET_IDS) {
      const { format, candidateDirs, ...entry } = DATASET_SPECS[id] as DatasetSpec;
      expect(DATASETS.find((d) => d.id === id)).toEqual({ id, ...entry });
      expect(['cifar10-binary', 'idx', 'stl10-binary', 'image-folder']).toContain(format);
      expect(candidateDirs?.('r') ?? ['r']).toContain('r');
    }
  });
});
