import { maskedPatchTargets } from '../../src/losses/mae';
import { simmimPixelLoss } from '../../src/losses/simmim';
import { checkGradient, randn } from '../support/graph-harness';
import { lossValue } from './evaluate';
import { maskedTargetsReference } from './patch-reference';

describe('SimMIM reconstruction loss', () => {
  it('L1: mean absolute difference over every element (nn.L1Loss) against patchified masked targets', async () => {
    const [n, c, size, p] = [2, 1, 4, 2];
    const images = randn(n * c * size * size, 51);
    const mask = [[1, 3, 4], [2, 4, 3]];
    const pred = randn(n * 3 * p * p * c, 52);
    const target = maskedTargetsReference(images, n, c, size, p, mask).flat(2);
    const ref = pred.reduce((s, v, i) => s + Math.abs(v - target[i]), 0) / pred.length;
    const got = await lossValue(([a, x, m]) => simmimPixelLoss(a, maskedPatchTargets(x, p, m)), [
      { shape: [n, 3, p * p * c], data: pred }, { shape: [n, c, size, size], data: images }, { shape: [n, 3], data: mask.flat(), dtype: 'int64' },
    ]);
    expect(got).toBeCloseTo(ref, 12);
  });

  it('gradient matches finite differences (sign of the difference / element count)', async () => {
    const res = await checkGradient((_g, [a, b]) => simmimPixelLoss(a, b), [{ shape: [3, 4] }, { shape: [3, 4] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});
