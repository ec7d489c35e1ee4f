import { createHash } from 'node:crypto';
import { Document, visit, isSeq } from 'yaml';
import type { ResolvedConfig } from './types';
import { CONFIG_SCHEMA } from './schema';
import { isDependent, type Default, type FieldSpec } from './spec';
import { IDENTITY_V1_FIELDS } from './identity-v1-fields';

/** JSON with object keys sorted at every level, so equal configs serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function at(root: Record<string, unknown>, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), root);
}

/**
 * Removes from `value` (a copy of the resolved config, walked along `spec`) every field that is not
 * in IDENTITY_V1_FIELDS and holds its static default. A field with a dependent default stays.
 */
function dropLaterFieldsAtDefault(spec: FieldSpec, value: unknown, path: string, root: Record<string, unknown>): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  let fields: Record<string, FieldSpec>;
  let prefix: string;
  if (spec.type === 'object') {
    fields = spec.fields;
    prefix = path;
  } else if (spec.type === 'choice') {
    const choice = String(at(root, spec.selector));
    if (!spec.choices[choice]) return;
    fields = spec.choices[choice].fields;
    prefix = `${path}@${choice}`;
  } else {
    return;
  }
  for (const [key, field] of Object.entries(fields)) {
    if (!(key in obj)) continue;
    const fieldPath = prefix ? `${prefix}.${key}` : key;
    if (field.type === 'object' || field.type === 'choice') {
      dropLaterFieldsAtDefault(field, obj[key], fieldPath, root);
    } else if (!IDENTITY_V1_FIELDS.has(fieldPath) && 'default' in field && !isDependent(field.default as Default<unknown>) && sameValue(obj[key], field.default)) {
      delete obj[key];
    }
  }
}

/**
 * The identity of an experiment: sha256 of the canonical JSON of the resolved config without its
 * machine-local fields, first 12 hex characters. Fields added to the schema after identities were
 * first published count only when set away from their default, so a config written before a field
 * existed keeps its identity, and its finished runs stay finished (identity-v1-fields.ts).
 */
export function configHash(c: ResolvedConfig): string {
  // Where things live on this machine (output folder, data root, decode cache, worker count) and
  // whether batches are prefetched do not change what is measured, so moving data or results
  // keeps a run's identity.
  const { output: _output, data, ...rest } = c;
  const { root: _root, cache_dir: _cacheDir, workers: _workers, prefetch: _prefetch, ...dataIdentity } = data;
  const identity = JSON.parse(JSON.stringify({ ...rest, data: dataIdentity })) as Record<string, unknown>;
  dropLaterFieldsAtDefault(CONFIG_SCHEMA, identity, '', identity);
  return createHash('sha256').update(canonicalJson(identity)).digest('hex').slice(0, 12);
}

/** The resolved config as YAML in schema order, headed by its hash; loading it again gives the same config. */
export function resolvedConfigYaml(c: ResolvedConfig): string {
  const doc = new Document(c);
  // Short numeric lists (betas, crop scales) read better inline.
  visit(doc, { Seq: (_key, node) => { if (isSeq(node)) node.flow = true; } });
  doc.commentBefore = ` ssl-bench resolved config, hash ${configHash(c)}`;
  return doc.toString({ lineWidth: 0 });
}
