import { parseDocument, LineCounter, isMap, isSeq, isScalar, isAlias, isPair, Document, Node as YamlNode } from 'yaml';
import { UserError } from '../errors';

/**
 * YAML values that remember where they were written, so that errors found after `extends` merging
 * and `--set` overrides still point at the file, line and column of the offending text.
 */

/** Where a value came from: a file position, or a command-line override. */
export type Origin = { file: string; line: number; col: number } | { set: string };

export type Scalar = string | number | boolean | null;

export type LNode =
  | { kind: 'map'; entries: Map<string, LEntry>; origin: Origin }
  | { kind: 'seq'; items: LNode[]; origin: Origin }
  | { kind: 'scalar'; value: Scalar; origin: Origin };

export interface LEntry {
  keyOrigin: Origin;
  value: LNode;
}

export function formatOrigin(o: Origin): string {
  return 'set' in o ? `--set ${o.set}` : `${o.file}:${o.line}:${o.col}`;
}

/** Throws the one-line error `<origin> <field>: <message>`. */
export function fail(origin: Origin, field: string, message: string): never {
  throw new UserError(`${formatOrigin(origin)} ${field ? `${field}: ` : ''}${message}`);
}

export function describeNode(n: LNode): string {
  if (n.kind === 'map') return 'a mapping';
  if (n.kind === 'seq') return 'a list';
  const v = n.value;
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  return `${Number.isInteger(v) ? 'integer' : 'number'} ${v}`;
}

/**
 * Parses YAML text into a located tree. `display` is the file name used in error messages; for
 * command-line values it is replaced by the `--set` origin.
 */
export function parseLocated(text: string, origin: (line: number, col: number) => Origin): LNode | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true, merge: false });
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0] ?? { line: 1, col: 1 };
    const o = origin(at.line, at.col);
    fail(o, '', `invalid YAML: ${yamlMessage(err.message)}`);
  }
  if (doc.contents === null) return null;
  const at = (node: { range?: [number, number, number] | null }): Origin => {
    const pos = lineCounter.linePos(node.range?.[0] ?? 0);
    return origin(pos.line, pos.col);
  };
  return convert(doc, doc.contents as YamlNode, at, new Set(), '');
}

/** The yaml package's message without its " at line L, column C:" tail and the source excerpt. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0];
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
}

function convert(doc: Document, node: YamlNode, at: (n: { range?: [number, number, number] | null }) => Origin, seen: Set<YamlNode>, field: string): LNode {
  if (isAlias(node)) {
    const target = node.resolve(doc) as YamlNode | undefined;
    if (!target || seen.has(target)) fail(at(node), '', `invalid YAML: alias *${node.source} cannot be resolved`);
    seen.add(target);
    const resolved = convert(doc, target, at, seen, field);
    seen.delete(target);
    return resolved;
  }
  if (isMap(node)) {
    const entries = new Map<string, LEntry>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const keyOrigin = keyNode ? at(keyNode) : at(node);
      if (keyNode && !isScalar(keyNode)) fail(keyOrigin, '', 'invalid YAML: mapping keys must be plain names');
      const key = keyNode && isScalar(keyNode) ? String(keyNode.value) : '';
      const keyField = field ? `${field}.${key}` : key;
      const first = entries.get(key)?.keyOrigin;
      if (first) fail(keyOrigin, keyField, `duplicate key; first written ${'line' in first ? `at line ${first.line}` : 'earlier'}, each key may appear once per mapping`);
      const valueNode = pair.value as YamlNode | null;
      const value: LNode = valueNode ? convert(doc, valueNode, at, seen, keyField) : { kind: 'scalar', value: null, origin: keyOrigin };
      entries.set(key, { keyOrigin, value });
    }
    return { kind: 'map', entries, origin: at(node) };
  }
  if (isSeq(node)) {
    return { kind: 'seq', items: node.items.map((item, i) => convert(doc, item as YamlNode, at, seen, `${field}[${i}]`)), origin: at(node) };
  }
  if (isScalar(node)) {
    const v = node.value;
    const value: Scalar = v === undefined ? null : typeof v === 'bigint' ? Number(v) : (v as Scalar);
    if (value !== null && typeof value === 'object') fail(at(node), '', 'invalid YAML: unsupported scalar type');
    return { kind: 'scalar', value, origin: at(node) };
  }
  fail(at(node), '', 'invalid YAML: unsupported node');
}

/**
 * Deep merge for `extends` and `--set`: mappings merge key by key; lists and scalars replace; a
 * null in `over` removes the key, so the field takes its default (every nullable field defaults to
 * null, so for those this equals setting null). It lets a file that extends a base drop a base
 * setting its preset does not have (e.g. `augmentation.overrides.scale: null` for multi-crop).
 */
export function mergeTrees(base: LNode, over: LNode): LNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const entries = new Map(base.entries);
  for (const [key, entry] of over.entries) {
    const prev = entries.get(key);
    if (entry.value.kind === 'scalar' && entry.value.value === null) {
      entries.delete(key);
      continue;
    }
    entries.set(key, prev ? { keyOrigin: entry.keyOrigin, value: mergeTrees(prev.value, entry.value) } : entry);
  }
  return { kind: 'map', entries, origin: over.origin };
}

/** The plain JavaScript value of a located tree (origins dropped). */
export function plain(n: LNode): unknown {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, e] of n.entries) out[k] = plain(e.value);
  return out;
}
