import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runExperiment } from '../../src/runner';
import { createProgress, formatDuration } from '../../src/runner/progress';
import { FakeClock, FakeTraining, makeConfig, makeTempDir } from './fake-training';

function capture(): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
  return { stream, text: () => text };
}

test('formatDuration', () => {
  expect([0, 59.4, 61, 3599, 3600, 7322].map(formatDuration)).toEqual(['0s', '59s', '1m01s', '59m59s', '1h00m', '2h02m']);
});

test('non-TTY: a plain line every interval and one per epoch end', async () => {
  const tmp = makeTempDir();
  const config = makeConfig(tmp, ['train.epochs=2']);
  const clock = new FakeClock();
  const out = capture();
  const progress = createProgress(out.stream, { intervalSeconds: 4, clock: clock.now });
  await runExperiment(config, path.join(tmp, 'run'), {
    resume: false, force: false, clock: clock.now, progress, log: () => {},
    createTraining: async (c) => new FakeTraining({ stepsPerEpoch: 5, totalEpochs: c.train.epochs, seed: 0, clock }),
  });
  await new Promise((resolve) => setImmediate(resolve));
  const lines = out.text().split('\n').filter(Boolean);
  expect(lines[0]).toBe('[run] starting: 2 epochs x 5 steps (10 steps to run in total)');
  // 1.5 s per step, 2 s per evaluation: a step line once 4 s passed since the last line (epoch lines count).
  const stepLines = lines.filter((l) => / step \d+\/5 /.test(l));
  expect(stepLines.map((l) => l.match(/epoch (\d)\/2 step (\d)\/5 \((\d+)\/10\)/)!.slice(1).join(':'))).toEqual(['1:3:3', '2:3:8']);
  expect(stepLines[0]).toMatch(/^\[run\] epoch 1\/2 step 3\/5 \(3\/10\) loss \d+\.\d{4} lr 0\.0\d+ 5\.3 img\/s eta 11s knn_top1 -$/);
  expect(stepLines[1]).toMatch(/ knn_top1 0\.\d{4}$/);
  const epochLines = lines.filter((l) => l.includes(' done: '));
  expect(epochLines).toHaveLength(2);
  expect(epochLines[0]).toMatch(/^\[run\] epoch 1\/2 done: loss \d+\.\d{4} lr 0\.0\d+ knn_top1 0\.\d{4} knn_top5 0\.\d{4} \(9\.5 s, data 1\.3 s, eval 2\.0 s, 5\.3 img\/s\)$/);
});

test('TTY: two bars, epoch summaries logged above them', () => {
  const out = capture();
  out.stream.isTTY = true;
  const progress = createProgress(out.stream, { tty: true });
  progress.start({ title: 'run', totalEpochs: 2, stepsPerEpoch: 3, totalSteps: 6, start: { epoch: 0, step: 0, globalStep: 0 } });
  progress.step({ position: { epoch: 0, step: 1, globalStep: 1 }, loss: 1.25, lr: 0.06, imagesPerSecond: 12.5, etaSeconds: 70, lastKnnTop1: null });
  progress.epochEnd({ epoch: 1, steps: 3, loss: 1, lr: 0.06, eval: { knn_top1: 0.5 }, epoch_seconds: 3, data_seconds: 1, eval_seconds: 1, images_per_second: 12 });
  progress.stop();
  const text = out.text();
  expect(text).toContain('loss 1.2500 lr 0.06000 12.5 img/s eta 1m10s');
  expect(text).toContain('epoch 1/2 done: loss 1.0000 lr 0.06000 knn_top1 0.5000');
  expect(text).toMatch(/epoch \[[^\]]*\] \d\/2 knn_top1/);
});

test('TTY: after the last epoch the step bar stays full; no empty bar is redrawn under later logs or left at stop', () => {
  const out = capture();
  out.stream.isTTY = true;
  const progress = createProgress(out.stream, { tty: true });
  progress.start({ title: 'run', totalEpochs: 2, stepsPerEpoch: 3, totalSteps: 6, start: { epoch: 0, step: 0, globalStep: 0 } });
  const row = (epoch: number) => ({ epoch, steps: 3, loss: 1, lr: 0.06, eval: { knn_top1: 0.5 }, epoch_seconds: 3, data_seconds: 1, eval_seconds: 1, images_per_second: 12 });
  for (let g = 1; g <= 6; g++) {
    progress.step({ position: { epoch: Math.floor(g / 3), step: g % 3, globalStep: g }, loss: 1.25, lr: 0.06, imagesPerSecond: 12.5, etaSeconds: (6 - g) * 2, lastKnnTop1: g > 3 ? 0.5 : null });
    if (g % 3 === 0) progress.epochEnd(row(g / 3));
  }
  const beforeLastEpochEnd = out.text();
  progress.log('pretraining complete; post-training evaluations');
  progress.stop();
  const drawnAfter = out.text().slice(beforeLastEpochEnd.length);
  expect(drawnAfter).toContain('post-training evaluations');
  expect(drawnAfter).not.toMatch(/step  \[[^\]]*\] 0\/3/);
  const steps = [...out.text().matchAll(/step  \[[^\]]*\] (\d)\/3/g)].map((m) => m[1]);
  expect(steps[steps.length - 1]).toBe('3');
});
