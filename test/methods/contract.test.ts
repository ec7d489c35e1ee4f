/**
 * The Method contract as the pretraining assembles it, exercised with a toy method that uses every
 * building block the methods need beyond SimCLR: a momentum encoder (deep copy) and an
 * independently initialised momentum head, an EMA schedule, state carried between steps (a step
 * counter and a queue), and per-step random inputs drawn in TypeScript (a batch permutation, as
 * MoCo's shuffle-BN). The run is the tiny e2e config (80 embedded Fashion-MNIST images).
 */
import { METHOD_PARAMS } from '../../src/config/method-params';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { UserError } from '../../src/errors';
import { add, gather, slice, stopGradient } from '../../src/graph';
import { ntXentLoss } from '../../src/losses';
import type { Method, SchedulePoint } from '../../src/methods';
import { simclrProjectionHead } from '../../src/nn';
import { Pretraining } from '../../src/runner/pretrain';

const CONFIG = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');
const QUEUE = [4, 8];

const momentumAt: SchedulePoint[] = [];

const toy: Method = {
  id: 'toy',
  section: 'test',
  label: 'Toy',
  description: 'a test method',
  params: METHOD_PARAMS.simclr,
  defaultPreset: 'simclr',
  create({ backbone, batchSize }) {
    const head = simclrProjectionHead(backbone.featureDim, 16, 8);
    return {
      views: 2,
      networks: [
        { prefix: 'backbone', module: backbone.module, role: 'trained' },
        { prefix: 'projection_head', module: head, role: 'trained' },
        { prefix: 'momentum_backbone', module: backbone.module, role: 'ema', emaOf: 'backbone', initFrom: 'backbone' },
        { prefix: 'momentum_projection_head', module: head, role: 'ema', emaOf: 'projection_head' },
      ],
      state: [
        { name: 'toy.steps', shape: [1], dtype: 'float32', initial: () => new Float32Array(1) },
        { name: 'toy.queue', shape: QUEUE, dtype: 'float32', initial: (rng) => Float32Array.from({ length: QUEUE[0] * QUEUE[1] }, () => rng.normal()) },
      ],
      evalBackbone: 'momentum_backbone',
      buildLoss(step, [x0, x1]) {
        const perm = step.input('toy.perm', [batchSize], 'int64');
        const q = head.forward(step.forward(head, { prefix: 'projection_head' }), backbone.module.forward(step.forward(backbone.module, { prefix: 'backbone' }), x0));
        const kNet = step.forward(backbone.module, { prefix: 'momentum_backbone' });
        const kHead = step.forward(head, { prefix: 'momentum_projection_head' });
        const k = stopGradient(head.forward(kHead, backbone.module.forward(kNet, gather(x1, perm, 0))));
        step.setState('toy.steps', add(step.state('toy.steps'), 1));
        step.setState('toy.queue', slice(k, [0], [QUEUE[0]], [0]));
        return { loss: ntXentLoss(q, gather(k, perm, 0)) };
      },
      emaMomentum(at) {
        momentumAt.push(at);
        return 0.5 + 0.1 * at.globalStep;
      },
      sampleInputs(rng, batch) {
        const order = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
        return { 'toy.perm': { dtype: 'int64', data: BigInt64Array.from(order, BigInt), dims: [batch] } };
      },
    };
  },
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-methods-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function create(method: Method = toy): Promise<Pretraining> {
  const config = loadConfig(CONFIG, { set: ['train.epochs=2'] });
  return Pretraining.create(config, tmp, { dataSeed: config.seed, method });
}

function snapshot(t: Pretraining, prefix: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const e of t.model.state) if (e.name.startsWith(`${prefix}.`) && e.role !== 'optim') out.set(e.name, (t.runner.state.data(e.name) as Float32Array).slice());
  return out;
}

function roles(t: Pretraining, prefix: string): Set<string> {
  return new Set(t.model.state.filter((e) => e.name.startsWith(`${prefix}.`)).map((e) => e.role));
}

describe('Method contract (toy momentum method)', () => {
  test('momentum networks: deep copy or independent init, EMA with the scheduled momentum before the forward pass', async () => {
    momentumAt.length = 0;
    const t = await create();
    expect(roles(t, 'backbone')).toEqual(new Set(['param', 'optim', 'buffer']));
    expect(roles(t, 'momentum_backbone')).toEqual(new Set(['ema', 'buffer']));
    const online0 = snapshot(t, 'backbone');
    const momentum0 = snapshot(t, 'momentum_backbone');
    for (const [name, value] of online0) expect(momentum0.get(`momentum_${name}`)).toEqual(value);
    const head0 = snapshot(t, 'projection_head');
    const mhead0 = snapshot(t, 'momentum_projection_head');
    expect(mhead0.get('momentum_projection_head.layers.0.weight')).not.toEqual(head0.get('projection_head.layers.0.weight'));

    await t.runStep();
    const head1 = snapshot(t, 'projection_head');
    const mhead1 = snapshot(t, 'momentum_projection_head');
    await t.runStep();
    const online2 = snapshot(t, 'backbone');
    const mhead2 = snapshot(t, 'momentum_projection_head');
    expect(momentumAt.map((a) => a.globalStep)).toEqual([0, 1]);
    expect(momentumAt[0]).toEqual({ epoch: 0, totalEpochs: 2, globalStep: 0, totalSteps: 10 });

    const w = 'projection_head.layers.0.weight';
    // Step s uses m = 0.5 + 0.1·s on the online weights as they were before step s.
    const expect1 = mhead0.get(`momentum_${w}`)!.map((v, i) => 0.5 * v + 0.5 * head0.get(w)![i]);
    const expect2 = expect1.map((v, i) => 0.6 * v + 0.4 * head1.get(w)![i]);
    mhead1.get(`momentum_${w}`)!.forEach((v, i) => expect(v).toBeCloseTo(expect1[i], 6));
    mhead2.get(`momentum_${w}`)!.forEach((v, i) => expect(v).toBeCloseTo(expect2[i], 6));
    // The trained network moved; its BN running statistics are buffers of its own.
    expect(online2.get('backbone.conv1.weight')).not.toEqual(online0.get('backbone.conv1.weight'));
    expect(t.runner.state.data('toy.steps')[0]).toBe(2);
  });

  test('checkpoint → fresh training → load: the next steps are bitwise those of the uninterrupted one', async () => {
    const a = await create();
    await a.runStep();
    await a.runStep();
    const file = path.join(tmp, 'toy.ckpt');
    await a.saveCheckpoint(file, { note: 'runner state' });
    const lossesA = [(await a.runStep()).loss, (await a.runStep()).loss];

    const b = await create();
    expect(await b.loadCheckpoint(file)).toEqual({ note: 'runner state' });
    expect(b.position()).toEqual({ epoch: 0, step: 2, globalStep: 2 });
    const lossesB = [(await b.runStep()).loss, (await b.runStep()).loss];
    expect(lossesB).toEqual(lossesA);
    for (const e of a.model.state) expect(b.runner.state.data(e.name)).toEqual(a.runner.state.data(e.name));
    expect(await b.evaluate()).toEqual(await a.evaluate());
  });

  test('a preset whose view count differs from the method\'s is a user error', async () => {
    const threeViews: Method = { ...toy, create: (ctx) => ({ ...toy.create(ctx), views: 3 }) };
    await expect(create(threeViews)).rejects.toThrow(UserError);
    await expect(create(threeViews)).rejects.toThrow(/simclr gives 2 views, method simclr consumes 3/);
  });
});
