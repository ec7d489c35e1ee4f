/**
 * The vocabulary the config schema is written in. One tree of these plain objects describes every
 * field once; the validator (validate.ts) and the published JSON Schema (json-schema.ts) are both
 * derived from it, so the two can never disagree.
 */

/** A value that has already been resolved, passed to dependent defaults (e.g. label from method). */
export type PartialRoot = Record<string, unknown>;

/** The context a dependent default or a per-choice spec is computed from. */
export interface ResolveContext {
  /** The config being resolved so far: fields earlier in schema order are filled. */
  root: PartialRoot;
  /** The top-level config file (for defaults such as `name` = file stem). */
  file: string;
  /** Environment for `${VAR:-default}` in default values (e.g. registry data roots). */
  env: NodeJS.ProcessEnv;
}

/** A default that depends on fields resolved earlier (e.g. `method.label` on `method.name`). */
export interface DependentDefault<T> {
  /** Shown in descriptions and the JSON Schema, e.g. "the method's registry label". */
  describe: string;
  compute: (ctx: ResolveContext) => T;
}

export type Default<T> = T | DependentDefault<T>;

interface Common {
  description: string;
  /** `null` is allowed in addition to the type. */
  nullable?: boolean;
}

export interface StringSpec extends Common {
  type: 'string';
  default: Default<string | null>;
  enum?: readonly string[];
  /** A regular expression the whole value must match, and how to describe it. */
  pattern?: { regex: string; describe: string };
  /** A check the JSON Schema cannot express (e.g. a parsed mini-language): why `value` is wrong, or null. */
  check?: (value: string) => string | null;
}

export interface NumberSpec extends Common {
  type: 'number' | 'integer';
  default: Default<number | null>;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
}

export interface BooleanSpec extends Common {
  type: 'boolean';
  default: boolean;
}

/** A fixed-length list of numbers, e.g. `betas: [0.9, 0.999]` or `scale: [0.08, 1.0]`. */
export interface TupleSpec extends Common {
  type: 'tuple';
  items: NumberSpec;
  length: number;
  default: readonly number[] | null;
  /** Each element must be >= the previous one (ranges such as crop scale). */
  ascending?: boolean;
}

export interface ObjectSpec {
  type: 'object';
  description: string;
  fields: Record<string, FieldSpec>;
}

/** A mapping with free keys and values of one type (e.g. `report.links`). */
export interface MapSpec {
  type: 'map';
  description: string;
  values: StringSpec;
}

/**
 * A mapping whose allowed keys depend on an earlier field: `method.params` on `method.name`,
 * `augmentation.overrides` on `augmentation.preset`.
 */
export interface ChoiceSpec {
  type: 'choice';
  description: string;
  /** Dotted path of the field that selects the spec, e.g. "method.name". */
  selector: string;
  /** What the keys are called in errors, e.g. "parameter of method". */
  noun: string;
  choices: Record<string, ObjectSpec>;
}

export type FieldSpec = StringSpec | NumberSpec | BooleanSpec | TupleSpec | ObjectSpec | MapSpec | ChoiceSpec;

/** "The resolved value at `field` (a dotted path) equals `equals`." */
export interface FieldEquals {
  field: string;
  equals: string | number;
}

/**
 * A constraint across fields: whenever `when` holds, `then` must hold too (e.g. `train.epochs: 0`
 * only with `method.name: none`). Checked after every field is resolved; a violation is reported at
 * `when.field` (where it was written, or where its default applies) with `message(actual value of
 * then.field)`, which says what is wrong and what is allowed. The JSON Schema gets it as if/then.
 */
export interface FieldRule {
  when: FieldEquals;
  then: FieldEquals;
  message: (actual: unknown) => string;
}

export function isDependent<T>(d: Default<T>): d is DependentDefault<T> {
  return typeof d === 'object' && d !== null && 'compute' in d;
}

// Builders keep the schema tables short and readable.

export function obj<F extends Record<string, FieldSpec>>(description: string, fields: F): ObjectSpec & { fields: F } {
  return { type: 'object', description, fields };
}

/** The resolved TypeScript value of a leaf spec (used to type method params and preset fields). */
export type ValueOf<S> = S extends NumberSpec ? number : S extends BooleanSpec ? boolean : S extends StringSpec ? string : S extends TupleSpec ? number[] : unknown;

/** The resolved value of an object spec built with `obj`. */
export type ValuesOf<O extends { fields: Record<string, FieldSpec> }> = { [K in keyof O['fields']]: ValueOf<O['fields'][K]> };

export function str(description: string, def: Default<string | null>, extra: Partial<StringSpec> = {}): StringSpec {
  return { type: 'string', description, default: def, ...extra };
}

export function oneOf(description: string, values: readonly string[], def: Default<string>, extra: Partial<StringSpec> = {}): StringSpec {
  return { type: 'string', description, default: def, enum: values, ...extra };
}

export function bool(description: string, def: boolean): BooleanSpec {
  return { type: 'boolean', description, default: def };
}

type Bounds = Pick<NumberSpec, 'minimum' | 'exclusiveMinimum' | 'maximum' | 'exclusiveMaximum' | 'nullable'>;

export function int(description: string, def: Default<number | null>, bounds: Bounds = {}): NumberSpec {
  return { type: 'integer', description, default: def, ...bounds };
}

export function num(description: string, def: Default<number | null>, bounds: Bounds = {}): NumberSpec {
  return { type: 'number', description, default: def, ...bounds };
}

/** A probability in [0, 1]. */
export function prob(description: string, def: number): NumberSpec {
  return num(description, def, { minimum: 0, maximum: 1 });
}

export function tuple(description: string, items: NumberSpec, def: readonly number[] | null, extra: Partial<TupleSpec> = {}): TupleSpec {
  return { type: 'tuple', description, items, length: def ? def.length : 2, default: def, ...extra };
}

/** A `[min, max]` range of numbers within [lo, hi]. */
export function range(description: string, def: readonly [number, number], lo: number, hi: number): TupleSpec {
  return tuple(description, num('', 0, { minimum: lo, maximum: hi }), def, { ascending: true });
}

/** Describes what a number field accepts, e.g. "integer >= 1" or "number in (0, 1]". */
export function describeNumber(s: Pick<NumberSpec, 'type' | 'minimum' | 'exclusiveMinimum' | 'maximum' | 'exclusiveMaximum'>): string {
  const kind = s.type === 'integer' ? 'integer' : 'number';
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) {
    const open = s.minimum !== undefined ? '[' : '(';
    const close = s.maximum !== undefined ? ']' : ')';
    return `${kind} in ${open}${lo}, ${hi}${close}`;
  }
  if (lo !== undefined) return `${kind} ${s.minimum !== undefined ? '>=' : '>'} ${lo}`;
  if (hi !== undefined) return `${kind} ${s.maximum !== undefined ? '<=' : '<'} ${hi}`;
  return kind;
}

/** Describes what any leaf field accepts, for "allowed ..." in errors and for descriptions. */
export function describeAllowed(s: FieldSpec): string {
  const orNull = 'nullable' in s && s.nullable ? ' or null' : '';
  switch (s.type) {
    case 'string':
      if (s.enum) return `one of ${s.enum.join(', ')}${orNull}`;
      if (s.pattern) return `${s.pattern.describe}${orNull}`;
      return `a string${orNull}`;
    case 'number':
    case 'integer':
      return `${describeNumber(s)}${orNull}`;
    case 'boolean':
      return 'true or false';
    case 'tuple':
      return `a list of ${s.length} ${pluralItems(s.items)}${s.ascending ? ' (min, max)' : ''}${orNull}`;
    case 'object':
    case 'choice':
      return 'a mapping';
    case 'map':
      return 'a mapping of names to strings';
  }
}

function pluralItems(items: NumberSpec): string {
  const d = describeNumber(items);
  return d.replace(/^integer/, 'integers').replace(/^number/, 'numbers');
}
