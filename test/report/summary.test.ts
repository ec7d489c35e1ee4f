import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../src/errors';
import { parseSummary, readSummary, serializeSummary, summaryJsonSchemaText, writeSummary } from '../../src/report/summary';
import { listFiles, makeSummary, makeTempDir } from './fixtures';

const FILE = 'runs/a/summary.json';
const good = serializeSummary(makeSummary());

function errorOf(text: string): string {
  try {
    parseSummary(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('summary.json validation errors (one line: file:line:col field: what; allowed)', () => {
  test.each([
    ['invalid JSON: stray comma', good.replace('"seed": 0,', '"seed": 0,,'), `${FILE}:12:13 invalid JSON: unexpected ',', expected a string key`],
    ['invalid JSON: not JSON at all', 'hello', `${FILE}:1:1 invalid JSON: unexpected 'h', expected a value`],
    ['invalid JSON: empty file', '', `${FILE}:1:1 invalid JSON: unexpected end of input, expected a value`],
    ['invalid JSON: cut off', good.slice(0, good.indexOf('"metrics"')), `${FILE}:13:3 invalid JSON: unexpected end of input, expected a string key`],
    ['invalid JSON: duplicate key', good.replace('"seed": 0,', '"seed": 0,\n  "seed": 1,'), `${FILE}:13:3 invalid JSON: duplicate key "seed"`],
    ['root is not an object', '[1,2]', `${FILE}:1:1 summary: got [1,2]; expected an object`],
    ['missing field', good.replace(/\n {2}"epochs": 200,/, ''), `${FILE}:1:1 epochs: missing; expected an integer >= 0`],
    ['wrong type', good.replace('"batch_size": 128', '"batch_size": "128"'), `${FILE}:10:17 batch_size: got "128"; expected an integer >= 1`],
    ['not an integer', good.replace('"epochs": 200', '"epochs": 200.5'), `${FILE}:11:13 epochs: got 200.5; expected an integer >= 0`],
    ['bad enum', good.replace('"status": "finished"', '"status": "done"'), `${FILE}:3:13 status: got "done"; expected one of finished, smoke, diverged, interrupted, failed, running`],
    ['accuracy given in percent', good.replace('"value": 0.847', '"value": 84.7'), `${FILE}:15:16 metrics.knn_top1.value: got 84.7; expected a number in [0, 1]`],
    ['metric name with spaces', good.replace('"knn_top1": {', '"kNN Top 1": {'), `${FILE}:14:5 metrics.kNN Top 1: invalid name; expected a name matching ^[a-z][a-z0-9_]*$`],
    ['metric without protocol', good.replace(/,\n\s*"protocol": "[^"]*"/, ''), `${FILE}:14:17 metrics.knn_top1.protocol: missing; expected a non-empty string`],
    ['newer schema version', good.replace('"schema_version": 1', '"schema_version": 2'), `${FILE}:2:21 schema_version: got 2; expected 1 (this ssl-bench reads summary schema version 1)`],
    ['bad config hash', good.replace('"0123456789ab"', '"XYZ"'), `${FILE}:23:18 config_hash: got "XYZ"; expected 12 lowercase hex digits`],
    ['finished run without runtime', good.replace('"runtime_minutes": 97.7', '"runtime_minutes": null'), `${FILE}:19:22 runtime_minutes: got null but status is "finished"; expected a number >= 0`],
    ['bad date', good.replace('"2026-11-26T07:00:00Z"', '"yesterday"'), `${FILE}:31:17 started_at: got "yesterday"; expected an ISO 8601 date-time like "2026-11-26T07:13:02Z"`],
    ['bad memory kind', good.replace('"memory_kind": "device"', '"memory_kind": "gpu"'), `${FILE}:21:18 memory_kind: got "gpu"; expected one of device, process-rss`],
    ['nested field missing', good.replace(/,\n\s*"node": "[^"]*"/, ''), `${FILE}:26:15 versions.node: missing; expected a non-empty string`],
    ['unknown field (a typo)', good.replace('"seed": 0,', '"seed": 0,\n  "sed": 1,'),
      `${FILE}:13:3 sed: unknown field; allowed fields: schema_version, status, method, label, marker, backbone, backbone_label, dataset, batch_size, epochs, seed, metrics, runtime_minutes, post_training_eval_minutes, peak_memory_gb, memory_kind, device, threads, conv_layout, config_hash, config_hash_without_seed, config_file, run_name, versions, started_at, finished_at, links`],
  ])('%s', (_name, text, expected) => {
    expect(errorOf(text)).toBe(expected);
  });

  test('a running run may leave runtime, memory and end time null', () => {
    const running = makeSummary({ status: 'running', runtime_minutes: null, peak_memory_gb: null, finished_at: null, metrics: {} });
    expect(parseSummary(serializeSummary(running), FILE)).toEqual(running);
  });

  test('a missing file is a one-line error naming it', () => {
    expect(() => readSummary('no/such/summary.json')).toThrow(new UserError('no/such/summary.json: cannot read summary (ENOENT); expected a readable summary.json'));
  });
});

describe('writeSummary', () => {
  let dir: string;
  beforeEach(() => { dir = makeTempDir(); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('round-trips through readSummary, keys in schema order, and leaves no temp files', () => {
    const summary = makeSummary({ links: { checkpoint: 'https://example.org/c.ckpt', tensorboard: '-' } });
    const file = path.join(dir, 'run', 'summary.json');
    writeSummary(file, summary);
    writeSummary(file, { ...summary, seed: 3 });
    expect(readSummary(file)).toEqual({ ...summary, seed: 3 });
    expect(fs.readFileSync(file, 'utf8')).toContain('"links": {\n    "tensorboard": "-",\n    "checkpoint": "https://example.org/c.ckpt"\n  }\n}\n');
    expect(listFiles(dir)).toEqual([path.join('run', 'summary.json')]);
  });

  test('refuses to write an invalid summary and leaves the old file intact', () => {
    const file = path.join(dir, 'summary.json');
    writeSummary(file, makeSummary());
    const before = fs.readFileSync(file, 'utf8');
    expect(() => writeSummary(file, makeSummary({ batch_size: 0 }))).toThrow('<summary being written>:10:17 batch_size: got 0; expected an integer >= 1');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(listFiles(dir)).toEqual(['summary.json']);
  });
});

test('schema/summary.schema.json is the schema generated from src/report/summary.ts', () => {
  const file = path.join(__dirname, '..', '..', 'schema', 'summary.schema.json');
  // Regenerate with: UPDATE_SUMMARY_SCHEMA=1 npx jest test/report/summary.test.ts
  if (process.env.UPDATE_SUMMARY_SCHEMA === '1') fs.writeFileSync(file, summaryJsonSchemaText());
  expect(fs.readFileSync(file, 'utf8')).toBe(summaryJsonSchemaText());
  const schema = JSON.parse(summaryJsonSchemaText()) as { required: string[]; additionalProperties: boolean };
  expect(schema.required).toEqual(Object.keys(JSON.parse(good) as object));
  expect(schema.additionalProperties).toBe(false);
});
