/**
 * `view_batches` of the two-view methods (src/methods/projected-pair.ts): `grouped` forwards
 * cat(x_0, x_1) as one 2·B batch through backbone and projection head and splits the head output
 * (the ImageNet1k R50 scripts' `self.forward(torch.cat(views))`, `z.chunk(2)`), `separate` one
 * batch per view. The online linear classifier reads both views' backbone features either way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig, type ParamValue } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { TrainStepRunner, buildTrainStep, type TrainStepSpec } from '../../src/engine';
import { UserError } from '../../src/errors';
import { add, concat, mul, reduceSum, split, type Tensor } from '../../src/graph';
import { BARLOW_TWINS_DEFAULTS, barlowTwinsLoss, dclLoss, dclwLoss, ntXentLoss, vicregTerms } from '../../src/losses';
import { AssembledMethod } from '../../src/runner/assembled-method';
import { withEvalBackboneFeatures } from '../../src/runner/online-features';
import { Pretraining } from '../../src/runner/pretrain';
import { createOptimizer } from '../../src/optim';
import { randn } from '../support/graph-harness';
import { CHANNELS, buildMethodStep, maxAbsDiff, probe, type MethodStep } from './support';

const BATCH = 4;
const SIZE = 8;
const SMALL_HEAD = ['method.params.projection_hidden_dim=16', 'method.params.projection_out_dim=8'];

/** Each method's loss on the split halves, written from src/losses (not through projectedPairMethod). */
const LOSSES: Record<string, (z0: Tensor, z1: Tensor, p: Record<string, ParamValue>) => Tensor> = {
  simclr: (z0, z1, p) => ntXentLoss(z0, z1, p.temperature as number),
  dcl: (z0, z1, p) => dclLoss(z0, z1, p.temperature as number, p.negatives as 'joint' | 'separate'),
  dclw: (z0, z1, p) => dclwLoss(z0, z1, p.temperature as number, p.sigma as number, p.negatives as 'joint' | 'separate'),
  barlowtwins: (z0, z1, p) => barlowTwinsLoss(z0, z1, p.lambda as number, BARLOW_TWINS_DEFAULTS.eps, p.normalisation as 'per_view' | 'joint'),
  vicreg: (z0, z1, p) => {
    const t = vicregTerms(z0, z1, p.eps as number);
    return add(add(mul(t.invariance, p.lambda as number), mul(t.variance, p.mu as number)), mul(t.covariance, p.nu as number));
  },
};
// Barlow Twins with the joint normalisation of the ImageNet1k row; VICReg with a 3-layer head.
const EXTRA: Record<string, string[]> = {
  barlowtwins: ['method.params.normalisation=joint'],
  vicreg: ['method.params.projection_layers=3'],
};

function step(method: string, viewBatches: string): Promise<MethodStep> {
  return buildMethodStep(method, { batch: BATCH, size: SIZE, set: [...SMALL_HEAD, ...(EXTRA[method] ?? []), `method.params.view_batches=${viewBatches}`] });
}

/** A training step of `s`'s networks whose graph `build` makes: the assembly's seed, initial values and optimizer, 1 thread. */
async function ownStep(s: MethodStep, name: string, { build }: Pick<TrainStepSpec, 'build'>) {
  const assembled = new AssembledMethod(s.method, new Rng(0));
  const model = buildTrainStep({ name, trainable: assembled.trainable, buffers: assembled.buffers, optimizer: createOptimizer(s.config.train.optimizer), build });
  const runner = await TrainStepRunner.create(model, new Map([...assembled.initial].map(([k, v]) => [k, v.slice()])), { threads: 1, executionMode: 'sequential' });
  return { assembled, model, runner };
}

/**
 * One step of a training graph built here: both views concatenated, one pass through backbone
 * and head, the head output split into halves, the method's loss — same initial values (the
 * assembly's seed), optimizer and feeds as `s`. Returns the loss and every state entry after the step.
 */
async function concatenatedReference(s: MethodStep, views: Float32Array[]): Promise<{ loss: number; state: Map<string, Float32Array> }> {
  const [backbone, head] = s.method.networks;
  const shape = [BATCH, CHANNELS, SIZE, SIZE];
  const { assembled, model, runner } = await ownStep(s, 'concatenated-reference', {
    build(st) {
      const x = [0, 1].map((k) => st.input(`view${k}`, shape));
      const f = st.forward(backbone.module, { prefix: 'backbone' });
      const g = st.forward(head.module, { prefix: 'projection_head' });
      const [z0, z1] = split(head.module.forward(g, backbone.module.forward(f, concat(x, 0))), 2, 0);
      return { loss: LOSSES[s.config.method.name](z0, z1, s.config.method.params) };
    },
  });
  for (const [name, v] of assembled.initial) expect([name, v]).toEqual([name, s.initial.get(name)]);
  const feeds = Object.fromEntries(views.map((v, k) => [`view${k}`, new ort.Tensor('float32', v, shape)]));
  const point = { epoch: 0, totalEpochs: s.config.train.epochs, globalStep: 0, totalSteps: 10 };
  const { loss } = await runner.step(feeds, assembled.stepScalars(point, { lr: s.config.train.optimizer.lr, weightDecay: s.config.train.optimizer.weight_decay }));
  const state = new Map(model.stateNames.map((n) => [n, Float32Array.from(runner.state.data(n) as Float32Array)]));
  await runner.release();
  return { loss, state };
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

describe.each(Object.keys(LOSSES))('%s view_batches', (method) => {
  it('grouped = one 2·B pass through backbone and head, split after the head: loss, parameters, momentum (gradients) and BN statistics of one step', async () => {
    const grouped = await step(method, 'grouped');
    const { loss, views } = await grouped.step(1);
    const ref = await concatenatedReference(grouped, views);
    expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref.loss)));
    // Every entry the step changes: parameters, SGD momentum (= gradient + wd·θ after one step), running statistics.
    const changed = grouped.model.updatedNames;
    expect(changed.some((n) => n.includes('momentum'))).toBe(true);
    expect(changed.some((n) => n.endsWith('running_mean'))).toBe(true);
    for (const name of changed) {
      const r = ref.state.get(name)!;
      expect([name, maxAbsDiff(grouped.value(name), r)]).toEqual([name, expect.any(Number)]);
      expect([name, maxAbsDiff(grouped.value(name), r) <= 1e-5 * Math.max(1, maxAbs(r))]).toEqual([name, true]);
    }
    await grouped.runner.release();

    // With batch norm in training mode, one batch of both views is not two batches of one view each.
    const separate = await step(method, 'separate');
    const sep = await separate.step(1);
    expect(sep.views).toEqual(views);
    expect(Math.abs(sep.loss - loss)).toBeGreaterThan(1e-4 * Math.max(1, Math.abs(loss)));
    expect(maxAbsDiff(separate.value('projection_head.layers.1.running_mean'), grouped.value('projection_head.layers.1.running_mean'))).toBeGreaterThan(1e-6);
    await separate.runner.release();
  });

  it('view_batches: bogus is a one-line UserError naming the file and field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-view-batches-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, `method:\n  name: ${method}\n  params:\n    view_batches: bogus\n`);
    try {
      let error: unknown;
      try { loadConfig(file, { env: {} }); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(UserError);
      const message = (error as Error).message;
      expect(message).toContain(file);
      expect(message).toContain('method.params.view_batches');
      expect(message).toMatch(/separate.*grouped/);
      expect(message).not.toContain('\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('online classifier features of the two-view methods', () => {
  // The checksum Σ features ⊙ W with W fed as [2·B, D]: a graph with any other row count fails to build.
  async function featureChecksum(viewBatches: string, which: 'all' | 'first'): Promise<{ checksum: number; expected: number }> {
    const s = await step('simclr', viewBatches);
    const shape = [BATCH, CHANNELS, SIZE, SIZE];
    const rowsOf = which === 'all' ? 2 * BATCH : BATCH;
    const dim = s.backbone.featureDim;
    const { assembled, runner } = await ownStep(s, 'online-features', {
      build(st) {
        const x = [0, 1].map((k) => st.input(`view${k}`, shape));
        const w = st.input('w', [rowsOf, dim]);
        const { result, features } = withEvalBackboneFeatures(s.backbone.module, 'backbone', which === 'all' ? 'all' : x[0], () => s.method.buildLoss(st, x));
        return { loss: result.loss, metrics: { checksum: reduceSum(mul(features!, w)) } };
      },
    });
    const views = [0, 1].map((k) => Float32Array.from(randn(BATCH * CHANNELS * SIZE * SIZE, 40 + k)));
    const w = Float32Array.from(randn(rowsOf * dim, 7));
    const feeds = { view0: new ort.Tensor('float32', views[0], shape), view1: new ort.Tensor('float32', views[1], shape), w: new ort.Tensor('float32', w, [rowsOf, dim]) };
    const point = { epoch: 0, totalEpochs: 1, globalStep: 0, totalSteps: 1 };
    const { metrics } = await runner.step(feeds, assembled.stepScalars(point, { lr: 0.1, weightDecay: 0 }));
    await runner.release();
    await s.runner.release();
    // The backbone's training-mode outputs computed on their own, in the layout the method feeds it.
    const out = await probe(s.initial, views, shape, (net, view): Record<string, Tensor> => {
      const f = net(s.backbone.module, 'backbone');
      if (viewBatches === 'grouped') return { f: s.backbone.module.forward(f, concat([view(0), view(1)], 0)) };
      return { f0: s.backbone.module.forward(f, view(0)), f1: s.backbone.module.forward(f, view(1)) };
    });
    const features = viewBatches === 'grouped' ? out.f : which === 'all' ? Float32Array.from([...out.f0, ...out.f1]) : out.f0;
    let expected = 0;
    for (let i = 0; i < w.length; i++) expected += features[i] * w[i];
    return { checksum: metrics.checksum, expected };
  }

  it.each([['separate', 'all'], ['grouped', 'all'], ['separate', 'first']] as const)('%s batches, %s views: the recorded features are the backbone outputs, rows in view order', async (viewBatches, which) => {
    const { checksum, expected } = await featureChecksum(viewBatches, which);
    expect(Math.abs(checksum - expected)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
  });

  it('a pretraining step with view_batches grouped and eval.online_linear trains the classifier on both views (labels repeated)', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-view-batches-run-'));
    try {
      const c = loadConfig(path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml'), { set: ['eval.online_linear=true', 'method.params.view_batches=grouped'] });
      const training = await Pretraining.create(c, tmp, { dataSeed: c.seed, log: () => undefined, threads: 1 });
      const before = Float32Array.from(training.runner.state.data('online_classifier.classification_head.weight') as Float32Array);
      const r = await training.runStep();
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(maxAbsDiff(training.runner.state.data('online_classifier.classification_head.weight'), before)).toBeGreaterThan(0);
      await training.close();
      await training.runner.release();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
