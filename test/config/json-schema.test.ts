import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema, configJsonSchemaText, JSON_SCHEMA_PATH } from '../../src/config/json-schema';
import { loadConfig } from '../../src/config';

const REPO = path.resolve(__dirname, '..', '..');
type Json = Record<string, unknown>;

/**
 * An independent checker for the draft 2020-12 keywords the generated schema uses, so the test
 * shows what an editor's validator would say about a config. Returns the failing instance paths.
 */
function check(schema: Json, value: unknown, at = '$'): string[] {
  const errors: string[] = [];
  const types = schema.type === undefined ? [] : ([] as unknown[]).concat(schema.type);
  const typeOf = (v: unknown): string[] => {
    if (v === null) return ['null'];
    if (Array.isArray(v)) return ['array'];
    if (typeof v === 'number') return Number.isInteger(v) ? ['integer', 'number'] : ['number'];
    return [typeof v === 'object' ? 'object' : typeof v];
  };
  if (types.length && !typeOf(value).some((t) => types.includes(t))) return [`${at}: type`];
  if (schema.const !== undefined && value !== schema.const) errors.push(`${at}: const`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: enum`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errors.push(`${at}: exclusiveMinimum`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) errors.push(`${at}: exclusiveMaximum`);
  }
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: pattern`);
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${at}: minItems`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push(`${at}: maxItems`);
    if (schema.items) value.forEach((v, i) => errors.push(...check(schema.items as Json, v, `${at}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Json;
    const props = (schema.properties ?? {}) as Record<string, Json>;
    for (const req of (schema.required ?? []) as string[]) if (!(req in obj)) errors.push(`${at}.${req}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...check(props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}.${k}: additionalProperties`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...check(schema.additionalProperties as Json, v, `${at}.${k}`));
    }
  }
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((s) => check(s as Json, value, at).length === 0).length !== 1) errors.push(`${at}: oneOf`);
  for (const branch of (schema.allOf ?? []) as Json[]) {
    if (branch.if && check(branch.if as Json, value, at).length === 0) errors.push(...check(branch.then as Json, value, at));
    else if (!branch.if) errors.push(...check(branch, value, at));
  }
  return errors;
}

describe('published JSON Schema', () => {
  test(`${JSON_SCHEMA_PATH} is the generated schema (run \`npm run schema\` after changing the config schema)`, () => {
    expect(fs.readFileSync(path.join(REPO, JSON_SCHEMA_PATH), 'utf8')).toBe(configJsonSchemaText());
  });

  test('declares draft 2020-12 and describes every property', () => {
    const schema = configJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const undescribed: string[] = [];
    const walk = (s: Json, at: string) => {
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
        // if/then branches wrap the per-method/preset objects in bare {properties} paths.
        const structural = v.type === undefined && v.oneOf === undefined;
        if (!structural && (typeof v.description !== 'string' || v.description === '')) undescribed.push(`${at}.${k}`);
        walk(v, `${at}.${k}`);
      }
    };
    walk(schema, '$');
    for (const branch of schema.allOf as Json[]) walk(branch.then as Json, '$(branch)');
    expect(undescribed).toEqual([]);
  });

  test('accepts the example configs and resolved configs', () => {
    const schema = configJsonSchema();
    for (const file of ['configs/cifar10/base.yaml', 'configs/cifar10/simclr-bs128-ep200.yaml']) {
      const full = path.join(REPO, file);
      expect(check(schema, parseYaml(fs.readFileSync(full, 'utf8')))).toEqual([]);
      expect(check(schema, JSON.parse(JSON.stringify(loadConfig(full, { env: {} }))))).toEqual([]);
    }
  });

  test('rejects what the validator rejects: unknown keys, bad enums, ranges, wrong method params', () => {
    const schema = configJsonSchema();
    expect(check(schema, { train: { optimzer: {} } })).toEqual(['$.train.optimzer: additionalProperties']);
    expect(check(schema, { train: { optimizer: { name: 'sgdd' } } })).toEqual(['$.train.optimizer.name: enum']);
    expect(check(schema, { train: { epochs: -1 } })).toEqual(['$.train.epochs: minimum']);
    expect(check(schema, { method: { name: 'byol', params: { temperature: 0.5 } } })).toEqual(['$.method.params.temperature: additionalProperties']);
    expect(check(schema, { method: { name: 'simclr', params: { temperature: 0.5 } } })).toEqual([]);
    expect(check(schema, { augmentation: { preset: 'dino', overrides: { local_blur_prob: 2 } } })).toEqual(['$.augmentation.overrides.local_blur_prob: maximum']);
    expect(check(schema, { extends: ['a.yaml', 'b.yaml'] })).toEqual([]);
    expect(check(schema, { extends: 5 })).toEqual(['$.extends: oneOf']);
  });

  test('carries the cross-field rules of method none: epochs 0 only with none, none only with epochs 0, pixels only with none', () => {
    const schema = configJsonSchema();
    expect(check(schema, { method: { name: 'none' }, backbone: { name: 'pixels' }, train: { epochs: 0 } })).toEqual([]);
    expect(check(schema, { method: { name: 'simclr' }, train: { epochs: 0 } })).toEqual(['$.method.name: const']);
    expect(check(schema, { method: { name: 'none' }, train: { epochs: 20 } })).toEqual(['$.train.epochs: const']);
    expect(check(schema, { method: { name: 'byol' }, backbone: { name: 'pixels' } })).toEqual(['$.method.name: const']);
    // A file that leaves the other field to its `extends` parent is not judged by the editor.
    expect(check(schema, { method: { name: 'none' } })).toEqual([]);
  });
});
