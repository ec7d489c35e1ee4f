import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { CONFIG_RULES, CONFIG_SCHEMA } from './schema';
import { LNode, Origin, parseLocated, mergeTrees, fail, describeNode } from './tree';
import { interpolateTree } from './interpolate';
import { validateConfig } from './validate';
import type { ResolvedConfig } from './types';

export interface LoadOptions {
  /** `key.path=value` overrides, applied after `extends` and before interpolation. */
  set?: string[];
  /** Environment for `${VAR}` interpolation; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads a config file and resolves it: follow `extends` (depth-first, deep merge, child wins),
 * apply `--set` overrides, interpolate `${VAR:-default}`, validate, fill defaults.
 * Every problem throws a one-line UserError (exit code 2) naming file:line:col and the field.
 */
export function loadConfig(file: string, opts: LoadOptions = {}): ResolvedConfig {
  const abs = path.resolve(file);
  const display = displayPath(abs);
  let tree = loadWithExtends(abs, [abs], null);
  for (const assignment of opts.set ?? []) tree = mergeTrees(tree ?? emptyMap({ file: display, line: 1, col: 1 }), parseSet(assignment));
  const env = opts.env ?? process.env;
  const interpolated = tree ? interpolateTree(tree, env) : null;
  return validateConfig(CONFIG_SCHEMA, interpolated, abs, { file: display, line: 1, col: 1 }, env, CONFIG_RULES) as unknown as ResolvedConfig;
}

/** Paths in messages: relative to the working directory when inside it, else absolute. */
export function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

function emptyMap(origin: Origin): LNode {
  return { kind: 'map', entries: new Map(), origin };
}

interface Reference {
  origin: Origin;
  /** The path as written in the referencing file. */
  written: string;
}

/** Offset of the first byte no YAML text holds (NUL, or a byte sequence that is not UTF-8), or null. */
function binaryOffset(bytes: Buffer): number | null {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b === 0) return i;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += length;
  }
  return null;
}

function readConfigText(abs: string, ref: Reference | null): string {
  try {
    const bytes = fs.readFileSync(abs);
    const binary = binaryOffset(bytes);
    if (binary !== null) {
      const reason = `not a text file (binary data at byte ${binary}); a config is a YAML text file`;
      if (ref) fail(ref.origin, 'extends', `cannot use ${JSON.stringify(ref.written)} (${displayPath(abs)}): ${reason}`);
      throw new UserError(`${displayPath(abs)}: ${reason}`);
    }
    return bytes.toString('utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    if (ref) fail(ref.origin, 'extends', `cannot read ${JSON.stringify(ref.written)} (${displayPath(abs)}): ${reason}`);
    throw new UserError(`${displayPath(abs)}: cannot read config: ${reason}`);
  }
}

function loadWithExtends(abs: string, chain: string[], ref: Reference | null): LNode | null {
  const display = displayPath(abs);
  const text = readConfigText(abs, ref);
  const parsed = parseLocated(text, (line, col) => ({ file: display, line, col }));
  // An empty file would resolve to every default: almost surely the wrong file, never an experiment.
  if (!parsed || (parsed.kind === 'map' && parsed.entries.size === 0)) {
    const what = text.trim() === '' ? 'empty config file' : 'config file without fields (only comments or an empty mapping)';
    if (ref) fail(ref.origin, 'extends', `${JSON.stringify(ref.written)} (${display}) is an ${what}; extend a file that sets fields`);
    throw new UserError(`${display}: ${what}; expected a mapping of config fields such as \`method: { name: simclr }\` (schema/ssl-bench.config.schema.json lists them)`);
  }
  if (parsed.kind !== 'map') {
    const got = describeNode(parsed);
    fail(parsed.origin, '(root)', `expected a mapping of config fields, got ${got.length > 60 ? `${got.slice(0, 57)}...` : got}`);
  }
  const tree = withoutAbstract(parsed);
  const ext = tree.entries.get('extends');
  if (!ext) return tree;

  const own = new Map(tree.entries);
  own.delete('extends');
  let merged: LNode | null = null;
  for (const parent of extendsList(ext.value)) {
    const parentAbs = path.resolve(path.dirname(abs), parent.written);
    if (chain.includes(parentAbs)) {
      const cycle = [...chain.slice(chain.indexOf(parentAbs)), parentAbs].map(displayPath).join(' -> ');
      fail(parent.origin, 'extends', `cycle ${cycle}; a config cannot extend itself`);
    }
    const parentTree = loadWithExtends(parentAbs, [...chain, parentAbs], parent);
    if (parentTree) merged = merged ? mergeTrees(merged, parentTree) : parentTree;
  }
  const child: LNode = { kind: 'map', entries: own, origin: tree.origin };
  return merged ? mergeTrees(merged, child) : child;
}

/**
 * `abstract: true` marks a file that is only meant to be extended (a suite's base.yaml): it is not
 * an experiment by itself, so `run` and `table` skip it. Like `extends` it belongs to the file, not
 * to the experiment: it is removed before merging (a child of an abstract file is concrete) and
 * never reaches the resolved config or its hash.
 */
function withoutAbstract(tree: LNode & { kind: 'map' }): LNode & { kind: 'map' } {
  const entry = tree.entries.get('abstract');
  if (!entry) return tree;
  if (entry.value.kind !== 'scalar' || typeof entry.value.value !== 'boolean') {
    fail(entry.value.origin, 'abstract', `expected true or false, got ${describeNode(entry.value)}`);
  }
  const entries = new Map(tree.entries);
  entries.delete('abstract');
  return { ...tree, entries };
}

/** Whether `file` itself says `abstract: true` (its parents' flags do not count). */
export function isAbstractConfig(file: string): boolean {
  const abs = path.resolve(file);
  const display = displayPath(abs);
  const tree = parseLocated(readConfigText(abs, null), (line, col) => ({ file: display, line, col }));
  if (!tree || tree.kind !== 'map') return false;
  const entry = tree.entries.get('abstract');
  if (!entry) return false;
  if (entry.value.kind !== 'scalar' || typeof entry.value.value !== 'boolean') {
    fail(entry.value.origin, 'abstract', `expected true or false, got ${describeNode(entry.value)}`);
  }
  return entry.value.value;
}

/**
 * The config files named by command-line arguments, in order: a file as given, a folder as its
 * `*.yaml` / `*.yml` files (sorted, not recursive), each with whether it says `abstract: true`.
 * A file that cannot be read or parsed counts as concrete: loading it reports the problem.
 */
export function expandConfigArgs(args: readonly string[]): { file: string; abstract: boolean }[] {
  const out: { file: string; abstract: boolean }[] = [];
  for (const arg of args) {
    let files = [arg];
    if (fs.existsSync(arg) && fs.statSync(arg).isDirectory()) {
      files = fs.readdirSync(arg).filter((n) => /\.ya?ml$/i.test(n)).sort().map((n) => path.join(arg, n));
      if (files.length === 0) throw new UserError(`${arg}: folder holds no .yaml config files`);
    }
    for (const file of files) {
      let abstract = false;
      try {
        abstract = isAbstractConfig(file);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
      }
      out.push({ file, abstract });
    }
  }
  return out;
}

function extendsList(value: LNode): Reference[] {
  const bad = (n: LNode): never => fail(n.origin, 'extends', `expected a file path or a list of file paths, got ${describeNode(n)}`);
  const one = (n: LNode): Reference => (n.kind === 'scalar' && typeof n.value === 'string' && n.value !== '' ? { origin: n.origin, written: n.value } : bad(n));
  if (value.kind === 'seq') return value.items.map(one);
  return [one(value)];
}

const SET_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** `a.b=value` → a tree `{a: {b: value}}` whose every node points at this `--set`. */
function parseSet(assignment: string): LNode {
  const eq = assignment.indexOf('=');
  const key = eq > 0 ? assignment.slice(0, eq).trim() : '';
  if (!SET_PATH.test(key)) throw new UserError(`--set ${assignment}: expected key.path=value, e.g. --set train.epochs=10`);
  const origin: Origin = { set: assignment };
  const value = parseLocated(assignment.slice(eq + 1), () => origin) ?? { kind: 'scalar', value: null, origin };
  const restamp = (n: LNode): LNode => {
    if (n.kind === 'map') return { ...n, origin, entries: new Map([...n.entries].map(([k, e]) => [k, { keyOrigin: origin, value: restamp(e.value) }])) };
    if (n.kind === 'seq') return { ...n, origin, items: n.items.map(restamp) };
    return { ...n, origin };
  };
  let tree = restamp(value);
  for (const k of key.split('.').reverse()) tree = { kind: 'map', entries: new Map([[k, { keyOrigin: origin, value: tree }]]), origin };
  return tree;
}
