/**
 * `ssl-bench run` with every evaluation on (tiny-simclr.yaml): the online linear classifier at
 * epoch ends, then the linear probe and the fine-tune after pretraining; and a SIGKILL during the
 * post-training evaluations followed by --resume, which must rerun only them, to the same metrics.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { child, cli, CONFIG, metricsColumns, readSummary, runDirOf, waitUntil } from './support/harness';

const EVALS = [
  '--set', 'eval.online_linear=true',
  '--set', 'eval.linear.enabled=true', '--set', 'eval.linear.epochs=3',
  '--set', 'eval.finetune.enabled=true', '--set', 'eval.finetune.epochs=2',
];
const PRETRAINING_COLUMNS = ['epoch', 'steps', 'loss', 'lr', 'knn_top1', 'knn_top5'];

let tmp: string;
let evaluated: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-e2e-post-'));
  const r = await cli('run', CONFIG, '--output', path.join(tmp, 'evaluated'), ...EVALS);
  if (r.code !== 0) throw new Error(`run failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  evaluated = runDirOf(path.join(tmp, 'evaluated'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ssl-bench run with eval.online_linear, eval.linear and eval.finetune', () => {
  test('summary.json has linear_ and finetune_ top1/top5 (max over epochs and final) with their protocols', () => {
    const summary = readSummary(evaluated);
    expect(summary.status).toBe('finished');
    for (const [name, protocol, epochs] of [['linear', /^linear probe, frozen backbone \(eval mode\), /, 3], ['finetune', /^fine-tune, all parameters train /, 2]] as const) {
      for (const k of ['top1', 'top5']) {
        const best = summary.metrics[`${name}_${k}`];
        const final = summary.metrics[`${name}_${k}_final`];
        for (const m of [best, final]) {
          expect(m.value).toBeGreaterThanOrEqual(0);
          expect(m.value).toBeLessThanOrEqual(1);
          expect(m.protocol).toMatch(protocol);
          expect(m.protocol).toContain(`${epochs} epochs`);
          expect(m.protocol).toContain('embedded-fashion-mnist test split');
        }
        expect(best.protocol).toMatch(/max over epochs \(published protocol/);
        expect(final.protocol).toMatch(/final epoch/);
        expect(best.value).toBeGreaterThanOrEqual(final.value);
      }
    }
    expect(summary.post_training_eval_minutes).toBeGreaterThan(0);
    expect(summary.runtime_minutes).toBeGreaterThan(0);
  });

  test('online_linear_top1/top5 are evaluated every epoch and summarised, labelled as not published', () => {
    const rows = metricsColumns(evaluated, ['epoch', 'online_linear_top1', 'online_linear_top5']);
    expect(rows.map((r) => r[0])).toEqual(['1', '2', '3']);
    for (const [, top1, top5] of rows) {
      // 100 test images: accuracies are multiples of 0.01.
      expect(Number.isInteger(Math.round(Number(top1) * 1e6) / 1e4)).toBe(true);
      expect(Number(top5)).toBeGreaterThanOrEqual(Number(top1));
    }
    const summary = readSummary(evaluated);
    expect(summary.metrics.online_linear_top1.value).toBe(Math.max(...rows.map((r) => Number(r[1]))));
    expect(summary.metrics.online_linear_top5_final.value).toBe(Number(rows[2][2]));
    expect(summary.metrics.online_linear_top1.protocol).toMatch(/^online linear classifier \(Linear head on detached training-mode backbone features of every view, labels repeated per view, .*the reference prints it, does not publish it/);
  });

  test('the online classifier does not change pretraining: loss and kNN bitwise those of a run without it', async () => {
    const plain = await cli('run', CONFIG, '--output', path.join(tmp, 'plain'));
    expect(plain.code).toBe(0);
    const without = runDirOf(path.join(tmp, 'plain'));
    expect(metricsColumns(evaluated, PRETRAINING_COLUMNS)).toEqual(metricsColumns(without, PRETRAINING_COLUMNS));
    expect(readSummary(without).post_training_eval_minutes).toBeUndefined();
  });

  test('SIGKILL during the post-training evaluations, then --resume: only they rerun, to the same metrics', async () => {
    const output = path.join(tmp, 'killed');
    const first = child(['run', CONFIG, '--output', output, ...EVALS]);
    await waitUntil('the linear probe to start', () => /linear probe epoch 1\//.test(first.output()), 60_000);
    first.proc.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const dir = runDirOf(output);
    const atKill = readSummary(dir);
    expect(atKill.status).toBe('running');
    expect(atKill.metrics.finetune_top1).toBeUndefined();

    const resumed = await child(['run', CONFIG, '--output', output, ...EVALS, '--resume']).done;
    if (resumed.code !== 0) throw new Error(`resume failed (${resumed.code}):\n${resumed.output}`);
    expect(resumed.output).toMatch(/resuming from/);
    expect(resumed.output).not.toMatch(/epoch \d+\/3 done/);
    expect(resumed.output).toMatch(/linear probe epoch 3\/3/);
    const summary = readSummary(dir);
    expect(summary.status).toBe('finished');
    expect(summary.metrics).toEqual(readSummary(evaluated).metrics);
    expect(summary.runtime_minutes).toBe(atKill.runtime_minutes);
  });
});
