import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import { CONFIG_RULES, CONFIG_SCHEMA } from './schema';
import { FieldSpec, ObjectSpec, ChoiceSpec, NumberSpec, isDependent } from './spec';

/**
 * Generates the published JSON Schema (draft 2020-12) from CONFIG_SCHEMA, so editors with a YAML
 * language server validate and autocomplete configs. Per-method params and per-preset overrides
 * become if/then branches on `method.name` / `augmentation.preset`.
 */

type Json = Record<string, unknown>;

export const JSON_SCHEMA_PATH = 'schema/ssl-bench.config.schema.json';

export function configJsonSchema(): Json {
  const root = objectSchema(CONFIG_SCHEMA);
  const props = root.properties as Json;
  const withExtends: Json = {
    extends: {
      description: 'config file(s) this one builds on, relative to this file; deep merge, this file wins',
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
    },
    abstract: {
      description: 'true: this file is only meant to be extended (a suite base.yaml); run and table skip it. Not inherited, not part of the run hash',
      type: 'boolean',
    },
    ...props,
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:ssl-bench:config-schema',
    title: 'ssl-bench experiment config',
    ...root,
    properties: withExtends,
    allOf: [...choiceBranches(CONFIG_SCHEMA, []), ...ruleBranches()],
  };
}

/** The file's exact text: what `npm run schema` writes and the test compares against. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

function objectSchema(spec: ObjectSpec): Json {
  const properties: Json = {};
  for (const [key, field] of Object.entries(spec.fields)) properties[key] = fieldSchema(field);
  return { type: 'object', description: spec.description, properties, additionalProperties: false };
}

function fieldSchema(spec: FieldSpec): Json {
  switch (spec.type) {
    case 'object':
      return objectSchema(spec);
    case 'choice':
      // The keys depend on the selector; the allOf branches at the root say which are allowed.
      return { type: 'object', description: spec.description };
    case 'map':
      return { type: 'object', description: spec.description, additionalProperties: { type: 'string' } };
    case 'string': {
      const s: Json = { type: spec.nullable ? ['string', 'null'] : 'string', description: describe(spec.description, spec.default) };
      if (spec.enum) s.enum = spec.nullable ? [...spec.enum, null] : [...spec.enum];
      if (spec.pattern) s.pattern = spec.pattern.regex;
      return withDefault(s, spec.default);
    }
    case 'number':
    case 'integer':
      return withDefault({ ...numberSchema(spec), description: describe(spec.description, spec.default) }, spec.default);
    case 'boolean':
      return { type: 'boolean', description: spec.description, default: spec.default };
    case 'tuple': {
      const s: Json = { type: spec.nullable ? ['array', 'null'] : 'array', description: spec.description, items: numberSchema(spec.items), minItems: spec.length, maxItems: spec.length };
      return withDefault(s, spec.default);
    }
  }
}

function numberSchema(spec: NumberSpec): Json {
  const s: Json = { type: spec.nullable ? [spec.type, 'null'] : spec.type };
  if (spec.minimum !== undefined) s.minimum = spec.minimum;
  if (spec.exclusiveMinimum !== undefined) s.exclusiveMinimum = spec.exclusiveMinimum;
  if (spec.maximum !== undefined) s.maximum = spec.maximum;
  if (spec.exclusiveMaximum !== undefined) s.exclusiveMaximum = spec.exclusiveMaximum;
  return s;
}

function describe(description: string, def: unknown): string {
  return isDependent(def as never) ? `${description} (default: ${(def as { describe: string }).describe})` : description;
}

function withDefault(s: Json, def: unknown): Json {
  if (!isDependent(def as never)) s.default = Array.isArray(def) ? [...def] : def;
  return s;
}

/** One `if <selector> = id then <field> has exactly these keys` branch per choice. */
function choiceBranches(spec: ObjectSpec, at: string[]): Json[] {
  const branches: Json[] = [];
  for (const [key, field] of Object.entries(spec.fields)) {
    if (field.type === 'object') branches.push(...choiceBranches(field, [...at, key]));
    if (field.type === 'choice') branches.push(...choiceSpecBranches(field, [...at, key]));
  }
  return branches;
}

function nest(keys: string[], leaf: Json, required: boolean): Json {
  let s = leaf;
  for (const k of [...keys].reverse()) s = { properties: { [k]: s }, ...(required ? { required: [k] } : {}) };
  return s;
}

function choiceSpecBranches(spec: ChoiceSpec, at: string[]): Json[] {
  const selector = spec.selector.split('.');
  return Object.entries(spec.choices).map(([id, choice]) => ({
    if: nest(selector, { const: id }, true),
    then: nest(at, objectSchema(choice), false),
  }));
}

/**
 * One `if <when> then <then>` branch per cross-field rule. A file that does not write `then.field`
 * passes (it may come from an `extends` parent), as with the choice branches.
 */
function ruleBranches(): Json[] {
  return CONFIG_RULES.map((rule) => ({
    if: nest(rule.when.field.split('.'), { const: rule.when.equals }, true),
    then: nest(rule.then.field.split('.'), { const: rule.then.equals }, false),
  }));
}

if (require.main === module) {
  const target = path.resolve(__dirname, '..', '..', JSON_SCHEMA_PATH);
  writeFileAtomic(target, configJsonSchemaText());
  process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
}
