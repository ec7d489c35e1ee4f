import { EpochSampler } from '../../src/data/sampler';

function allBatches(s: EpochSampler): number[][] {
  return Array.from(s.epochBatches(), (b) => Array.from(b));
}

describe('EpochSampler', () => {
  test('training epoch: shuffled, drop_last, every kept index once', () => {
    const s = new EpochSampler({ n: 103, batchSize: 10, seed: 1, dropLast: true });
    expect(s.batchesPerEpoch).toBe(10);
    const batches = allBatches(s);
    expect(batches).toHaveLength(10);
    expect(batches.every((b) => b.length === 10)).toBe(true);
    const flat = batches.flat();
    expect(new Set(flat).size).toBe(100);
    expect(flat).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(s.state()).toEqual({ epoch: 1, position: 0 });
  });

  test('evaluation: no shuffle, keeps the partial last batch', () => {
    const s = new EpochSampler({ n: 7, batchSize: 3, seed: 0, shuffle: false });
    expect(allBatches(s)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  test("epoch e's order depends only on seed and e", () => {
    const a = new EpochSampler({ n: 50, batchSize: 5, seed: 9 });
    const b = new EpochSampler({ n: 50, batchSize: 5, seed: 9 });
    allBatches(a); allBatches(a);
    // a is now at epoch 2; b jumps there directly.
    b.setState({ epoch: 2, position: 0 });
    expect(allBatches(a)).toEqual(allBatches(b));
    expect(Array.from(a.permutation(0))).not.toEqual(Array.from(a.permutation(1)));
    const other = new EpochSampler({ n: 50, batchSize: 5, seed: 10 });
    expect(Array.from(other.permutation(0))).not.toEqual(Array.from(a.permutation(0)));
    const otherStream = new EpochSampler({ n: 50, batchSize: 5, seed: 9, stream: 'linear-probe' });
    expect(Array.from(otherStream.permutation(0))).not.toEqual(Array.from(a.permutation(0)));
  });

  test('resuming mid-epoch from JSON state gives exactly the remaining batches', () => {
    const opts = { n: 64, batchSize: 8, seed: 3, dropLast: true };
    const full = new EpochSampler(opts);
    const reference = [...allBatches(full), ...allBatches(full)];

    const first = new EpochSampler(opts);
    const seen: number[][] = [];
    for (let k = 0; k < 3; k++) seen.push(Array.from(first.nextBatch()!));
    const saved = JSON.parse(JSON.stringify(first.state()));
    expect(saved).toEqual({ epoch: 0, position: 24 });

    const resumed = new EpochSampler(opts, saved);
    seen.push(...allBatches(resumed), ...allBatches(resumed));
    expect(seen).toEqual(reference);
  });

  test('nextBatch returns null once at epoch end and moves to the next epoch', () => {
    const s = new EpochSampler({ n: 4, batchSize: 2, seed: 0 });
    expect(s.nextBatch()).not.toBeNull();
    expect(s.nextBatch()).not.toBeNull();
    expect(s.state()).toEqual({ epoch: 0, position: 4 });
    expect(s.nextBatch()).toBeNull();
    expect(s.state()).toEqual({ epoch: 1, position: 0 });
  });

  test('rejects invalid options and states', () => {
    expect(() => new EpochSampler({ n: 10, batchSize: 0, seed: 0 })).toThrow(RangeError);
    const s = new EpochSampler({ n: 10, batchSize: 4, seed: 0, dropLast: true });
    expect(() => s.setState({ epoch: 0, position: 9 })).toThrow('position must be 0..8');
    expect(() => s.setState({ epoch: -1, position: 0 })).toThrow(RangeError);
  });
});
