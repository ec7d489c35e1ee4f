/**
 * The state entries of a lightly MemoryBankModule (docs/methods.md §4.0), shared by the methods that
 * keep a queue or support set (MoCo negatives, NNCLR support set): a [size, dim] ring buffer that
 * starts as N(0, 1) rows each L2-normalised (torch.randn then normalize(dim=1)), and an int64 write
 * pointer that starts at 0. The per-step rule lives in losses/memory-bank.ts.
 */
import type { Rng } from '../data/rng';
import type { MethodState } from './method';

/** The initial bank: `size` rows of `dim` standard-normal values, each row scaled to unit L2 norm. */
export function normalisedGaussianRows(rng: Rng, size: number, dim: number): Float32Array {
  const bank = new Float32Array(size * dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < size; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      row[d] = rng.normal();
      sq += row[d] * row[d];
    }
    const norm = Math.max(Math.sqrt(sq), 1e-12);
    for (let d = 0; d < dim; d++) bank[r * dim + d] = row[d] / norm;
  }
  return bank;
}

/** `<name>.bank` [size, dim] and `<name>.ptr` [1] (int64, 0). */
export function memoryBankState(name: string, size: number, dim: number): { bank: MethodState; ptr: MethodState } {
  return {
    bank: { name: `${name}.bank`, shape: [size, dim], dtype: 'float32', initial: (rng) => normalisedGaussianRows(rng, size, dim) },
    ptr: { name: `${name}.ptr`, shape: [1], dtype: 'int64', initial: () => new BigInt64Array(1) },
  };
}
