import { createHash } from 'node:crypto';
import { Document, visit, isSeq } from 'yaml';
import type { ResolvedConfig } from './types';

/** JSON with object keys sorted at every level, so equal configs serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The identity of an experiment: sha256 of the canonical JSON of the resolved config without its
 * machine-local fields, first 12 hex characters.
 */
export function configHash(c: ResolvedConfig): string {
  // Where things live on this machine (output folder, data root, decode cache, worker count) does
  // not change what is measured, so moving data or results keeps a run's identity.
  const { output: _output, data, ...rest } = c;
  const { root: _root, cache_dir: _cacheDir, workers: _workers, ...dataIdentity } = data;
  const identity = { ...rest, data: dataIdentity };
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
