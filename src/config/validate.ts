import { FieldRule, FieldSpec, ObjectSpec, NumberSpec, StringSpec, ResolveContext, describeAllowed, isDependent } from './spec';
import { LNode, Origin, describeNode, fail } from './tree';
import { didYouMean } from './suggest';
import { interpolateString } from './interpolate';

/**
 * Checks a merged, interpolated config tree against the schema and the cross-field `rules`, and
 * returns the plain resolved value with every default filled. The first problem found throws a
 * one-line UserError that names the origin (file:line:col or --set), the field path and what is
 * allowed.
 */
export function validateConfig(schema: ObjectSpec, tree: LNode | null, file: string, rootOrigin: Origin, env: NodeJS.ProcessEnv, rules: readonly FieldRule[] = []): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const ctx: Walk = { root, file, env, schema, origins: new Map() };
  validateObject(schema, tree, '', ctx, root, rootOrigin);
  for (const rule of rules) {
    if (readPath(root, rule.when.field) !== rule.when.equals) continue;
    const actual = readPath(root, rule.then.field);
    if (actual === rule.then.equals) continue;
    const origin = ctx.origins.get(rule.when.field);
    if (!origin) throw new Error(`config rule on '${rule.when.field}': no such leaf field in the schema`);
    fail(origin, rule.when.field, rule.message(actual));
  }
  return root;
}

/** The resolve context plus the whole schema (for suggestions across sections) and where each leaf came from. */
interface Walk extends ResolveContext {
  schema: ObjectSpec;
  /** Leaf field path → where its value was written, or where its default applies (the enclosing mapping). */
  origins: Map<string, Origin>;
}

/** Where else a misplaced key exists, e.g. `epochs` written at the top level → "train.epochs". */
function elsewhere(key: string, spec: ObjectSpec, at = ''): string | undefined {
  for (const [k, f] of Object.entries(spec.fields)) {
    const p = join(at, k);
    if (k === key) return p;
    if (f.type === 'object') {
      const found = elsewhere(key, f, p);
      if (found) return found;
    }
  }
  return undefined;
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

function validateObject(spec: ObjectSpec, node: LNode | null, field: string, ctx: Walk, out: Record<string, unknown>, where: Origin, unknownNoun?: string): void {
  if (node && node.kind !== 'map') {
    const at = field || 'config';
    fail(node.origin, at, `expected a mapping, got ${describeNode(node)}`);
  }
  const allowed = Object.keys(spec.fields);
  if (node) {
    for (const [key, entry] of node.entries) {
      if (key in spec.fields) continue;
      const hint = didYouMean(key, allowed) ?? (unknownNoun ? undefined : elsewhere(key, ctx.schema));
      const what = unknownNoun ?? 'key';
      const list = allowed.length ? `allowed: ${allowed.join(', ')}` : 'it takes no keys';
      fail(entry.keyOrigin, join(field, key), `unknown ${what}${hint ? ` (did you mean "${hint}"?)` : ''}; ${list}`);
    }
  }
  for (const [key, fieldSpec] of Object.entries(spec.fields)) {
    const entry = node?.entries.get(key);
    out[key] = validateField(fieldSpec, entry?.value ?? null, join(field, key), ctx, entry ? entry.value.origin : node?.origin ?? where, entry !== undefined);
  }
}

function validateField(spec: FieldSpec, node: LNode | null, field: string, ctx: Walk, where: Origin, present: boolean): unknown {
  switch (spec.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      // Dependent defaults further down read earlier siblings through ctx.root, so the partial
      // object must be reachable from the root before its fields are filled.
      attach(ctx.root, field, out);
      validateObject(spec, isNullScalar(node) ? null : node, field, ctx, out, where);
      return out;
    }
    case 'choice': {
      const selected = String(readPath(ctx.root, spec.selector));
      const choice = spec.choices[selected];
      const out: Record<string, unknown> = {};
      attach(ctx.root, field, out);
      validateObject(choice, isNullScalar(node) ? null : node, field, ctx, out, where, `${spec.noun} "${selected}"`);
      return out;
    }
    case 'map': {
      if (!node || isNullScalar(node)) return {};
      if (node.kind !== 'map') fail(node.origin, field, `expected ${describeAllowed(spec)}, got ${describeNode(node)}`);
      const out: Record<string, unknown> = {};
      for (const [key, entry] of node.entries) out[key] = validateLeaf(spec.values, entry.value, join(field, key));
      return out;
    }
    default:
      ctx.origins.set(field, where);
      if (!present || !node) return defaultValue(spec, field, ctx, where);
      return validateLeaf(spec, node, field);
  }
}

function defaultValue(spec: Exclude<FieldSpec, { type: 'object' | 'choice' | 'map' }>, field: string, ctx: ResolveContext, where: Origin): unknown {
  const d = isDependent(spec.default) ? spec.default.compute(ctx) : spec.default;
  if (Array.isArray(d)) return [...d];
  if (spec.type === 'string' && spec.pattern && isDependent(spec.default) && typeof d === 'string' && !new RegExp(spec.pattern.regex).test(d)) {
    fail(where, field, `default ${JSON.stringify(d)} (${spec.default.describe}) is not allowed; write ${field}: explicitly, using ${spec.pattern.describe}`);
  }
  // Defaults such as data.root = ${DATA_ROOT:-data}/cifar10 follow the same interpolation as values.
  if (typeof d === 'string' && d.includes('$')) return interpolateString(d, ctx.env, (msg) => fail(where, field, `default ${JSON.stringify(d)}: ${msg}`));
  return d;
}

function validateLeaf(spec: FieldSpec, node: LNode, field: string): unknown {
  const allowed = describeAllowed(spec);
  const wrong = (): never => fail(node.origin, field, `expected ${allowed}, got ${describeNode(node)}`);
  if (isNullScalar(node)) {
    if ('nullable' in spec && spec.nullable) return null;
    return wrong();
  }
  switch (spec.type) {
    case 'string':
      return checkString(spec, node, field, wrong);
    case 'number':
    case 'integer':
      return checkNumber(spec, node, field, wrong, allowed);
    case 'boolean':
      if (node.kind !== 'scalar' || typeof node.value !== 'boolean') return wrong();
      return node.value;
    case 'tuple': {
      if (node.kind !== 'seq') return wrong();
      const n = node.items.length;
      if (n !== spec.length) fail(node.origin, field, `expected ${allowed}, got ${n} item${n === 1 ? '' : 's'}`);
      const values = node.items.map((item, i) => checkNumber(spec.items, item, `${field}[${i}]`, () => fail(item.origin, `${field}[${i}]`, `expected ${describeAllowed(spec.items)}, got ${describeNode(item)}`), describeAllowed(spec.items)));
      if (spec.ascending && values[0] > values[1]) fail(node.origin, field, `min ${values[0]} is greater than max ${values[1]}; allowed ${allowed}`);
      return values;
    }
    default:
      return wrong();
  }
}

function checkString(spec: StringSpec, node: LNode, field: string, wrong: () => never): string {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') return wrong();
  const v = node.value;
  if (spec.enum && !spec.enum.includes(v)) {
    fail(node.origin, field, `${JSON.stringify(v)} is not one of ${spec.enum.join(', ')}`);
  }
  if (spec.pattern && !new RegExp(spec.pattern.regex).test(v)) fail(node.origin, field, `${JSON.stringify(v)} is not allowed; allowed ${spec.pattern.describe}`);
  const why = spec.check?.(v);
  if (why) fail(node.origin, field, why);
  return v;
}

function checkNumber(spec: NumberSpec, node: LNode, field: string, wrong: () => never, allowed: string): number {
  if (node.kind !== 'scalar' || typeof node.value !== 'number') return wrong();
  const v = node.value;
  if (!Number.isFinite(v)) fail(node.origin, field, `${v} is not a finite number; allowed ${allowed}`);
  if (spec.type === 'integer' && !Number.isInteger(v)) return wrong();
  const below = (spec.minimum !== undefined && v < spec.minimum) || (spec.exclusiveMinimum !== undefined && v <= spec.exclusiveMinimum);
  const above = (spec.maximum !== undefined && v > spec.maximum) || (spec.exclusiveMaximum !== undefined && v >= spec.exclusiveMaximum);
  if (below || above) fail(node.origin, field, `${v} is out of range; allowed ${allowed}`);
  return v;
}

function isNullScalar(node: LNode | null): boolean {
  return node !== null && node.kind === 'scalar' && node.value === null;
}

function readPath(root: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = root;
  for (const k of dotted.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

function attach(root: Record<string, unknown>, dotted: string, value: Record<string, unknown>): void {
  const keys = dotted.split('.');
  let target = root;
  for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
  target[keys[keys.length - 1]] = value;
}
