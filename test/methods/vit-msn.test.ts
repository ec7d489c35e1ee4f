/**
 * MSN and PMSN (docs/methods.md §4.8, §4.11) on the tiny ViT: the masks (MSN's sequence length is
 * the number of patches, so the last patch is never kept), the loss of one step against the float64
 * MSN/PMSN loop on the networks' outputs, and the target branch: its parameters are perturbed away
 * from the anchor's before the first step, so a step that used the anchor networks for the targets
 * (or skipped the EMA) gives another loss.
 */
import { Rng } from '../../src/data/rng';
import type { HostData } from '../../src/engine';
import { concat } from '../../src/graph';
import { msnProjectionHead } from '../../src/nn/heads';
import { Prototypes } from '../../src/methods/msn';
import { randomTokenMask } from '../../src/methods/token-mask';
import { msnReference } from '../losses/msn-reference';
import { buildVitStep, probeVit, type VitStep } from './vit-support';
import { maxAbsDiff, rows } from './support';

const OUT = 16;
const SMALL = ['method.params.prototypes=12', 'method.params.projection_hidden_dim=24', `method.params.projection_out_dim=${OUT}`,
  'augmentation.preset=msn', 'augmentation.overrides={focal_size: 14, n_focal_views: 2}', 'train.batch_size=4'];
const M = 0.996;

describe('random_token_mask as MSN calls it', () => {
  it('keeps 1 + floor((P−1)·0.85) of positions 0..P−1: class token first, never the last patch (sequence index P)', () => {
    for (const patches of [16, 4, 64]) {
      const seen = new Set<number>();
      for (let draw = 0; draw < 40; draw++) {
        const m = randomTokenMask(new Rng(draw), 3, patches, 0.15);
        expect(m.numKeep).toBe(1 + Math.floor((patches - 1) * 0.85));
        for (let b = 0; b < 3; b++) {
          const keep = Array.from(m.keep.slice(b * m.numKeep, (b + 1) * m.numKeep), Number);
          const mask = Array.from(m.mask.slice(b * m.numMask, (b + 1) * m.numMask), Number);
          expect(keep[0]).toBe(0);
          expect(new Set([...keep, ...mask])).toEqual(new Set(Array.from({ length: patches }, (_, i) => i)));
          keep.forEach((i) => seen.add(i));
        }
      }
      // Every patch but the last is kept sometimes; sequence index `patches` (the last patch) never is.
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: patches }, (_, i) => i));
      expect(seen.has(patches)).toBe(false);
    }
    expect(1 + Math.floor(63 * 0.85)).toBe(54); // 128-px random view of ViT-S/16 (docs/methods.md §4.8)
  });

  it('is a function of the generator state: same seed, same masks; another seed, other masks', () => {
    const a = randomTokenMask(new Rng(7).fork('method'), 4, 17, 0.75);
    const b = randomTokenMask(new Rng(7).fork('method'), 4, 17, 0.75);
    const c = randomTokenMask(new Rng(8).fork('method'), 4, 17, 0.75);
    expect(a.keep).toEqual(b.keep);
    expect(a.mask).toEqual(b.mask);
    expect(a.keep).not.toEqual(c.keep);
    expect([a.numKeep, a.numMask]).toEqual([5, 12]); // MAE on 16 patches: 1 + floor(16·0.25) kept
  });
});

/** Target parameters moved away from the anchor parameters they were copied from. */
function perturbTargets(initial: Map<string, HostData>, emaTargets: string[]): void {
  emaTargets.forEach((name, k) => {
    const rng = new Rng(100 + k);
    initial.set(name, Float32Array.from(initial.get(name) as Float32Array, (x) => x + 0.05 * rng.normal()));
  });
}

async function networkOutputs(s: VitStep, values: Map<string, HostData>, views: Float32Array[], sampled: Record<string, import('onnxruntime-node').Tensor>, method: string) {
  const head = msnProjectionHead(s.vit.featureDim, 24, OUT);
  const protos = new Prototypes(12, OUT);
  return probeVit(values, views, s.shapes, sampled, (net, view, index) => {
    const f = net(s.vit, 'backbone');
    const g = net(head, 'projection_head');
    const ft = net(s.vit, 'target_backbone');
    const gt = net(head, 'target_projection_head');
    const target = head.forward(gt, s.vit.forward(ft, view(0)));
    const anchor = head.forward(g, s.vit.forwardTokens(f, view(1), { keepIndices: index(`${method}.keep_random`) }).classToken);
    const focal = head.forward(g, s.vit.forwardTokens(f, concat([view(2), view(3)], 0), { keepIndices: index(`${method}.keep_focal`) }).classToken);
    return { target, anchors: concat([anchor, focal], 0), prototypes: protos.forward(net(protos, 'prototypes')) };
  });
}

describe.each([
  ['msn', 'entropy' as const],
  ['pmsn', { powerLaw: 0.25 }],
])('%s method step', (method, regulariser) => {
  it('loss = float64 loss of the anchor and EMA-target outputs; the target follows the anchor by EMA; prototypes stay', async () => {
    const s = await buildVitStep([`method.name=${method}`, ...SMALL], { edit: perturbTargets });
    expect(s.method.views).toBe(4);
    expect(s.shapes.map((sh) => sh[2])).toEqual([28, 28, 14, 14]);
    expect(s.method.evalBackbone).toBe('target_backbone');
    const { loss, views, sampled } = await s.step(1);
    expect(sampled[`${method}.keep_random`].dims).toEqual([4, 13]);
    expect(sampled[`${method}.keep_focal`].dims).toEqual([8, 3]);

    // What the step's forward pass saw: targets EMA-updated first (m·θ_t + (1 − m)·θ), then used.
    const targetNames = s.model.state.filter((e) => e.role === 'ema').map((e) => e.name);
    expect(targetNames).toContain('target_backbone.cls_token');
    expect(targetNames).toContain('target_projection_head.layers.0.weight');
    const seen = new Map(s.initial);
    for (const name of targetNames) {
      const t = s.initial.get(name) as Float32Array;
      const a = s.initial.get(name.slice('target_'.length)) as Float32Array;
      seen.set(name, t.map((v, i) => M * v + (1 - M) * a[i]));
      expect(maxAbsDiff(s.value(name), seen.get(name)!)).toBeLessThan(1e-6);
    }
    const ref = (values: Map<string, HostData>) => networkOutputs(s, values, views, sampled, method).then((o) => msnReference(
      rows(o.anchors, OUT), rows(o.target, OUT), rows(o.prototypes, OUT), { regulariser },
    ));
    expect(loss).toBeCloseTo(await ref(seen), 4);

    // The anchor networks in the target's place give another loss.
    const online = new Map(seen);
    for (const name of targetNames) online.set(name, s.initial.get(name.slice('target_'.length))!);
    expect(Math.abs(loss - (await ref(online)))).toBeGreaterThan(1e-3);

    expect(s.value('prototypes.weight')).toEqual(s.initial.get('prototypes.weight'));
    expect(maxAbsDiff(s.value('backbone.blocks.0.attn.qkv.weight'), s.initial.get('backbone.blocks.0.attn.qkv.weight')!)).toBeGreaterThan(0);
  });
});
