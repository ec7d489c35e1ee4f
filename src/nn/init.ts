/**
 * Initial values of parameters and buffers, following the torch.nn.init functions named by each
 * InitSpec. Every tensor draws from its own generator `rng.fork('init:' + name)`, so a tensor's
 * values depend only on the run seed and its full name: adding a head does not change the
 * backbone's initial weights. Networks that must start different (a teacher head "independently
 * initialised") get different names or a different fork of the run's generator.
 */
import type { Rng } from '../data/rng';
import type { BufferSpec, InitSpec, ParamSpec } from './module';
import { sinCos2dPositionEmbedding } from './position-embedding';

// One 32-bit draw per uniform: float32 values need no more, and ViT-B has 86M of them (a
// 53-bit Rng.uniform() costs two draws).
const TWO_POW_NEG_32 = 2 ** -32;

// Module-level bindings: under jest (a vm context) a global lookup per element made init ~30x slower.
const { sqrt, log, cos, sin, PI } = Math;

function fillUniform(out: Float32Array, bound: number, rng: Rng): void {
  const scale = 2 * bound * TWO_POW_NEG_32;
  for (let i = 0; i < out.length; i++) out[i] = rng.nextUint32() * scale - bound;
}

/** Box-Muller using both outputs of each pair (the generator's normal() discards one). */
function fillNormal(out: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = (rng.nextUint32() + 1) * TWO_POW_NEG_32; // (0, 1]: log stays finite
    const r = sqrt(-2 * log(u)) * std;
    const phi = 2 * PI * rng.nextUint32() * TWO_POW_NEG_32;
    out[i] = r * cos(phi);
    if (i + 1 < out.length) out[i + 1] = r * sin(phi);
  }
}

/** Rejection sampling: exact for any bounds; with timm's [−2, 2] at std 0.02 nothing is ever rejected. */
function fillTruncNormal(out: Float32Array, std: number, lower: number, upper: number, rng: Rng): void {
  if (!(lower < upper) || Math.max(lower, -upper) / std > 5) {
    throw new RangeError(`truncNormal: bounds [${lower}, ${upper}] with std ${std} are empty or too far in the tail for rejection sampling`);
  }
  const pair = new Float32Array(2);
  let i = 0;
  while (i < out.length) {
    fillNormal(pair, std, rng);
    for (const v of pair) if (i < out.length && v >= lower && v <= upper) out[i++] = v;
  }
}

/** Values of one tensor of `size` elements drawn as `init` says. */
export function initTensor(init: InitSpec, size: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  switch (init.type) {
    case 'constant':
      out.fill(init.value);
      break;
    case 'uniform':
      fillUniform(out, init.bound, rng);
      break;
    case 'kaimingUniform':
      fillUniform(out, Math.sqrt(2 / (1 + init.a * init.a)) * Math.sqrt(3 / init.fanIn), rng);
      break;
    case 'kaimingNormal':
      fillNormal(out, Math.sqrt(2 / init.fanOut), rng);
      break;
    case 'xavierUniform':
      fillUniform(out, Math.sqrt(6 / (init.fanIn + init.fanOut)), rng);
      break;
    case 'normal':
      fillNormal(out, init.std, rng);
      break;
    case 'truncNormal':
      fillTruncNormal(out, init.std, init.lower, init.upper, rng);
      break;
    case 'sincos2d': {
      const table = sinCos2dPositionEmbedding(init.gridH, init.gridW, init.dim, init.prefixTokens);
      if (table.length !== size) throw new RangeError(`sincos2d: table of ${table.length} values for a tensor of ${size}`);
      out.set(table);
      break;
    }
  }
  return out;
}

/**
 * Initial values of every spec, by full name, drawn from forks of `rng` (which itself is not
 * advanced). float32 only: no module declares integer buffers (num_batches_tracked is omitted).
 */
export function initParameters(specs: readonly (ParamSpec | BufferSpec)[], rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const spec of specs) {
    if ('dtype' in spec && spec.dtype !== 'float32') throw new RangeError(`initParameters: buffer '${spec.name}' is ${spec.dtype}; only float32 is initialised here`);
    if (out.has(spec.name)) throw new RangeError(`initParameters: '${spec.name}' appears twice`);
    const size = spec.shape.reduce((a, d) => a * d, 1);
    out.set(spec.name, initTensor(spec.init, size, rng.fork(`init:${spec.name}`)));
  }
  return out;
}

/** torch.nn.Conv2d / nn.Linear default: weight kaiming_uniform_(a=√5) = U(±1/√fan_in). */
export function torchDefaultWeight(fanIn: number): InitSpec {
  return { type: 'kaimingUniform', fanIn, a: Math.sqrt(5) };
}

/** torch.nn.Conv2d / nn.Linear default bias: U(±1/√fan_in). */
export function torchDefaultBias(fanIn: number): InitSpec {
  return { type: 'uniform', bound: fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0 };
}

export const ZEROS: InitSpec = { type: 'constant', value: 0 };
export const ONES: InitSpec = { type: 'constant', value: 1 };
/** timm's trunc_normal_(std=.02) with its absolute bounds a=−2, b=2. */
export const TRUNC_NORMAL_002: InitSpec = { type: 'truncNormal', std: 0.02, lower: -2, upper: 2 };
