/**
 * MAE and SimMIM (docs/methods.md §4.7, §4.13) on the tiny ViT (28-px views, patch 7: 16 patches,
 * mask ratio 0.75 → 4 patches kept + class token, 12 masked): one step's loss against the float64
 * MSE / L1 between the networks' predictions and the view's patches cut out by loops, and what
 * each encoder sees — MAE's encoder only the kept tokens, SimMIM's every token with the masked ones
 * replaced — checked by changing the pixels of masked and of kept patches.
 */
import type * as ort from 'onnxruntime-node';
import { MaeDecoder } from '../../src/methods/mae';
import { SimmimHead } from '../../src/methods/simmim';
import { gatherTokens } from '../../src/nn/backbones/vit';
import { maskedTargetsReference } from '../losses/patch-reference';
import { buildVitStep, probeVit, type VitStep } from './vit-support';
import { maxAbsDiff } from './support';

const B = 8;
const P = 7;

function maskRows(t: ort.Tensor): number[][] {
  const [b, m] = t.dims as number[];
  const d = t.data as BigInt64Array;
  return Array.from({ length: b }, (_, i) => Array.from(d.slice(i * m, (i + 1) * m), Number));
}

/** A copy of view `v` with the pixels of sequence position `index` (patch index − 1) of sample `b` set to `value`. */
function withPatch(v: Float32Array, b: number, index: number, value: number): Float32Array {
  const out = v.slice();
  const patch = index - 1;
  const [gi, gj] = [Math.floor(patch / 4), patch % 4];
  for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) out[b * 784 + (gi * P + y) * 28 + gj * P + x] = value;
  return out;
}

async function maePrediction(s: VitStep, views: Float32Array[], sampled: Record<string, ort.Tensor>): Promise<Float32Array> {
  const decoder = new MaeDecoder({ encoderDim: s.vit.featureDim, dim: 32, depth: 1, heads: 2, grid: 4, outputDim: P * P });
  const out = await probeVit(s.initial, views, s.shapes, sampled, (net, view, index) => {
    const encoded = s.vit.forwardTokens(net(s.vit, 'backbone'), view(0), { keepIndices: index('mae.keep') }).tokens;
    return { pred: decoder.reconstruct(net(decoder, 'decoder'), encoded, index('mae.keep'), index('mae.mask')) };
  });
  return out.pred;
}

async function simmimPrediction(s: VitStep, views: Float32Array[], sampled: Record<string, ort.Tensor>): Promise<Float32Array> {
  const head = new SimmimHead(s.vit.featureDim, P * P);
  const out = await probeVit(s.initial, views, s.shapes, sampled, (net, view, index) => {
    const h = net(head, 'simmim');
    const mask = index('simmim.mask');
    const tokens = s.vit.forwardTokens(net(s.vit, 'backbone'), view(0), { maskIndices: mask, maskToken: h.param('mask_token') }).tokens;
    return { pred: head.forward(h, gatherTokens(tokens, mask)) };
  });
  return out.pred;
}

describe('MAE method step', () => {
  it('loss = MSE of the decoder output at the masked positions vs the view\'s patches there; the encoder never sees masked pixels', async () => {
    const s = await buildVitStep(['method.name=mae', 'method.params.decoder_dim=32', 'method.params.decoder_heads=2']);
    const { loss, views, sampled } = await s.step(3);
    expect(sampled['mae.keep'].dims).toEqual([B, 5]);
    expect(sampled['mae.mask'].dims).toEqual([B, 12]);
    const mask = maskRows(sampled['mae.mask']);
    const keep = maskRows(sampled['mae.keep']);
    const pred = await maePrediction(s, views, sampled);
    const target = maskedTargetsReference(views[0], B, 1, 28, P, mask).flat(2);
    expect(pred.length).toBe(target.length);
    const mse = target.reduce((acc, t, i) => acc + (pred[i] - t) ** 2, 0) / target.length;
    expect(loss).toBeCloseTo(mse, 5);

    // Masked pixels reach neither encoder nor decoder (only the targets); kept pixels do.
    const maskedChanged = await maePrediction(s, [withPatch(views[0], 0, mask[0][0], 9)], sampled);
    expect(maxAbsDiff(maskedChanged, pred)).toBe(0);
    const keptChanged = await maePrediction(s, [withPatch(views[0], 0, keep[0][1], 9)], sampled);
    expect(maxAbsDiff(keptChanged, pred)).toBeGreaterThan(1e-3);
  });

  it('decoder: Xavier Linears, mask token N(0, 0.02), fixed sin-cos table (a buffer, never trained)', async () => {
    const s = await buildVitStep(['method.name=mae', 'method.params.decoder_dim=32', 'method.params.decoder_heads=2']);
    const roles = new Map(s.model.state.map((e) => [e.name, e.role]));
    expect(roles.get('decoder.pos_embed')).toBe('buffer');
    expect(roles.get('decoder.mask_token')).toBe('param');
    expect(roles.get('decoder.prediction_head.weight')).toBe('param');
    const pos = s.initial.get('decoder.pos_embed') as Float32Array;
    expect(Array.from(pos.slice(0, 32)).every((v) => v === 0)).toBe(true); // class-token row
    await s.step(1);
    expect(s.value('decoder.pos_embed')).toEqual(pos);
    expect(maxAbsDiff(s.value('decoder.mask_token'), s.initial.get('decoder.mask_token')!)).toBeGreaterThan(0);
  });
});

describe('SimMIM method step', () => {
  it('loss = L1 of the linear decoder on the encoder output at the masked positions vs the view\'s patches; masked pixels are replaced by the mask token', async () => {
    const s = await buildVitStep(['method.name=simmim', 'augmentation.preset=simclr']);
    expect(s.method.views).toBe(2); // the SimCLR transform's two views; only the first is encoded
    const { loss, views, sampled } = await s.step(4);
    expect(sampled['simmim.mask'].dims).toEqual([B, 12]);
    const mask = maskRows(sampled['simmim.mask']);
    const pred = await simmimPrediction(s, views, sampled);
    const target = maskedTargetsReference(views[0], B, 1, 28, P, mask).flat(2);
    const l1 = target.reduce((acc, t, i) => acc + Math.abs(pred[i] - t), 0) / target.length;
    expect(loss).toBeCloseTo(l1, 5);

    const maskedChanged = await simmimPrediction(s, [withPatch(views[0], 2, mask[2][0], -9), views[1]], sampled);
    expect(maxAbsDiff(maskedChanged, pred)).toBe(0);
    const kept = Array.from({ length: 17 }, (_, i) => i).find((i) => i > 0 && !mask[2].includes(i))!;
    const keptChanged = await simmimPrediction(s, [withPatch(views[0], 2, kept, -9), views[1]], sampled);
    expect(maxAbsDiff(keptChanged, pred)).toBeGreaterThan(1e-3);
  });

  it('mask token starts at zero and trains', async () => {
    const s = await buildVitStep(['method.name=simmim', 'augmentation.preset=simclr']);
    expect(Array.from(s.initial.get('simmim.mask_token') as Float32Array).every((v) => v === 0)).toBe(true);
    await s.step(1);
    expect(maxAbsDiff(s.value('simmim.mask_token'), s.initial.get('simmim.mask_token')!)).toBeGreaterThan(0);
  });
});
