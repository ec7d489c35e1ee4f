import { Graph, type Tensor } from '../../src/graph';
import { memoryBankUpdate } from '../../src/losses/memory-bank';
import { mocoLoss, mocoSymmetricLoss } from '../../src/losses/moco';
import { nearestNeighbour, nnclrLoss } from '../../src/losses/nearest-neighbour';
import { checkGradient, randn, runSession, sessionFor, type HostArray } from '../support/graph-harness';
import { evaluate } from './evaluate';
import { RingBuffer, matrix, nearestNeighbours, normalize, ntXent, ntXentWithBank, type Matrix } from './reference';

const rowsOf = (data: HostArray, cols: number): Matrix => matrix(Array.from(data as Float64Array), data.length / cols, cols);

/**
 * One graph with state inputs (bank, ptr) and per-step inputs, run for several steps with the
 * state outputs fed back, as the engine will: the pointer is data, the graph is built once.
 */
async function stepper<S extends { bankNext: Tensor; ptrNext: Tensor }>(
  size: number, dim: number, batchShapes: number[][],
  build: (bank: Tensor, ptr: Tensor, batch: Tensor[]) => S,
) {
  const g = new Graph('bank');
  const bank = g.input('bank', [size, dim], 'float64');
  const ptr = g.input('ptr', [1], 'int64');
  const batch = batchShapes.map((shape, i) => g.input(`x${i}`, shape, 'float64'));
  for (const [name, t] of Object.entries(build(bank, ptr, batch))) g.output(name, t as Tensor);
  const session = await sessionFor(g);
  let state: { bank: Float64Array; ptr: number } = { bank: Float64Array.from(randn(size * dim, 7)), ptr: 0 };
  return {
    initialBank: () => rowsOf(state.bank, dim),
    async step(xs: Float64Array[]) {
      const feeds: Record<string, { data: HostArray; shape: number[] }> = {
        bank: { data: state.bank, shape: [size, dim] },
        ptr: { data: BigInt64Array.from([BigInt(state.ptr)]), shape: [1] },
      };
      xs.forEach((x, i) => (feeds[`x${i}`] = { data: x, shape: batchShapes[i] }));
      const out = await runSession(session, g, feeds);
      state = { bank: out.bankNext.data as Float64Array, ptr: Number(out.ptrNext.data[0]) };
      return { out, bank: rowsOf(state.bank, dim), ptr: state.ptr };
    },
  };
}

describe('memoryBankUpdate: the ring buffer of lightly MemoryBankModule', () => {
  it.each([
    ['wrap with dropped rows (10 rows, batches of 4)', 10, 4, 6],
    ['exact fit (8 rows, batches of 4: ptr + B = size resets to 0)', 8, 4, 5],
    ['batch larger than the bank (3 rows, batches of 5)', 3, 5, 3],
    ['batch of 1', 3, 1, 5],
  ])('%s: bank and pointer match the reference step by step', async (_name, size, b, steps) => {
    const dim = 3;
    const run = await stepper(size, dim, [[b, dim]], (bank, ptr, [x]) => {
      const s = memoryBankUpdate(bank, ptr, x);
      return { before: s.bankBefore, bankNext: s.bankNext, ptrNext: s.ptrNext };
    });
    const ref = new RingBuffer(run.initialBank());
    const pointers: number[] = [];
    for (let t = 0; t < steps; t++) {
      const x = randn(b * dim, 100 + t);
      const before = ref.push(matrix(x, b, dim));
      const got = await run.step([x]);
      expect(rowsOf(got.out.before.data, dim)).toEqual(before);
      expect(got.bank).toEqual(ref.rows);
      expect(got.ptr).toBe(ref.ptr);
      pointers.push(got.ptr);
    }
    const expectedPointers = { 10: [4, 8, 0, 4, 8, 0], 8: [4, 0, 4, 0, 4], 3: b === 5 ? [0, 0, 0] : [1, 2, 0, 1, 2] }[size as 3 | 8 | 10];
    expect(pointers).toEqual(expectedPointers);
  });

  it('rejects a float pointer and mismatched widths', () => {
    const g = new Graph('m');
    const bank = g.input('bank', [8, 3]);
    expect(() => memoryBankUpdate(bank, g.input('p', [1]), g.input('x', [2, 3]))).toThrow(/ptr float32\[1\] must be int64 \[1\]/);
    expect(() => memoryBankUpdate(bank, g.input('q', [1], 'int64'), g.input('y', [2, 4]))).toThrow(/must be static \[K, D\] and \[B, D\]/);
  });
});

describe('nearestNeighbour (NNCLR support set)', () => {
  it('returns the stored entry of highest cosine similarity (not normalised)', async () => {
    const bank = Float64Array.from(randn(7 * 3, 201), (v, i) => v * (1 + (i % 5)));
    const z = randn(4 * 3, 202);
    const out = await evaluate(([q, m]) => ({ nn: nearestNeighbour(q, m) }), [{ shape: [4, 3], data: z }, { shape: [7, 3], data: bank }]);
    expect(rowsOf(out.nn, 3)).toEqual(nearestNeighbours(matrix(z, 4, 3), matrix(bank, 7, 3)));
  });

  it('NNCLR step: ½[NTXent(NN(z0), p1) + NTXent(NN(z1), p0)] against the bank before the update; then z1 is enqueued', async () => {
    const [n, dim, size] = [4, 3, 6];
    const run = await stepper(size, dim, [[n, dim], [n, dim], [n, dim], [n, dim]], (bank, ptr, [z0, z1, p0, p1]) =>
      nnclrLoss({ z0, z1, p0, p1 }, bank, ptr, 0.5));
    const ref = new RingBuffer(run.initialBank());
    for (let t = 0; t < 3; t++) {
      const [z0, z1, p0, p1] = [0, 1, 2, 3].map((k) => randn(n * dim, 300 + 10 * t + k));
      const before = ref.rows.map((r) => [...r]);
      const expected = 0.5 * (ntXent(nearestNeighbours(matrix(z0, n, dim), before), matrix(p1, n, dim), 0.5)
        + ntXent(nearestNeighbours(matrix(z1, n, dim), before), matrix(p0, n, dim), 0.5));
      ref.push(matrix(z1, n, dim));
      const got = await run.step([z0, z1, p0, p1]);
      expect(Number(got.out.loss.data[0])).toBeCloseTo(expected, 10);
      expect(got.bank).toEqual(ref.rows);
      expect(got.ptr).toBe(ref.ptr);
    }
  });

  it('NNCLR gradient reaches the predictions and matches finite differences', async () => {
    const res = await checkGradient((g, [z0, z1, p0, p1, bank]) => {
      const ptr = g.constant(BigInt64Array.from([0n]), [1], 'int64');
      return nnclrLoss({ z0, z1, p0, p1 }, bank, ptr).loss;
    }, [{ shape: [4, 3], wrt: false }, { shape: [4, 3], wrt: false }, { shape: [4, 3] }, { shape: [4, 3] }, { shape: [6, 3], wrt: false }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('MoCo with a queue', () => {
  const [n, dim, size] = [4, 3, 6];
  const normRows = (x: Float64Array) => matrix(x, n, dim).map((r) => normalize(r));

  it('single call: loss against the queue before, then the normalised keys are enqueued', async () => {
    const run = await stepper(size, dim, [[n, dim], [n, dim]], (bank, ptr, [q, k]) => mocoLoss(q, k, bank, ptr, 0.2));
    const ref = new RingBuffer(run.initialBank());
    for (let t = 0; t < 3; t++) {
      const [q, k] = [0, 1].map((i) => randn(n * dim, 400 + 10 * t + i));
      const expected = ntXentWithBank(matrix(q, n, dim), matrix(k, n, dim), ref.push(normRows(k)), 0.2);
      const got = await run.step([q, k]);
      expect(Number(got.out.loss.data[0])).toBeCloseTo(expected, 10);
      expect(got.bank).toEqual(ref.rows.map((r) => r.map((v) => expect.closeTo(v, 15))));
      expect(got.ptr).toBe(ref.ptr);
    }
  });

  it('symmetric (docs scripts): ½[ℓ(q0, k1) + ℓ(q1, k0)], two enqueues per step, the second call sees the first call\'s keys', async () => {
    const run = await stepper(size, dim, [[n, dim], [n, dim], [n, dim], [n, dim]], (bank, ptr, [q0, k1, q1, k0]) =>
      mocoSymmetricLoss({ q0, k1, q1, k0 }, bank, ptr, 0.1));
    const ref = new RingBuffer(run.initialBank());
    for (let t = 0; t < 3; t++) {
      const [q0, k1, q1, k0] = [0, 1, 2, 3].map((i) => randn(n * dim, 500 + 10 * t + i));
      const first = ntXentWithBank(matrix(q0, n, dim), matrix(k1, n, dim), ref.push(normRows(k1)), 0.1);
      const negativesOfSecond = ref.push(normRows(k0));
      const second = ntXentWithBank(matrix(q1, n, dim), matrix(k0, n, dim), negativesOfSecond, 0.1);
      const got = await run.step([q0, k1, q1, k0]);
      expect(Number(got.out.loss.data[0])).toBeCloseTo(0.5 * (first + second), 10);
      expect(got.bank).toEqual(ref.rows.map((r) => r.map((v) => expect.closeTo(v, 15))));
      expect(got.ptr).toBe(ref.ptr);
      if (t === 0) expect(negativesOfSecond.slice(0, n)).toEqual(normRows(k1).map((r) => r.map((v) => expect.closeTo(v, 15))));
    }
  });

  it('symmetric loss gradient with respect to the queries matches finite differences', async () => {
    const res = await checkGradient((g, [q0, k1, q1, k0, bank]) => {
      const ptr = g.constant(BigInt64Array.from([2n]), [1], 'int64');
      return mocoSymmetricLoss({ q0, k1, q1, k0 }, bank, ptr).loss;
    }, [{ shape: [n, dim] }, { shape: [n, dim], wrt: false }, { shape: [n, dim] }, { shape: [n, dim], wrt: false }, { shape: [size, dim], wrt: false }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});
