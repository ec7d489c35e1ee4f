/**
 * Seeded pseudo-random numbers for everything random on the TypeScript side (sampling order,
 * subsets, augmentation parameters). xoshiro128** on four 32-bit words: pure integer math with
 * `Math.imul` and `>>> 0`, so every platform produces the same stream, and its whole state is
 * four numbers that survive a JSON checkpoint unchanged.
 *
 * `fork(name)` derives an independent generator from the *origin* (seed + fork path) and the name,
 * never from the current position, so adding a new random consumer does not shift existing ones.
 */

// Module-level bindings: a global lookup per call is slow inside jest's vm context.
const { imul, sqrt, log, cos, PI } = Math;

/** JSON-safe snapshot of a generator: origin words (for forks) and current state words. */
export interface RngState {
  origin: [number, number, number, number];
  words: [number, number, number, number];
}

type Words = [number, number, number, number];

/** 128-bit string hash (cyrb128 structure) used only to turn seeds and fork names into state. */
function hashToWords(text: string): Words {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ imul(h1 ^ k, 597399067);
    h2 = h3 ^ imul(h2 ^ k, 2869860233);
    h3 = h4 ^ imul(h3 ^ k, 951274213);
    h4 = h1 ^ imul(h4 ^ k, 2716044179);
  }
  h1 = imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4; h2 ^= h1; h3 ^= h1; h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** splitmix32 pass: decorrelates the hash words and guarantees a non-zero xoshiro state. */
function scramble(words: Words): Words {
  const out: Words = [0, 0, 0, 0];
  let z = (words[0] ^ imul(words[1], 0x9e3779b9) ^ imul(words[2], 0x85ebca6b) ^ imul(words[3], 0xc2b2ae35)) >>> 0;
  for (let i = 0; i < 4; i++) {
    z = (z + 0x9e3779b9 + words[i]) >>> 0;
    let t = z;
    t = imul(t ^ (t >>> 16), 0x21f0aaad);
    t = imul(t ^ (t >>> 15), 0x735a2d97);
    out[i] = (t ^ (t >>> 15)) >>> 0;
  }
  if ((out[0] | out[1] | out[2] | out[3]) === 0) out[0] = 1;
  return out;
}

const TWO_POW_32 = 4294967296;

export class Rng {
  private readonly origin: Words;
  private s0: number; private s1: number; private s2: number; private s3: number;

  /** `seed` is a non-negative safe integer or any string; equal seeds give equal streams. */
  constructor(seed: number | string) {
    if (typeof seed === 'number' && !(Number.isSafeInteger(seed) && seed >= 0)) {
      throw new RangeError(`Rng seed must be a non-negative safe integer, got ${seed}`);
    }
    this.origin = hashToWords(`seed:${typeof seed}:${seed}`);
    [this.s0, this.s1, this.s2, this.s3] = scramble(this.origin);
  }

  /** Rebuilds a generator from `state()` output (e.g. read back from a checkpoint). */
  static fromState(state: RngState): Rng {
    const check = (w: unknown): w is Words =>
      Array.isArray(w) && w.length === 4 && w.every((x) => Number.isInteger(x) && x >= 0 && x < TWO_POW_32);
    if (!state || !check(state.origin) || !check(state.words) || state.words.every((x) => x === 0)) {
      throw new RangeError('Rng state must be {origin: [4 uint32], words: [4 uint32, not all zero]}');
    }
    const rng = Object.create(Rng.prototype) as Rng;
    (rng as unknown as { origin: Words }).origin = [...state.origin] as Words;
    rng.s0 = state.words[0]; rng.s1 = state.words[1]; rng.s2 = state.words[2]; rng.s3 = state.words[3];
    return rng;
  }

  state(): RngState {
    return { origin: [...this.origin] as Words, words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Independent generator determined by this generator's origin and `streamName` alone. */
  fork(streamName: string): Rng {
    const child = Object.create(Rng.prototype) as Rng;
    const origin = hashToWords(`fork:${this.origin.join(',')}:${streamName}`);
    (child as unknown as { origin: Words }).origin = origin;
    [child.s0, child.s1, child.s2, child.s3] = scramble(origin);
    return child;
  }

  /** Next raw 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = imul(rotl(imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0; this.s1 >>>= 0; this.s2 >>>= 0; this.s3 >>>= 0;
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in [a, b). */
  uniformRange(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), for 1 <= n <= 2^32. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= TWO_POW_32)) throw new RangeError(`Rng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    if (n === 1) return 0;
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal sample (Box-Muller; no cached spare so the state stays four words). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
