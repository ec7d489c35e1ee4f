import { RingBuffer, normalize, ntXentWithBank } from '../losses/reference';
import { mocoProjectionHead } from '../../src/nn/heads';
import { Rng } from '../../src/data/rng';
import { buildMethodStep, createMethod, emaPairs, maxAbsDiff, probe, rows } from './support';

const HEAD = ['method.params.projection_hidden_dim=16', 'method.params.projection_out_dim=8'];
const OUT = 8;

describe('moco method (docs/methods.md §4.9, CIFAR-10 docs script)', () => {
  it('symmetric loss over a queue with two enqueues per step; pointer wraps; shuffled keys are unshuffled; EMA by (1 − m)', async () => {
    const bankSize = 40;
    const s = await buildMethodStep('moco', { set: [...HEAD, `method.params.memory_bank_size=${bankSize}`] });
    const b = s.batch;
    expect(s.method.networks.map((n) => [n.prefix, n.role, n.emaOf ?? '', n.initFrom ?? ''])).toEqual([
      ['backbone', 'trained', '', ''], ['projection_head', 'trained', '', ''],
      ['backbone_momentum', 'ema', 'backbone', 'backbone'], ['projection_head_momentum', 'ema', 'projection_head', 'projection_head'],
    ]);
    expect(s.method.emaMomentum!({ epoch: 3, totalEpochs: 200, globalStep: 50, totalSteps: 1000 })).toBe(0.99);
    // Initial queue: N(0, 1) rows, each of unit L2 norm; pointer 0 (docs/methods.md §4.0).
    const bank0 = rows(s.initial.get('queue.bank')!, OUT);
    expect(bank0).toHaveLength(bankSize);
    for (const r of bank0) expect(Math.hypot(...r)).toBeCloseTo(1, 5);
    expect(new Set(bank0.map((r) => r[0].toFixed(6))).size).toBe(bankSize);
    expect(s.initial.get('queue.ptr')).toEqual(new BigInt64Array([0n]));

    const { loss, views, sampled } = await s.step(1);
    // Two fresh permutations per step (one per key pass), each with its inverse.
    for (const pass of [0, 1]) {
      const shuffle = Array.from(sampled[`moco.shuffle${pass}`].data as BigInt64Array, Number);
      const unshuffle = Array.from(sampled[`moco.unshuffle${pass}`].data as BigInt64Array, Number);
      expect([...shuffle].sort((x, y) => x - y)).toEqual(Array.from({ length: b }, (_, i) => i));
      unshuffle.forEach((u, i) => expect(shuffle[u]).toBe(i));
    }
    // Plain BN: the key batch's order does not change its outputs, so the reference can skip the
    // shuffle; a wrong unshuffle would pair queries with other samples' keys.
    const head = mocoProjectionHead(s.backbone.featureDim, 16, OUT);
    const out = await probe(s.initial, views, [b, 3, s.size, s.size], (net, view) => {
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
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(0.5 * (first + second), 4);
    // Pointer advanced by 2B; rows [0, 2B) hold the normalised keys k1 then k0, the rest untouched.
    expect(s.value('queue.ptr')).toEqual(new BigInt64Array([BigInt(2 * b)]));
    expect(maxAbsDiff(s.value('queue.bank'), ring.rows.flat())).toBeLessThan(1e-5);
    expect(Array.from(s.value('queue.bank').slice(2 * b * OUT), Number)).toEqual(Array.from(s.initial.get('queue.bank')!.slice(2 * b * OUT), Number));

    // EMA: momentum parameters start as copies and move toward the online ones by (1 − m) per
    // step, applied before the forward with the online values of the previous step's end.
    const pairs = emaPairs(s);
    expect(pairs.length).toBe(s.model.state.filter((e) => e.role === 'param').length);
    for (const { target, source } of pairs) expect(s.initial.get(target)).toEqual(s.initial.get(source));
    const online1 = new Map(pairs.map(({ source }) => [source, s.value(source) as Float32Array]));
    const target1 = new Map(pairs.map(({ target }) => [target, s.value(target) as Float32Array]));

    // Steps 2 and 3: 32 → 40 ≥ size wraps the pointer to 0 within step 3, whose second enqueue moves it to B.
    await s.step(2);
    let moved = 0;
    for (const { target, source } of pairs) {
      const expected = target1.get(target)!.map((v, i) => 0.99 * v + 0.01 * online1.get(source)![i]);
      expect(maxAbsDiff(s.value(target), expected)).toBeLessThan(1e-6);
      moved = Math.max(moved, maxAbsDiff(s.value(target), target1.get(target)!));
    }
    expect(moved).toBeGreaterThan(0);
    expect(s.value('queue.ptr')).toEqual(new BigInt64Array([BigInt(4 * b)]));
    await s.step(3);
    expect(s.value('queue.ptr')).toEqual(new BigInt64Array([BigInt(b)]));
  });

  it('SplitBatchNorm (8 splits, the CIFAR script) with shuffle-BN trains; the single-loss variant draws no permutations', async () => {
    const split = await buildMethodStep('moco', { set: [...HEAD, 'method.params.memory_bank_size=64'], batch: 16, splitBn: 8 });
    const { loss } = await split.step(1);
    expect(Number.isFinite(loss)).toBe(true);
    expect(split.value('queue.ptr')).toEqual(new BigInt64Array([32n]));
    // The ImageNet1k MoCoV2 variant (single loss, no shuffle) draws no permutations and has one key pass.
    const single = createMethod('moco', { set: [...HEAD, 'method.params.symmetric=false', 'method.params.shuffle_bn=false'] });
    expect(single.method.sampleInputs!(new Rng(0), 8)).toEqual({});
  });
});
