/**
 * A resume whose conv layout differs from the checkpoint's (--nchwc off, or a CPU with another
 * NCHWc block) goes on with one log line, and summary.json records the layout it finished with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSummary } from '../../src/report/summary';
import { runExperiment, type RunOptions } from '../../src/runner';
import { FakeClock, FakeTraining, RecordingProgress, makeConfig, makeTempDir, snapshotAsKilled } from '../runner/fake-training';

class LayoutTraining extends FakeTraining {
  constructor(readonly convLayout: string, opts: ConstructorParameters<typeof FakeTraining>[0]) {
    super(opts);
  }

  override describe(): { device: string; ortVersion: string; params: number; convLayout: string } {
    return { ...super.describe(), convLayout: this.convLayout };
  }
}

let tmp: string;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function options(layout: string, progress: RecordingProgress, extra: Partial<RunOptions> & { killAt?: number; live?: string; snapshot?: string } = {}): RunOptions {
  const clock = new FakeClock();
  const { killAt, live, snapshot, ...rest } = extra;
  return {
    resume: false, force: false, configFile: 'configs/fake.yaml', clock: clock.now, progress, log: () => undefined,
    createTraining: async (config) => new LayoutTraining(layout, {
      stepsPerEpoch: 5, totalEpochs: config.train.epochs, seed: config.seed, clock,
      beforeStep: (step) => {
        if (step !== killAt) return;
        snapshotAsKilled(live!, snapshot!);
        throw new Error('SIGKILL');
      },
    }),
    ...rest,
  };
}

async function killedAt(layout: string): Promise<string> {
  const config = makeConfig(tmp);
  const live = path.join(tmp, 'live');
  const snapshot = path.join(tmp, 'killed');
  await expect(runExperiment(config, live, options(layout, new RecordingProgress(), { killAt: 7, live, snapshot }))).rejects.toThrow('SIGKILL');
  return snapshot;
}

test.each([
  ['another layout', 'plain', true],
  ['the same layout', 'nchwc16', false],
])('resuming an nchwc16 checkpoint with %s: summary conv_layout is this session\'s, one warning line only when it changed', async (_what, layout, warned) => {
  const dir = await killedAt('nchwc16');
  const progress = new RecordingProgress();
  await runExperiment(makeConfig(tmp), dir, options(layout, progress, { resume: true }));
  const summary = readSummary(path.join(dir, 'summary.json'));
  expect([summary.status, summary.conv_layout]).toEqual(['finished', layout]);
  const lines = progress.events.filter((e) => e.includes('convolutions'));
  expect(lines).toEqual(warned ? [
    `${path.join(dir, 'checkpoint', 'last.ckpt')}: trained with nchwc16 convolutions, this session runs plain ones (ssl-bench run --nchwc, this CPU's NCHWc block); the results differ from an uninterrupted run at float-rounding level`,
  ] : []);
});
