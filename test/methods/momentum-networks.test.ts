/**
 * The momentum (target) networks of BYOL, MoCo and TiCo must be what the target branch runs on.
 * The methods deep-copy the online networks, so at the first step target == online and a method
 * whose target branch ran the online networks would pass every loss check. Here the momentum
 * copies start from values of their own (an independent init), so the two wirings give clearly
 * different losses, and the step's loss must equal the reference computed with the target branch
 * on the EMA-updated momentum values m·θ_t + (1−m)·θ — the values lightly's update_momentum leaves
 * before the forward pass.
 */
import { negativeCosine, normalize, ntXentWithBank, RingBuffer, tico as ticoReference, type Matrix } from '../losses/reference';
import { Rng } from '../../src/data/rng';
import type { HostData } from '../../src/engine';
import { initParameters } from '../../src/nn';
import { byolPredictionHead, byolProjectionHead, mocoProjectionHead, ticoProjectionHead } from '../../src/nn/heads';
import { hostAccess } from '../../src/runner/assembled-method';
import { buildMethodStep, emaPairs, probe, rows, type StepOptions } from './support';

const OUT = 8;
const HEADS = ['method.params.projection_hidden_dim=16', `method.params.projection_out_dim=${OUT}`];

/**
 * Builds the step, gives every EMA parameter an independent initial value, and returns the values
 * the first step's forward pass sees: online parameters and buffers as initialised, momentum
 * parameters EMA-updated (float32 arithmetic, as the graph), and the same map with the momentum
 * parameters replaced by the online ones (what a target branch wired to the online network sees).
 */
async function withIndependentMomentum(method: string, opts: StepOptions) {
  const s = await buildMethodStep(method, opts);
  const pairs = emaPairs(s);
  expect(pairs.length).toBeGreaterThan(0);
  const specs = s.method.networks.filter((n) => n.role === 'ema').flatMap((n) => n.module.parameters(n.prefix));
  const fresh = initParameters(specs, new Rng(77).fork('init'));
  const host = hostAccess(s.runner.state, new Rng(0));
  for (const [name, value] of fresh) host.write(name, value);
  const m = Math.fround(s.method.emaMomentum!({ epoch: 0, totalEpochs: s.config.train.epochs, globalStep: 0, totalSteps: 10 }));
  const oneMinus = Math.fround(1 - m);
  const seen = new Map<string, HostData>(s.initial);
  const online = new Map<string, HostData>(s.initial);
  for (const { target, source } of pairs) {
    const t = fresh.get(target) as Float32Array;
    const o = s.initial.get(source) as Float32Array;
    seen.set(target, t.map((v, i) => Math.fround(Math.fround(v * m) + Math.fround(o[i] * oneMinus))));
    online.set(target, o);
  }
  return { s, seen, online };
}

describe('momentum networks are the target branch (independently initialised copies)', () => {
  it('byol: z\'_v = g_t(f_t(x_v)) on the momentum networks', async () => {
    const { s, seen, online } = await withIndependentMomentum('byol', { set: [...HEADS, 'method.params.prediction_hidden_dim=16'] });
    const { loss, views } = await s.step(1);
    const proj = byolProjectionHead(s.backbone.featureDim, 16, OUT);
    const pred = byolPredictionHead(OUT, 16, OUT);
    const reference = async (values: ReadonlyMap<string, HostData>) => {
      const out = await probe(values, views, [s.batch, 3, s.size, s.size], (net, view) => {
        const f = net(s.backbone.module, 'backbone');
        const g = net(proj, 'projection_head');
        const q = net(pred, 'prediction_head');
        const ft = net(s.backbone.module, 'backbone_momentum');
        const gt = net(proj, 'projection_head_momentum');
        return {
          p0: pred.forward(q, proj.forward(g, s.backbone.module.forward(f, view(0)))),
          p1: pred.forward(q, proj.forward(g, s.backbone.module.forward(f, view(1)))),
          z0: proj.forward(gt, s.backbone.module.forward(ft, view(0))),
          z1: proj.forward(gt, s.backbone.module.forward(ft, view(1))),
        };
      });
      const [p0, p1, z0, z1] = ['p0', 'p1', 'z0', 'z1'].map((n) => rows(out[n], OUT));
      return 0.5 * (negativeCosine(p0, z1) + negativeCosine(p1, z0));
    };
    const expected = await reference(seen);
    expect(Math.abs(expected - (await reference(online)))).toBeGreaterThan(1e-2);
    expect(loss).toBeCloseTo(expected, 4);
  });

  it('moco: keys k_b = g_k(f_k(x_b)) on the momentum networks, enqueued', async () => {
    const bankSize = 40;
    const { s, seen, online } = await withIndependentMomentum('moco', { set: [...HEADS, `method.params.memory_bank_size=${bankSize}`] });
    const bank0 = rows(s.initial.get('queue.bank')!, OUT);
    const { loss, views } = await s.step(1);
    const head = mocoProjectionHead(s.backbone.featureDim, 16, OUT);
    const reference = async (values: ReadonlyMap<string, HostData>) => {
      const out = await probe(values, views, [s.batch, 3, s.size, s.size], (net, view) => {
        const f = net(s.backbone.module, 'backbone');
        const g = net(head, 'projection_head');
        const fk = net(s.backbone.module, 'backbone_momentum');
        const gk = net(head, 'projection_head_momentum');
        return {
          q0: head.forward(g, s.backbone.module.forward(f, view(0))), k1: head.forward(gk, s.backbone.module.forward(fk, view(1))),
          q1: head.forward(g, s.backbone.module.forward(f, view(1))), k0: head.forward(gk, s.backbone.module.forward(fk, view(0))),
        };
      });
      const [q0, k1, q1, k0] = ['q0', 'k1', 'q1', 'k0'].map((n) => rows(out[n], OUT));
      const ring = new RingBuffer(bank0.map((r) => [...r]));
      const first = ntXentWithBank(q0, k1, ring.push(k1.map((r) => normalize(r))), 0.1);
      const second = ntXentWithBank(q1, k0, ring.push(k0.map((r) => normalize(r))), 0.1);
      return { loss: 0.5 * (first + second), bank: ring.rows.flat() };
    };
    const expected = await reference(seen);
    expect(Math.abs(expected.loss - (await reference(online)).loss)).toBeGreaterThan(1e-2);
    expect(loss).toBeCloseTo(expected.loss, 4);
    const bank = Array.from(s.value('queue.bank'), Number);
    expect(Math.max(...bank.map((v, i) => Math.abs(v - expected.bank[i])))).toBeLessThan(1e-5);
  });

  it('tico: z_b = g_t(f_t(x_1)) on the momentum networks, and C follows it', async () => {
    const { s, seen, online } = await withIndependentMomentum('tico', { set: HEADS });
    const { loss, views } = await s.step(1);
    const head = ticoProjectionHead(s.backbone.featureDim, 16, OUT);
    const zeros: Matrix = Array.from({ length: OUT }, () => new Array(OUT).fill(0));
    const reference = async (values: ReadonlyMap<string, HostData>) => {
      const out = await probe(values, views, [s.batch, 3, s.size, s.size], (net, view) => {
        const f = net(s.backbone.module, 'backbone');
        const g = net(head, 'projection_head');
        const ft = net(s.backbone.module, 'backbone_momentum');
        const gt = net(head, 'projection_head_momentum');
        return { za: head.forward(g, s.backbone.module.forward(f, view(0))), zb: head.forward(gt, s.backbone.module.forward(ft, view(1))) };
      });
      return ticoReference(rows(out.za, OUT), rows(out.zb, OUT), zeros, 0.9, 8);
    };
    const expected = await reference(seen);
    expect(Math.abs(expected.loss - (await reference(online)).loss)).toBeGreaterThan(1e-2);
    expect(loss).toBeCloseTo(expected.loss, 4);
    const c = Array.from(s.value('tico.C'), Number);
    expect(Math.max(...c.map((v, i) => Math.abs(v - expected.c.flat()[i])))).toBeLessThan(1e-5);
  });
});
