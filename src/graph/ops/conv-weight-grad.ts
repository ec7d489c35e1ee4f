import type { Tensor } from '../graph';
import type { Conv2dAttrs } from './conv';
import { gemm } from './matmul';
import { concat, pad, reshape, slice, transpose, unsqueeze } from './shape';

/**
 * dL/dW of a groups-1 conv with the activations channels-last: x and g moved to [N, H, W, C]
 * (x padded), then one Gemm per kernel tap, gᵀ [Cout, K] × view [K, Cin] with K = N·Ho·Wo, where
 * the view is that tap's shifted (strided) window of the padded x. Channels-first slices at small
 * outputs copy runs of Wo floats (a [32, 128, 4, 4] Slice took 0.18 ms); channels-last ones copy
 * runs of Wo·Cin. Measured against the channels-first 'taps'/'gemm' layouts (isolated weight-grad
 * graphs, 1 thread, batch 128, min of 10-20): 4x4 output 64 ch 1.4 vs 4.6 ms, 128 ch 4.6 vs 11 ms,
 * 512 ch 61 vs 75 ms; 8x8 output 32 ch 2.4 vs 4.5 ms, 64 ch 6.5 vs 10.8 ms, 128 ch 18.8 vs 20.1 ms,
 * but 256 ch 74 vs 63 ms; at 16x16 with 16 ch 2.9 vs 3.8 ms, 32 ch 9.4 vs 7.2 ms; at 32x32 slower
 * (8 ch 7.2 vs 5.5 ms). Hence useChannelsLastWeightGrad.
 *
 * Each product is emitted with its larger output side as rows (Gemm(g, view, transA) when
 * Cout >= Cin, else the transposed product): MLAS splits a Gemm with more columns than rows by
 * columns and blocks K by each thread's share, so the K-long sums would round differently at
 * another intra-op thread count (see conv.ts productWithRowsFirst).
 */
export function convWeightGradChannelsLast(g: Tensor, x: Tensor, w: Tensor, a: Conv2dAttrs): Tensor {
  const [n, cin] = x.shape as number[];
  const [cout, , kh, kw] = w.shape as number[];
  const [, , ho, wo] = g.shape as number[];
  const k = n * ho * wo;
  const [top, left, bottom, right] = a.pad;
  const xl = transpose(x, [0, 2, 3, 1]);
  const padded = top || left || bottom || right ? pad(xl, [[0, 0], [top, bottom], [left, right], [0, 0]]) : xl;
  const gl = reshape(transpose(g, [0, 2, 3, 1]), [k, cout]);
  const [h, wd] = padded.shape.slice(1, 3) as number[];
  const rowsOut = cout >= cin;
  const perTap: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const t = i * a.dilation[0];
      const l = j * a.dilation[1];
      const b = t + (ho - 1) * a.stride[0] + 1;
      const r = l + (wo - 1) * a.stride[1] + 1;
      const whole = t === 0 && l === 0 && b === h && r === wd && a.stride[0] === 1 && a.stride[1] === 1;
      const view = reshape(whole ? padded : slice(padded, [t, l], [b, r], [1, 2], a.stride), [k, cin]);
      // [Cout, Cin] or, transposed, [Cin, Cout].
      const product = rowsOut ? gemm(gl, view, undefined, { transA: true }) : gemm(view, gl, undefined, { transA: true });
      perTap.push(kh * kw === 1 ? product : unsqueeze(product, 2));
    }
  }
  const stacked = perTap.length === 1 ? perTap[0] : concat(perTap, 2);
  return rowsOut ? reshape(stacked, w.shape) : reshape(transpose(reshape(stacked, [cin, cout, kh * kw]), [1, 0, 2]), w.shape);
}

/** Whether a groups-1 conv's weight gradient is faster channels-last (measured: see convWeightGradChannelsLast): outputs of at most 4x4 pixels, or 8x8 with at most 128 input channels. */
export function useChannelsLastWeightGrad(outputPixels: number, inChannels: number): boolean {
  return outputPixels <= 16 || (outputPixels <= 64 && inChannels <= 128);
}
