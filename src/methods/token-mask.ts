/**
 * lightly's `random_token_mask` (lightly/models/utils.py), drawn in TypeScript from the run's
 * 'method' stream (docs/methods.md §2.3): per sample, uniform noise over the `sequenceLength`
 * positions with position 0 (the class token) forced first; the `numKeep` lowest-noise positions
 * are kept, the rest masked, with
 *
 *   numKeep = 1 + floor((sequenceLength − 1)·(1 − ratio))      (class token included)
 *
 * Indices refer to the token sequence with the class token at 0. MAE and SimMIM pass the full
 * sequence length (1 + patches). MSN passes the number of *patches* (its encode_masked uses
 * (width // patch)²), so the last patch — sequence index `patches` — is never among the positions
 * drawn: it is never kept, i.e. the anchor encoder never sees it. That quirk is reproduced by
 * calling this with sequenceLength = patches.
 */
import type { Rng } from '../data/rng';

export interface TokenMask {
  /** [batch, numKeep] kept positions, in increasing-noise order (row-major). */
  keep: BigInt64Array;
  /** [batch, sequenceLength − numKeep] masked positions, in increasing-noise order. */
  mask: BigInt64Array;
  numKeep: number;
  numMask: number;
}

/** How many positions random_token_mask keeps (class token included). */
export function tokensKept(sequenceLength: number, ratio: number): number {
  return Math.max(1, Math.floor((sequenceLength - 1) * (1 - ratio)) + 1);
}

export function randomTokenMask(rng: Rng, batch: number, sequenceLength: number, ratio: number): TokenMask {
  if (!(Number.isInteger(sequenceLength) && sequenceLength >= 1)) throw new RangeError(`random token mask: sequence length ${sequenceLength} must be an integer >= 1`);
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`random token mask: ratio ${ratio} must be in [0, 1)`);
  const numKeep = tokensKept(sequenceLength, ratio);
  const numMask = sequenceLength - numKeep;
  const keep = new BigInt64Array(batch * numKeep);
  const mask = new BigInt64Array(batch * numMask);
  const noise = new Float64Array(sequenceLength);
  const order = Array.from({ length: sequenceLength }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < sequenceLength; i++) noise[i] = rng.uniform();
    noise[0] = -1;
    for (let i = 0; i < sequenceLength; i++) order[i] = i;
    order.sort((x, y) => noise[x] - noise[y] || x - y);
    for (let k = 0; k < numKeep; k++) keep[b * numKeep + k] = BigInt(order[k]);
    for (let k = 0; k < numMask; k++) mask[b * numMask + k] = BigInt(order[numKeep + k]);
  }
  return { keep, mask, numKeep, numMask };
}
