import * as fs from 'node:fs';
import { UserError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { JsonSyntaxError, parseJsonWithPositions, type JsonPath, type ParsedJson } from './json-source';

/**
 * `summary.json`: the one file a run directory contributes to tables and the regression gate.
 * One declarative definition (SUMMARY_FIELDS) drives the validator, the published JSON Schema
 * (schema/summary.schema.json) and the key order of written files.
 */

export const SUMMARY_SCHEMA_VERSION = 1;
/** `smoke`: completed, but `train.max_steps` stopped training before its configured epochs (a smoke test, not a result). */
/** `interrupted`: stopped by SIGINT/SIGTERM after a step, with a checkpoint; `ssl-bench run --resume` continues it. */
export const RUN_STATUSES = ['finished', 'smoke', 'diverged', 'interrupted', 'failed', 'running'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const MEMORY_KINDS = ['device', 'process-rss'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

/** Metric names the tables and the gate know; other names matching METRIC_NAME are kept. */
export const KNOWN_METRICS = [
  'knn_top1', 'knn_top5', 'knn_top1_final', 'linear_top1', 'linear_top5',
  'finetune_top1', 'finetune_top5', 'online_linear_top1',
] as const;
export const METRIC_NAME = /^[a-z][a-z0-9_]*$/;

export interface MetricValue {
  /** Accuracy as a fraction in [0, 1]. */
  value: number;
  /** How it was measured, e.g. "knn k=200 t=0.1, max over epochs". */
  protocol: string;
}

export interface RunSummary {
  schema_version: 1;
  status: RunStatus;
  method: string;
  label: string;
  marker: string;
  backbone: string;
  backbone_label: string;
  dataset: string;
  batch_size: number;
  epochs: number;
  seed: number;
  metrics: Record<string, MetricValue>;
  runtime_minutes: number | null;
  /** Minutes of the post-training evaluations (linear probe, fine-tune); absent when none ran. */
  post_training_eval_minutes?: number;
  peak_memory_gb: number | null;
  memory_kind: MemoryKind;
  device: string;
  /** ONNX Runtime intra-op threads the run trained with; absent in summaries written before it was recorded. */
  threads?: number;
  /** How the training step's convolutions ran: ORT NCHWc at channel block 16 / 8, or plain Conv. */
  conv_layout?: string;
  config_hash: string;
  /** config_hash of the resolved config with seed 0 and n_runs 1: runs sharing it differ only in the seed. */
  config_hash_without_seed?: string;
  config_file: string;
  run_name: string;
  versions: { ssl_bench: string; onnxruntime: string; node: string };
  started_at: string;
  finished_at: string | null;
  /** A value that is not an http(s) URL is written into the table cell verbatim (e.g. "-"). */
  links?: { tensorboard?: string; checkpoint?: string };
}

type Spec =
  | { kind: 'string'; minLength?: number; pattern?: RegExp; allowed?: string }
  | { kind: 'integer'; min: number }
  | { kind: 'number'; min: number; max?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'const'; value: number }
  | { kind: 'datetime' }
  | { kind: 'object'; fields: Record<string, Field> }
  | { kind: 'map'; keyPattern: RegExp; values: Spec };

interface Field {
  spec: Spec;
  description: string;
  optional?: boolean;
  nullable?: boolean;
  /** Must be non-null when status is "finished" (a finished run has measured it). */
  setWhenFinished?: boolean;
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const nonEmpty: Spec = { kind: 'string', minLength: 1 };

const SUMMARY_FIELDS = {
  schema_version: { spec: { kind: 'const', value: SUMMARY_SCHEMA_VERSION }, description: 'Version of this file format.' },
  status: { spec: { kind: 'enum', values: RUN_STATUSES }, description: 'Run outcome; tables show finished runs (diverged and smoke ones on request). "smoke": completed, but train.max_steps stopped training before its configured epochs, so epochs is the configured count, not the trained one. "interrupted": stopped by SIGINT/SIGTERM after a step with a checkpoint saved; `ssl-bench run --resume` continues it. "failed": stopped by an error.' },
  method: { spec: { kind: 'string', pattern: /^[a-z0-9][a-z0-9-]*$/, allowed: 'a lowercase method id like "simclr"' }, description: 'Method id.' },
  label: { spec: nonEmpty, description: 'Model label printed in tables, e.g. "Moco".' },
  marker: { spec: { kind: 'string' }, description: 'Footnote marker appended to the label, e.g. "*"; empty for none.' },
  backbone: { spec: nonEmpty, description: 'Backbone id, e.g. "resnet18-cifar".' },
  backbone_label: { spec: nonEmpty, description: 'Backbone label printed in tables, e.g. "Res18".' },
  dataset: { spec: nonEmpty, description: 'Dataset id, e.g. "cifar10".' },
  batch_size: { spec: { kind: 'integer', min: 1 }, description: 'Training batch size (global); with 0 epochs only the evaluation\'s embedding batch (tables print "-").' },
  epochs: { spec: { kind: 'integer', min: 0 }, description: 'Training epochs; 0 for a run without pretraining (method none: the floor rows).' },
  seed: { spec: { kind: 'integer', min: 0 }, description: 'Seed of this run.' },
  metrics: {
    spec: {
      kind: 'map', keyPattern: METRIC_NAME,
      values: {
        kind: 'object', fields: {
          value: { spec: { kind: 'number', min: 0, max: 1 }, description: 'Accuracy as a fraction in [0, 1].' },
          protocol: { spec: nonEmpty, description: 'How the value was measured (protocol, max-over-epochs or final).' },
        },
      },
    },
    description: `Metric name -> value and protocol. Known names: ${KNOWN_METRICS.join(', ')}.`,
  },
  runtime_minutes: { spec: { kind: 'number', min: 0 }, nullable: true, setWhenFinished: true, description: 'Wall-clock pretraining time in minutes (includes per-epoch evaluation, excludes post-training evaluations).' },
  post_training_eval_minutes: {
    spec: { kind: 'number', min: 0 }, optional: true,
    description: 'Wall-clock minutes of the post-training evaluations (linear probe, fine-tune) in the session that completed them; not part of runtime_minutes. Absent when none ran.',
  },
  peak_memory_gb: { spec: { kind: 'number', min: 0 }, nullable: true, setWhenFinished: true, description: 'Peak memory in GiB (1024^3 bytes).' },
  memory_kind: { spec: { kind: 'enum', values: MEMORY_KINDS }, description: 'What peak_memory_gb measures: device allocator peak or process resident set.' },
  device: { spec: nonEmpty, description: 'Execution device, e.g. "cpu" or "cuda:0 (NVIDIA H100)".' },
  threads: {
    spec: { kind: 'integer', min: 1 }, optional: true,
    description: 'ONNX Runtime intra-op threads the run trained with (ssl-bench run --threads; default every core). CPU results are reproducible for one config, seed and thread count, not across thread counts (MLAS splits GEMMs by thread and blocks their sums accordingly). Absent in summaries written before it was recorded.',
  },
  conv_layout: {
    spec: { kind: 'enum', values: ['plain', 'nchwc8', 'nchwc16'] }, optional: true,
    description: 'How the training step\'s convolutions ran (for runs without pretraining: the kNN embedding\'s): "nchwc16" / "nchwc8" ONNX Runtime\'s NCHWc convolutions at that channel block (CPU EP; ssl-bench run --nchwc auto, the default, once a self-check on the machine agrees with plain Conv), "plain" ONNX Conv (GPU EPs, --nchwc off, no eligible conv, or a failed self-check). Like threads it changes results only at float-rounding level. Absent in summaries written before it was recorded.',
  },
  config_hash: { spec: { kind: 'string', pattern: /^[0-9a-f]{12}$/, allowed: '12 lowercase hex digits' }, description: 'Hash of the resolved config.' },
  config_hash_without_seed: {
    spec: { kind: 'string', pattern: /^[0-9a-f]{12}$/, allowed: '12 lowercase hex digits' }, optional: true,
    description: 'Hash of the resolved config with seed set to 0 and n_runs to 1: runs that share it differ only in the seed, and only such runs are averaged into one table row. Absent in summaries written before it was recorded (tables then use config_hash).',
  },
  config_file: { spec: nonEmpty, description: 'Config file the run was started from.' },
  run_name: { spec: nonEmpty, description: 'Run name (run directory name).' },
  versions: {
    spec: {
      kind: 'object', fields: {
        ssl_bench: { spec: nonEmpty, description: 'ssl-bench version.' },
        onnxruntime: { spec: nonEmpty, description: 'onnxruntime-node version.' },
        node: { spec: nonEmpty, description: 'Node.js version.' },
      },
    },
    description: 'Software versions that produced the run.',
  },
  started_at: { spec: { kind: 'datetime' }, description: 'ISO 8601 start time.' },
  finished_at: { spec: { kind: 'datetime' }, nullable: true, setWhenFinished: true, description: 'ISO 8601 end time; null while running.' },
  links: {
    spec: {
      kind: 'object', fields: {
        tensorboard: { spec: nonEmpty, optional: true, description: 'TensorBoard URL, or literal cell text such as "-".' },
        checkpoint: { spec: nonEmpty, optional: true, description: 'Checkpoint URL, or literal cell text such as "-".' },
      },
    },
    optional: true,
    description: 'Links shown in the ImageNet1k table.',
  },
} satisfies Record<keyof RunSummary, Field>;

function allowedText(spec: Spec): string {
  switch (spec.kind) {
    case 'string':
      return spec.allowed ?? (spec.pattern ? `a string matching ${spec.pattern.source}` : spec.minLength ? 'a non-empty string' : 'a string');
    case 'integer': return `an integer >= ${spec.min}`;
    case 'number': return spec.max === undefined ? `a number >= ${spec.min}` : `a number in [${spec.min}, ${spec.max}]`;
    case 'enum': return `one of ${spec.values.join(', ')}`;
    case 'const': return `${spec.value}`;
    case 'datetime': return 'an ISO 8601 date-time like "2026-11-26T07:13:02Z"';
    case 'object': return 'an object';
    case 'map': return 'an object';
  }
}

function fieldAllowed(field: Field): string {
  return field.nullable ? `${allowedText(field.spec)} or null` : allowedText(field.spec);
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class SummaryProblem {
  constructor(readonly path: JsonPath, readonly message: string, readonly at: 'value' | 'key' = 'value') {}
}

function pathText(path: JsonPath): string {
  return path.length === 0 ? 'summary' : path.join('.');
}

/** Returns the first problem of `value` against `spec`, or null. */
function checkSpec(value: unknown, spec: Spec, path: JsonPath, allowed: string): SummaryProblem | null {
  const wrong = (): SummaryProblem => new SummaryProblem(path, `got ${showValue(value)}; expected ${allowed}`);
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return wrong();
      if (spec.minLength !== undefined && value.length < spec.minLength) return wrong();
      if (spec.pattern && !spec.pattern.test(value)) return wrong();
      return null;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= spec.min ? null : wrong();
    case 'number':
      return typeof value === 'number' && value >= spec.min && (spec.max === undefined || value <= spec.max) ? null : wrong();
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? null : wrong();
    case 'const':
      if (typeof value === 'number' && Number.isInteger(value) && value !== spec.value) {
        return new SummaryProblem(path, `got ${value}; expected ${spec.value} (this ssl-bench reads summary schema version ${spec.value})`);
      }
      return value === spec.value ? null : wrong();
    case 'datetime':
      return typeof value === 'string' && ISO_DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? null : wrong();
    case 'object':
      return isPlainObject(value) ? checkFields(value, spec.fields, path) : wrong();
    case 'map': {
      if (!isPlainObject(value)) return wrong();
      for (const [key, entry] of Object.entries(value)) {
        if (!spec.keyPattern.test(key)) {
          return new SummaryProblem([...path, key], `invalid name; expected a name matching ${spec.keyPattern.source}`, 'key');
        }
        const problem = checkSpec(entry, spec.values, [...path, key], allowedText(spec.values));
        if (problem) return problem;
      }
      return null;
    }
  }
}

function checkFields(value: Record<string, unknown>, fields: Record<string, Field>, path: JsonPath): SummaryProblem | null {
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) {
      return new SummaryProblem([...path, key], `unknown field; allowed fields: ${Object.keys(fields).join(', ')}`, 'key');
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    const fieldPath = [...path, key];
    if (!Object.prototype.hasOwnProperty.call(value, key)) {
      if (field.optional) continue;
      return new SummaryProblem(path, `${pathText(fieldPath)}: missing; expected ${fieldAllowed(field)}`);
    }
    const entry = value[key];
    if (entry === null && field.nullable) {
      if (field.setWhenFinished && value.status === 'finished') {
        return new SummaryProblem(fieldPath, `got null but status is "finished"; expected ${allowedText(field.spec)}`);
      }
      continue;
    }
    const problem = checkSpec(entry, field.spec, fieldPath, fieldAllowed(field));
    if (problem) return problem;
  }
  return null;
}

function problemToError(file: string, parsed: ParsedJson, problem: SummaryProblem): UserError {
  const pos = problem.at === 'key' ? parsed.keyPosition(problem.path) : parsed.valuePosition(problem.path);
  // A "missing" problem is reported at the enclosing object and already names the field.
  const message = problem.message.includes(': missing;') ? problem.message : `${pathText(problem.path)}: ${problem.message}`;
  return new UserError(`${file}:${pos.line}:${pos.col} ${message}`);
}

/** Validates parsed JSON text as a summary; throws a one-line UserError naming file:line:col and field. */
export function parseSummary(text: string, file: string): RunSummary {
  let parsed: ParsedJson;
  try {
    parsed = parseJsonWithPositions(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const lines = text.slice(0, err.offset).split('\n');
    throw new UserError(`${file}:${lines.length}:${lines[lines.length - 1].length + 1} invalid JSON: ${err.what}`);
  }
  const problem = checkSpec(parsed.value, { kind: 'object', fields: SUMMARY_FIELDS }, [], 'an object');
  if (problem) throw problemToError(file, parsed, problem);
  return parsed.value as RunSummary;
}

/** Reads and validates `file` (a summary.json). */
export function readSummary(file: string): RunSummary {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError(`${file}: cannot read summary (${code}); expected a readable summary.json`);
  }
  return parseSummary(text, file);
}

/** Serialises a summary with fields in schema order, two-space indented, newline-terminated. */
export function serializeSummary(summary: RunSummary): string {
  const ordered = (value: Record<string, unknown>, fields: Record<string, Field>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(fields)) {
      if (!(key in value)) continue;
      const entry = value[key];
      out[key] = field.spec.kind === 'object' && isPlainObject(entry) ? ordered(entry, field.spec.fields) : entry;
    }
    return out;
  };
  const text = `${JSON.stringify(ordered(summary as unknown as Record<string, unknown>, SUMMARY_FIELDS), null, 2)}\n`;
  // Refuse to write what readSummary would reject: a bad summary must fail at its producer.
  parseSummary(text, '<summary being written>');
  return text;
}

/** Writes `summary` to `file` atomically (temp file + rename). */
export function writeSummary(file: string, summary: RunSummary): void {
  writeFileAtomic(file, serializeSummary(summary));
}

function specToJsonSchema(spec: Spec): Record<string, unknown> {
  switch (spec.kind) {
    case 'string': {
      const out: Record<string, unknown> = { type: 'string' };
      if (spec.minLength !== undefined) out.minLength = spec.minLength;
      if (spec.pattern) out.pattern = spec.pattern.source;
      return out;
    }
    case 'integer': return { type: 'integer', minimum: spec.min };
    case 'number': return spec.max === undefined ? { type: 'number', minimum: spec.min } : { type: 'number', minimum: spec.min, maximum: spec.max };
    case 'enum': return { type: 'string', enum: [...spec.values] };
    case 'const': return { const: spec.value };
    case 'datetime': return { type: 'string', format: 'date-time', pattern: ISO_DATETIME.source };
    case 'object': return objectSchema(spec.fields);
    case 'map': return { type: 'object', propertyNames: { pattern: spec.keyPattern.source }, additionalProperties: specToJsonSchema(spec.values) };
  }
}

function fieldToJsonSchema(field: Field): Record<string, unknown> {
  const base = specToJsonSchema(field.spec);
  const withNull = field.nullable ? { anyOf: [base, { type: 'null' }] } : base;
  return { description: field.description, ...withNull };
}

function objectSchema(fields: Record<string, Field>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) properties[key] = fieldToJsonSchema(field);
  return {
    type: 'object',
    properties,
    required: Object.entries(fields).filter(([, f]) => !f.optional).map(([k]) => k),
    additionalProperties: false,
  };
}

/** The JSON Schema published as schema/summary.schema.json. */
export function summaryJsonSchema(): Record<string, unknown> {
  const finishedNonNull: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(SUMMARY_FIELDS) as [string, Field][]) {
    if (field.setWhenFinished) finishedNonNull[key] = specToJsonSchema(field.spec);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'ssl-bench run summary (summary.json)',
    description: `Written by \`ssl-bench run\` into every run directory; read by \`ssl-bench table\` and \`ssl-bench compare\`. Schema version ${SUMMARY_SCHEMA_VERSION}. Generated from src/report/summary.ts.`,
    ...objectSchema(SUMMARY_FIELDS),
    allOf: [{ if: { properties: { status: { const: 'finished' } } }, then: { properties: finishedNonNull } }],
  };
}

/** Text of schema/summary.schema.json (the committed file must equal this). */
export function summaryJsonSchemaText(): string {
  return `${JSON.stringify(summaryJsonSchema(), null, 2)}\n`;
}
