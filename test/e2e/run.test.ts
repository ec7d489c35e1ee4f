/**
 * `ssl-bench run` for real: SimCLR on 80 embedded Fashion-MNIST images with a 1/16-width
 * ResNet-18-CIFAR, through the CLI's main() (in this process) and as child processes (for
 * SIGKILL). The uninterrupted in-process run is the reference the killed-and-resumed run must
 * reproduce bitwise: both use ORT's sequential execution mode and the same intra-op thread count
 * (the default: every core of this machine), so every kernel sums in the same order.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { child, cli, CONFIG, metricsColumns, readMetrics, readSummary, runDirOf, waitUntil } from './support/harness';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-e2e-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** metrics.csv without the wall-clock columns: what must be identical between equal runs. */
function deterministicMetrics(dir: string): string[][] {
  return metricsColumns(dir, ['epoch', 'steps', 'loss', 'lr', 'knn_top1', 'knn_top5']);
}

function readMetricsColumn(dir: string, column: string): number[] {
  const { header, rows } = readMetrics(dir);
  const i = header.indexOf(column);
  expect(i).toBeGreaterThanOrEqual(0);
  return rows.map((r) => Number(r[i]));
}

async function waitFor(file: string, timeoutMs: number): Promise<void> {
  await waitUntil(`${file} to appear`, () => fs.existsSync(file), timeoutMs);
}

describe('ssl-bench run (SimCLR, embedded Fashion-MNIST)', () => {
  let reference: string;

  beforeAll(async () => {
    const r = await cli('run', CONFIG, '--output', path.join(tmp, 'reference'));
    if (r.code !== 0) throw new Error(`reference run failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    reference = runDirOf(path.join(tmp, 'reference'));
  });

  test('writes a finished summary with labelled kNN metrics, metrics.csv, data manifest and checkpoint', () => {
    const summary = readSummary(reference);
    expect(summary.status).toBe('finished');
    expect(summary.method).toBe('simclr');
    for (const name of ['knn_top1', 'knn_top5', 'knn_top1_final', 'knn_top5_final']) {
      const m = summary.metrics[name];
      expect(m.value).toBeGreaterThanOrEqual(0);
      expect(m.value).toBeLessThanOrEqual(1);
      expect(m.protocol).toMatch(/kNN k=20 t=0\.1/);
    }
    expect(summary.metrics.knn_top1.protocol).toMatch(/max over epochs/);
    expect(summary.metrics.knn_top1_final.protocol).toMatch(/final epoch/);
    const rows = deterministicMetrics(reference);
    expect(rows.map((r) => r[0])).toEqual(['1', '2', '3']);
    for (const r of rows) {
      expect(r[1]).toBe('5'); // 80 images / batch 16, last incomplete batch dropped
      expect(Number.isFinite(Number(r[2]))).toBe(true);
      expect(r[4]).not.toBe('');
    }
    // Base lr 0.06 scaled linearly to batch 16 (0.0075), cosine per epoch over 3 epochs.
    expect(Number(rows[0][3])).toBeCloseTo(0.0075, 12);
    expect(Number(rows[1][3])).toBeCloseTo(0.0075 * (1 + Math.cos(Math.PI / 3)) / 2, 12);
    const data = JSON.parse(fs.readFileSync(path.join(reference, 'data.json'), 'utf8'));
    expect(data.train.n).toBe(80);
    expect(data.test.n).toBe(100);
    expect(data.train.image).toEqual({ height: 28, width: 28, channels: 1 });
    expect(fs.statSync(path.join(reference, 'checkpoint', 'last.ckpt')).size).toBeGreaterThan(0);
  });

  test('backbone.onnx runs in a fresh ORT session: float32 NCHW images -> 32-d features', async () => {
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(reference, 'backbone.onnx')));
    try {
      const images = new Float32Array(2 * 28 * 28).map((_, i) => Math.sin(i));
      const out = await session.run({ images: new ort.Tensor('float32', images, [2, 1, 28, 28]) });
      const features = out.features as ort.Tensor;
      expect(features.dims).toEqual([2, 32]); // 8 x base width 4
      expect((features.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });

  test('a rerun of the finished config reports it and exits 0; --force moves it aside and reruns', async () => {
    const before = fs.statSync(path.join(reference, 'summary.json')).mtimeMs;
    const again = await cli('run', CONFIG, '--output', path.join(tmp, 'reference'));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already finished/);
    expect(fs.statSync(path.join(reference, 'summary.json')).mtimeMs).toBe(before);

    const forced = path.join(tmp, 'forced');
    fs.cpSync(path.join(tmp, 'reference'), forced, { recursive: true });
    const rerun = await cli('run', CONFIG, '--output', forced, '--force');
    expect(rerun.code).toBe(0);
    const entries = fs.readdirSync(forced);
    expect(entries.filter((d) => d.includes('.replaced-'))).toHaveLength(1);
    const fresh = runDirOf(forced);
    expect(readSummary(fresh).status).toBe('finished');
    // Same config and seed, same process settings: the rerun reproduces the reference exactly.
    expect(deterministicMetrics(fresh)).toEqual(deterministicMetrics(reference));
  });

  test('SIGKILL at a random moment after the first checkpoint, then --resume: bitwise the uninterrupted result', async () => {
    const output = path.join(tmp, 'killed');
    const first = child(['run', CONFIG, '--output', output]);
    const dir = path.join(output, path.basename(reference));
    await waitFor(path.join(dir, 'checkpoint', 'last.ckpt'), 90_000);
    // Somewhere inside the remaining epochs: their duration in the reference run bounds the delay.
    const remainingMs = readMetricsColumn(reference, 'epoch_seconds').slice(1).reduce((a, b) => a + b, 0) * 1000;
    const delayMs = Math.floor(Math.random() * 0.8 * remainingMs);
    await new Promise((r) => setTimeout(r, delayMs));
    first.proc.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(readSummary(dir).status).toBe('running');

    const resumed = await child(['run', CONFIG, '--output', output, '--resume']).done;
    if (resumed.code !== 0) throw new Error(`resume failed (${resumed.code}, killed ${delayMs} ms after the first checkpoint):\n${resumed.output}`);
    expect(resumed.output).toMatch(/resuming from/);
    expect(readSummary(dir).status).toBe('finished');
    expect(deterministicMetrics(dir)).toEqual(deterministicMetrics(reference));
    const a = readSummary(dir).metrics;
    const b = readSummary(reference).metrics;
    expect(a).toEqual(b);
    expect(fs.readFileSync(path.join(dir, 'backbone.onnx')).equals(fs.readFileSync(path.join(reference, 'backbone.onnx')))).toBe(true);
  });

  test('an evaluation the pretraining cannot perform is refused, not silently skipped', async () => {
    const r = await cli('run', CONFIG, '--output', path.join(tmp, 'refused'), '--set', 'eval.knn.feature=class-token');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/eval\.knn\.feature: 'class-token' is not available for resnet18-cifar; allowed: default, pooled/);
  });

  test('the loss falls over a few epochs', async () => {
    const output = path.join(tmp, 'longer');
    const r = await cli('run', CONFIG, '--output', output,
      '--set', 'train.epochs=6', '--set', 'train.batch_size=32', '--set', 'data.subset.per_class=16',
      '--set', 'train.lr_scaling.rule=none', '--set', 'eval.knn.every=6');
    expect(r.code).toBe(0);
    const losses = deterministicMetrics(runDirOf(output)).map((row) => Number(row[2]));
    expect(losses).toHaveLength(6);
    // NT-Xent of batch 32 starts near ln(63) = 4.14 (random embeddings).
    expect(losses[0]).toBeGreaterThan(3.6);
    expect((losses[4] + losses[5]) / 2).toBeLessThan(losses[0] - 0.1);
  });
});
