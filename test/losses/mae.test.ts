import { maePixelLoss, maskedPatchTargets } from '../../src/losses/mae';
import { checkGradient, randn } from '../support/graph-harness';
import { evaluate, lossValue } from './evaluate';
import { maskedTargetsReference } from './patch-reference';

// 2 images, 2 channels, 6×6 pixels, patch 3: 4 patches of 18 values; sequence indices 1..4.
const n = 2;
const c = 2;
const size = 6;
const p = 3;
const images = randn(n * c * size * size, 41);
const mask = [[4, 1], [2, 3]];
const maskInput = { shape: [n, 2], data: mask.flat(), dtype: 'int64' as const };

describe('MAE reconstruction targets and loss', () => {
  it('targets: patchify order (row in patch, column in patch, channel), patches row-major, mask index − 1', async () => {
    const out = await evaluate(([x, m]) => ({ t: maskedPatchTargets(x, p, m) }), [{ shape: [n, c, size, size], data: images }, maskInput]);
    expect(Array.from(out.t as Float64Array)).toEqual(maskedTargetsReference(images, n, c, size, p, mask).flat(2));
  });

  it('MSE: mean of squared differences over every element (nn.MSELoss)', async () => {
    const pred = randn(n * 2 * 18, 42);
    const target = randn(n * 2 * 18, 43);
    const ref = pred.reduce((s, v, i) => s + (v - target[i]) ** 2, 0) / pred.length;
    expect(await lossValue(([a, b]) => maePixelLoss(a, b), [{ shape: [n, 2, 18], data: pred }, { shape: [n, 2, 18], data: target }])).toBeCloseTo(ref, 12);
  });

  it('gradient w.r.t. the prediction and through the target gather into the image matches finite differences', async () => {
    const res = await checkGradient((_g, [pred, x, m]) => maePixelLoss(pred, maskedPatchTargets(x, p, m)), [
      { shape: [n, 2, c * p * p] }, { shape: [n, c, size, size] }, { ...maskInput, wrt: false },
    ], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

  it('rejects a prediction whose shape differs from the targets', async () => {
    await expect(evaluate(([a, b]) => ({ l: maePixelLoss(a, b) }), [{ shape: [2, 3], data: randn(6, 1) }, { shape: [3, 2], data: randn(6, 2) }])).rejects.toThrow(/maePixelLoss/);
  });
});
