import { Rng } from './rng';

/** Where a sampler stands: `position` images of epoch `epoch` have been handed out. */
export interface SamplerState {
  epoch: number;
  position: number;
}

export interface SamplerOptions {
  /** Dataset size. */
  n: number;
  batchSize: number;
  /** Run seed; epoch e's order depends only on (seed, stream, e). */
  seed: number;
  /** Shuffle each epoch (training) or keep 0..n-1 (evaluation). Default true. */
  shuffle?: boolean;
  /** Drop the last incomplete batch (training). Default false. */
  dropLast?: boolean;
  /** Name of the random stream, so two samplers of one run can differ. Default 'sampler'. */
  stream?: string;
}

/**
 * Batches of dataset indices, epoch after epoch. Each epoch's permutation is a fresh Fisher-Yates
 * shuffle from a generator forked by the epoch number, so it depends on nothing but seed and
 * epoch: a run resumed from `{epoch, position}` yields exactly the batches it had left.
 */
export class EpochSampler {
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly root: Rng;
  private epoch = 0;
  private position = 0;
  private cachedEpoch = -1;
  private cachedOrder: Int32Array = new Int32Array(0);

  constructor(opts: SamplerOptions, state?: SamplerState) {
    if (!(Number.isInteger(opts.n) && opts.n >= 0)) throw new RangeError(`sampler n must be an integer >= 0, got ${opts.n}`);
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new RangeError(`sampler batchSize must be an integer >= 1, got ${opts.batchSize}`);
    this.n = opts.n;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.root = new Rng(opts.seed).fork(opts.stream ?? 'sampler');
    if (state) this.setState(state);
  }

  /** Batches per epoch (a partial last batch counts unless dropLast). */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** Images an epoch hands out (n minus the dropped tail). */
  private get epochLength(): number {
    return this.dropLast ? this.batchesPerEpoch * this.batchSize : this.n;
  }

  /** The order of epoch `epoch`: a permutation of 0..n-1 (identity without shuffle). */
  permutation(epoch: number): Int32Array {
    if (epoch === this.cachedEpoch) return this.cachedOrder;
    const order = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    if (this.shuffle) this.root.fork(`epoch:${epoch}`).shuffle(order);
    this.cachedEpoch = epoch;
    this.cachedOrder = order;
    return order;
  }

  state(): SamplerState {
    return { epoch: this.epoch, position: this.position };
  }

  setState(state: SamplerState): void {
    const { epoch, position } = state;
    if (!(Number.isInteger(epoch) && epoch >= 0 && Number.isInteger(position) && position >= 0 && position <= this.epochLength)) {
      throw new RangeError(`sampler state {epoch: ${epoch}, position: ${position}} is invalid for ${this.n} images (position must be 0..${this.epochLength})`);
    }
    this.epoch = epoch;
    this.position = position;
  }

  /**
   * The next batch of the current epoch, or null when the epoch is over; after the null the
   * sampler stands at the start of the next epoch.
   */
  nextBatch(): Int32Array | null {
    const end = this.epochLength;
    if (this.position >= end) {
      this.epoch++;
      this.position = 0;
      return null;
    }
    const order = this.permutation(this.epoch);
    const stop = Math.min(this.position + this.batchSize, end);
    const batch = order.slice(this.position, stop);
    this.position = stop;
    return batch;
  }

  /** The batches left in the current epoch; afterwards the sampler is at the next epoch's start. */
  *epochBatches(): Generator<Int32Array, void, undefined> {
    for (let batch = this.nextBatch(); batch !== null; batch = this.nextBatch()) yield batch;
  }
}
