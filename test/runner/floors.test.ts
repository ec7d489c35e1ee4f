/**
 * The floor rows as ordinary runs (`ssl-bench run` with method none, train.epochs 0) on a tiny
 * generated Fashion-MNIST idx dataset: the raw-pixel floor against an independent kNN written
 * here (docs/methods.md §5.1), the random-init floor against the inference path fed the initial
 * weights a real run of the same seed starts from, the run directory's files, and rerun/resume.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FASHION_MNIST_NORMALIZATION } from '../../src/augment/presets';
import { loadConfig, type ResolvedConfig } from '../../src/config';
import { loadDataset } from '../../src/data';
import { Rng } from '../../src/data/rng';
import { buildInferenceModel, cpuNchwcBlock, createSession, embed } from '../../src/engine';
import { convLayoutName } from '../../src/engine/conv-layout';
import { knnClassify } from '../../src/eval/knn';
import { createBackbone, initParameters } from '../../src/nn';
import { Pretraining } from '../../src/runner/pretrain';
import { cli, readMetrics, readSummary, runDirOf } from '../e2e/support/harness';
import { idxLabels } from '../data/fixtures';
import { makeTempDir } from './fake-training';

const CLASSES = 10;
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const TRAIN_PER_CLASS = 6;
const TEST_PER_CLASS = 3;
const K = 7;
const TEMPERATURE = 0.1;

interface Split { images: Uint8Array; labels: number[] }

/**
 * Images of class c: the class's own random template plus per-image noise (so kNN is neither
 * perfect nor chance), written in class-interleaved order.
 */
function makeSplit(perClass: number, seed: string): Split {
  const templates = new Rng('floor-templates');
  const template = Array.from({ length: CLASSES }, () => Float64Array.from({ length: PIXELS }, () => templates.uniform() * 255));
  const noise = new Rng(seed);
  const n = perClass * CLASSES;
  const images = new Uint8Array(n * PIXELS);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    labels.push(c);
    for (let p = 0; p < PIXELS; p++) images[i * PIXELS + p] = Math.max(0, Math.min(255, Math.round(0.12 * template[c][p] + noise.uniform() * 225)));
  }
  return { images, labels };
}

function writeIdx(dir: string, prefix: string, split: Split): void {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0); head.writeUInt32BE(split.labels.length, 4); head.writeUInt32BE(SIDE, 8); head.writeUInt32BE(SIDE, 12);
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), Buffer.concat([head, Buffer.from(split.images)]));
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), idxLabels(split.labels));
}

/** docs/methods.md §5.1 in plain loops: cosine similarity, k nearest, weights exp(s/t), class scores ranked. */
function referenceKnn(bank: Float64Array[], bankLabels: number[], queries: Float64Array[], queryLabels: number[]): { top1: number; top5: number } {
  const unit = (v: Float64Array): Float64Array => {
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    return v.map((x) => x / norm);
  };
  const b = bank.map(unit);
  let top1 = 0;
  let top5 = 0;
  queries.map(unit).forEach((q, qi) => {
    const sims = b.map((f, j) => ({ s: f.reduce((a, x, d) => a + x * q[d], 0), label: bankLabels[j] }));
    sims.sort((x, y) => y.s - x.s);
    const scores = new Float64Array(CLASSES);
    for (const { s, label } of sims.slice(0, K)) scores[label] += Math.exp(s / TEMPERATURE);
    const ranked = Array.from({ length: CLASSES }, (_, c) => c).sort((x, y) => scores[y] - scores[x] || x - y);
    if (ranked[0] === queryLabels[qi]) top1 += 1;
    if (ranked.slice(0, 5).includes(queryLabels[qi])) top5 += 1;
  });
  return { top1: top1 / queries.length, top5: top5 / queries.length };
}

/** The normalised pixels of image i as float64, channel-major (one channel). */
function normalisedPixels(split: Split, i: number): Float64Array {
  const { mean: [mean], std: [std] } = FASHION_MNIST_NORMALIZATION;
  return Float64Array.from(split.images.subarray(i * PIXELS, (i + 1) * PIXELS), (p) => (p / 255 - mean) / std);
}

let tmp: string;
let trainSplit: Split;
let testSplit: Split;

beforeAll(() => {
  tmp = makeTempDir();
  const root = path.join(tmp, 'fashion-mnist');
  fs.mkdirSync(root);
  trainSplit = makeSplit(TRAIN_PER_CLASS, 'floor-train');
  testSplit = makeSplit(TEST_PER_CLASS, 'floor-test');
  writeIdx(root, 'train', trainSplit);
  writeIdx(root, 't10k', testSplit);
});
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** `evalExtra`: more entries of the `eval:` mapping, e.g. ", linear: {enabled: true}". */
function writeConfig(name: string, body: string, evalExtra = ''): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, [
    `name: ${name}`,
    'seed: 4',
    'device: cpu',
    `data: {dataset: fashion-mnist, root: ${JSON.stringify(path.join(tmp, 'fashion-mnist'))}, cache_dir: ${JSON.stringify(path.join(tmp, 'cache'))}}`,
    `eval: {knn: {k: ${K}, temperature: ${TEMPERATURE}}${evalExtra}}`,
    body,
  ].join('\n'));
  return file;
}

const PIXELS_FLOOR = 'method: {name: none, label: "Raw pixels (floor)"}\nbackbone: {name: pixels}\ntrain: {epochs: 0, batch_size: 16}\n';
const RANDOM_FLOOR = 'method: {name: none, label: "Random init (floor)"}\nbackbone: {name: resnet18-cifar, width: 0.0625}\ntrain: {epochs: 0, batch_size: 16}\n';

async function run(file: string, ...args: string[]): Promise<{ dir: string; stdout: string }> {
  const output = path.join(tmp, 'out', path.basename(file, '.yaml'));
  const r = await cli('run', file, '--output', output, ...args);
  if (r.code !== 0) throw new Error(`run ${file} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { dir: runDirOf(output), stdout: r.stdout };
}

describe('raw-pixel floor (method none, backbone pixels)', () => {
  let dir: string;
  beforeAll(async () => {
    ({ dir } = await run(writeConfig('floor-pixels', PIXELS_FLOOR)));
  });

  test('kNN top-1/top-5 equal an independent kNN on the mean/std-normalised flattened pixels', () => {
    const expected = referenceKnn(
      trainSplit.labels.map((_, i) => normalisedPixels(trainSplit, i)), trainSplit.labels,
      testSplit.labels.map((_, i) => normalisedPixels(testSplit, i)), testSplit.labels,
    );
    // The data must leave room for both a wrong first guess and a miss in the top 5.
    expect(expected.top1).toBeGreaterThan(0.2);
    expect(expected.top1).toBeLessThan(1);
    expect(expected.top5).toBeLessThan(1);
    const summary = readSummary(dir);
    expect(summary.metrics.knn_top1.value).toBe(expected.top1);
    expect(summary.metrics.knn_top5.value).toBe(expected.top5);
    expect(summary.metrics.knn_top1_final.value).toBe(expected.top1);
  });

  test('a normal run directory: finished summary with epochs 0, the epoch-0 row, data.json, backbone.onnx', async () => {
    for (const file of ['config.resolved.yaml', 'data.json', 'metrics.csv', 'summary.json', 'backbone.onnx']) expect(fs.existsSync(path.join(dir, file))).toBe(true);
    const summary = readSummary(dir);
    expect(summary).toMatchObject({ status: 'finished', method: 'none', label: 'Raw pixels (floor)', backbone: 'pixels', backbone_label: 'Pixels', epochs: 0, dataset: 'fashion-mnist' });
    expect(summary.metrics.knn_top1.protocol).toBe(`kNN k=${K} t=${TEMPERATURE}, fashion-mnist test split, max over epochs (published protocol; best at epoch 0)`);
    const { header, rows } = readMetrics(dir);
    expect(rows).toHaveLength(1);
    const cell = (name: string) => rows[0][header.indexOf(name)];
    expect([cell('epoch'), cell('steps'), cell('loss'), cell('lr')]).toEqual(['0', '0', '', '']);
    expect(Number(cell('knn_top1'))).toBe(summary.metrics.knn_top1.value);
    // runtime_minutes is the one evaluation's wall time (metrics.csv rounds it to milliseconds).
    expect(Math.abs(summary.runtime_minutes * 60 - Number(cell('eval_seconds')))).toBeLessThanOrEqual(0.0005);
    expect(Number(cell('epoch_seconds'))).toBe(Number(cell('eval_seconds')));
    const data = JSON.parse(fs.readFileSync(path.join(dir, 'data.json'), 'utf8'));
    expect([data.train.n, data.test.n]).toEqual([60, 30]);
    // The exported "backbone" is the flattening: features = the normalised image.
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'backbone.onnx')));
    const image = Float32Array.from(normalisedPixels(testSplit, 5));
    const out = await session.run({ images: new ort.Tensor('float32', image, [1, 1, SIDE, SIDE]) });
    expect(out.features.dims).toEqual([1, PIXELS]);
    expect(Array.from(out.features.data as Float32Array)).toEqual(Array.from(image));
  });

  test('a rerun says "already finished" and leaves the directory alone', async () => {
    const before = fs.readFileSync(path.join(dir, 'summary.json'), 'utf8');
    const { stdout } = await run(path.join(tmp, 'floor-pixels.yaml'));
    expect(stdout).toMatch(/floor-pixels\.yaml: already finished, results in .*floor-pixels-[0-9a-f]{12}\/summary\.json \(use --force to rerun\)/);
    expect(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).toBe(before);
  });

  test('killed after its evaluation (checkpoint written, summary still running): --resume finishes without evaluating again', async () => {
    const { dir: killed } = await run(writeConfig('floor-pixels-resume', PIXELS_FLOOR));
    const metrics = fs.readFileSync(path.join(killed, 'metrics.csv'), 'utf8');
    const summary = readSummary(killed);
    expect(fs.existsSync(path.join(killed, 'checkpoint', 'last.ckpt'))).toBe(true);
    fs.writeFileSync(path.join(killed, 'summary.json'), JSON.stringify({ ...summary, status: 'running', finished_at: null }, null, 2));
    fs.rmSync(path.join(killed, 'backbone.onnx'));
    const refused = await cli('run', path.join(tmp, 'floor-pixels-resume.yaml'), '--output', path.dirname(killed));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds an unfinished run with a checkpoint; --resume continues it/);
    const { stdout } = await run(path.join(tmp, 'floor-pixels-resume.yaml'), '--resume');
    expect(stdout).toMatch(/resuming from/);
    const resumed = readSummary(killed);
    expect(resumed.status).toBe('finished');
    expect(resumed.metrics).toEqual(summary.metrics);
    expect(resumed.runtime_minutes).toBe(summary.runtime_minutes);
    expect(fs.readFileSync(path.join(killed, 'metrics.csv'), 'utf8')).toBe(metrics);
    expect(fs.existsSync(path.join(killed, 'backbone.onnx'))).toBe(true);
  });

  test('eval.linear runs on the pixels; eval.finetune is refused up front with a one-line error', async () => {
    const { dir: probed } = await run(writeConfig('floor-pixels-linear', PIXELS_FLOOR, ', linear: {enabled: true, epochs: 2}'));
    const summary = readSummary(probed);
    expect(summary.status).toBe('finished');
    expect(summary.metrics.linear_top1.value).toBeGreaterThanOrEqual(0);
    expect(summary.metrics.linear_top1.protocol).toMatch(/^linear probe, frozen backbone \(eval mode\)/);
    const file = writeConfig('floor-pixels-finetune', PIXELS_FLOOR, ', finetune: {enabled: true, epochs: 1}');
    const r = await cli('run', file, '--output', path.join(tmp, 'out', 'finetune'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: eval.finetune: the pixels backbone has no parameters to fine-tune (only a head, which is eval.linear); set eval.finetune.enabled: false');
  });
});

describe('random-init floor (method none, the base backbone as initialised)', () => {
  let dir: string;
  let config: ResolvedConfig;
  beforeAll(async () => {
    const file = writeConfig('floor-random', RANDOM_FLOOR);
    config = loadConfig(file);
    ({ dir } = await run(file));
  });

  /** The initial backbone of seed 4, as the floor documents it: new Rng(seed).fork('init'). */
  function initialBackbone() {
    const backbone = createBackbone('resnet18-cifar', { width: 0.0625, inChannels: 1, imageSize: SIDE });
    const specs = [...backbone.module.parameters('backbone'), ...backbone.module.buffers('backbone')];
    return { backbone, values: initParameters(specs, new Rng(config.seed).fork('init')) };
  }

  test("summary.json records the kNN embedding's conv layout (the pixels floor has no conv: plain)", async () => {
    expect(readSummary(dir).conv_layout).toBe(convLayoutName(await cpuNchwcBlock()));
    const pixels = await run(writeConfig('floor-pixels-layout', PIXELS_FLOOR));
    expect(readSummary(pixels.dir).conv_layout).toBe('plain');
  });

  test('its initial weights are exactly those a SimCLR and a BYOL run of the same seed start from', async () => {
    const { values } = initialBackbone();
    for (const method of ['method: {name: simclr}', 'method: {name: byol}']) {
      const pretrain = loadConfig(writeConfig(`pretrain-${method.length}`, `${method}\nbackbone: {name: resnet18-cifar, width: 0.0625}\ntrain: {epochs: 1, batch_size: 16}\n`));
      const runDir = path.join(tmp, `pretrain-${method.length}`);
      fs.mkdirSync(runDir, { recursive: true });
      const training = await Pretraining.create(pretrain, runDir, { dataSeed: pretrain.seed, log: () => undefined });
      expect(values.size).toBeGreaterThan(10);
      for (const [name, value] of values) expect(training.runner.state.data(name)).toEqual(value);
    }
  });

  test('kNN equals embedding with the initial weights through the inference path, and backbone.onnx holds them', async () => {
    const { backbone, values } = initialBackbone();
    const log = () => undefined;
    const bank = await loadDataset(config.data, 'train', { seed: config.seed, log });
    const queries = await loadDataset(config.data, 'test', { seed: config.seed, log });
    const model = buildInferenceModel(backbone.module, {
      prefix: 'backbone', weights: values,
      input: { format: 'uint8-nhwc', channels: 1, height: SIDE, width: SIDE, ...FASHION_MNIST_NORMALIZATION },
    });
    const { session } = await createSession(model.modelBytes, 'cpu');
    const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const bankFeatures = await embed(session, model, bank.readBatch(all(bank.n)), bank.n, 16, [SIDE, SIDE, 1]);
    const queryFeatures = await embed(session, model, queries.readBatch(all(queries.n)), queries.n, 16, [SIDE, SIDE, 1]);
    const expected = await knnClassify({
      bankFeatures, bankLabels: bank.labels, queryFeatures, queryLabels: queries.labels,
      dim: model.featureDim, numClasses: CLASSES, k: K, temperature: TEMPERATURE,
    });
    const summary = readSummary(dir);
    expect(summary).toMatchObject({ status: 'finished', method: 'none', backbone: 'resnet18-cifar', epochs: 0, label: 'Random init (floor)' });
    expect(summary.metrics.knn_top1.value).toBe(expected.top1);
    expect(summary.metrics.knn_top5.value).toBe(expected.top5);

    const exported = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'backbone.onnx')));
    const image = Float32Array.from(normalisedPixels(testSplit, 0));
    const out = await exported.run({ images: new ort.Tensor('float32', image, [1, 1, SIDE, SIDE]) });
    const reference = buildInferenceModel(backbone.module, { prefix: 'backbone', weights: values, input: { format: 'float32-nchw', channels: 1, height: SIDE, width: SIDE } });
    // Plain Conv like backbone.onnx (a CPU session would otherwise run NCHWc convs, equal only to rounding).
    const { session: direct } = await createSession(reference.modelBytes, 'cpu', { convLayout: 'off' });
    const want = await direct.run({ images: new ort.Tensor('float32', image, [1, 1, SIDE, SIDE]) });
    expect(Array.from(out.features.data as Float32Array)).toEqual(Array.from(want.features.data as Float32Array));
  });
});
