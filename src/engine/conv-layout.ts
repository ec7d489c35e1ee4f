import * as ort from 'onnxruntime-node';
import { Graph, add, conv2d, grad, mul, nchwcBlockSizeOfThisCpu, nchwcRebuildOf, reduceSum, toOnnx, withConvNchwcBlockSize, type Tensor } from '../graph';

/**
 * How convolutions run on ORT's CPU EP. 'auto': ORT's NCHWc convs (com.microsoft.nchwc, channels
 * blocked by this CPU's MLAS block: 16 with AVX-512F, 8 with AVX2) for every groups-1 conv whose
 * channels are multiples of the block, once a self-check on this machine agrees with plain Conv;
 * 'off': plain ONNX Conv. Results differ only at float rounding (sums in another order), like the
 * thread count. Measured on a shared 2-core AVX-512 machine, 1 thread (scripts/bench-step.js,
 * bench-embed.js): SimCLR ResNet-18-CIFAR step (batch 128) time / PyTorch's, median, plain → NCHWc:
 * width 8 1.63 → 1.42, width 16 1.58 → 1.46, width 64 1.07 → 0.85; kNN embedding 0.89 / 1.12 / 0.80
 * → 0.58 / 0.72 / 0.65; a Fashion-MNIST SimCLR epoch (width 0.125) 346 → 424 img/s; peak RSS +2 %.
 */
export type ConvLayoutPreference = 'auto' | 'off';
export const CONV_LAYOUT_PREFERENCES: readonly ConvLayoutPreference[] = ['auto', 'off'];

/** What a CPU session's convs run as: 'plain' ONNX Conv or NCHWc at block 8 / 16. */
export type ConvLayout = 'plain' | 'nchwc8' | 'nchwc16';

export function convLayoutName(block: number): ConvLayout {
  return block === 16 ? 'nchwc16' : block === 8 ? 'nchwc8' : 'plain';
}

let preference: ConvLayoutPreference = 'auto';
/**
 * The process's choice (ssl-bench run --nchwc): a property of how this machine runs a config, not of
 * the config, so like the thread count it is not in the config hash; summary.json records the layout
 * the training step ran with. Returns the previous one.
 */
export function setConvLayoutPreference(p: ConvLayoutPreference): ConvLayoutPreference {
  const prev = preference;
  preference = p;
  return prev;
}
export function convLayoutPreference(): ConvLayoutPreference {
  return preference;
}

export interface NchwcCheck {
  ok: boolean;
  /** Largest |nchwc − plain| over every output, relative to that output's largest |plain|. */
  worst: number;
}

/** Float32 rounding of sums over ≤ 288 products differs by ~1e-6; a wrong block scrambles channels (errors ~1). */
const SELF_CHECK_TOLERANCE = 1e-4;

/**
 * The conv shapes a ResNet step uses, forward and backward (3x3 stride 1 and 2 with padding, 1x1
 * stride 2 shortcut, with and without bias; the input gradient of a stride-1 conv is itself a conv),
 * 16 and 32 channels so both blocks apply. Outputs every forward value and gradient.
 */
function selfCheckGraph(): { graph: Graph; feeds: Record<string, ort.Tensor> } {
  const g = new Graph('nchwc-self-check');
  const shapes: Record<string, number[]> = {
    x: [2, 16, 7, 7], w1: [16, 16, 3, 3], b1: [16], w2: [32, 16, 3, 3], w3: [32, 16, 1, 1], w4: [32, 32, 3, 3], r: [2, 32, 4, 4],
  };
  const t: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(shapes)) t[name] = g.input(name, shape);
  const y1 = conv2d(t.x, t.w1, t.b1, { pad: 1 });
  const y2 = conv2d(y1, t.w2, undefined, { stride: 2, pad: 1 });
  const y3 = conv2d(t.x, t.w3, undefined, { stride: 2 });
  const y4 = conv2d(add(y2, y3), t.w4, undefined, { pad: 1 });
  const loss = reduceSum(mul(y4, t.r), [0, 1, 2, 3]);
  const grads = grad(loss, [t.x, t.w1, t.b1, t.w2, t.w3, t.w4]);
  g.output('y1', y1);
  g.output('y4', y4);
  grads.forEach((d, i) => g.output(`grad${i}`, d));
  // Deterministic, sign-mixed values; no RNG stream of a run is touched.
  const feeds: Record<string, ort.Tensor> = {};
  let k = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * (0.37 + 0.11 * k)));
    feeds[name] = new ort.Tensor('float32', data, shape);
    k += 1;
  }
  return { graph: g, feeds };
}

async function runCpu(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/**
 * Builds the self-check model with plain convs and at NCHWc block `block` and runs both on this
 * machine's CPU EP. A block other than MLAS's gives wrong numbers without an error, and a model ORT
 * cannot load at that block (no NCHWc kernels) counts as a failure.
 */
export async function nchwcSelfCheck(block: number): Promise<NchwcCheck> {
  const { graph, feeds } = selfCheckGraph();
  const plain = await runCpu(withConvNchwcBlockSize(0, () => toOnnx(graph)), feeds);
  let blocked: ort.InferenceSession.OnnxValueMapType;
  try {
    blocked = await runCpu(withConvNchwcBlockSize(block, () => toOnnx(graph)), feeds);
  } catch {
    return { ok: false, worst: Infinity };
  }
  let worst = 0;
  for (const name of Object.keys(plain)) {
    const a = plain[name].data as Float32Array;
    const b = blocked[name].data as Float32Array;
    // Relative to the output's largest value: chained convs cancel, so single elements can be tiny.
    const scale = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    for (let i = 0; i < a.length; i++) {
      const e = Math.abs(b[i] - a[i]) / scale;
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
  }
  return { ok: worst <= SELF_CHECK_TOLERANCE, worst };
}

const checked = new Map<number, Promise<NchwcCheck>>();

export interface CpuConvLayoutOptions {
  preference?: ConvLayoutPreference;
  /** MLAS's block on this machine (default from /proc/cpuinfo); tests force a wrong one. */
  cpuBlock?: number;
  /** Where the one-line fallback warning goes (default stderr). */
  log?: (message: string) => void;
}

/**
 * The NCHWc block CPU sessions use: 0 when the preference is 'off' or the CPU has no block, else
 * this CPU's block if the self-check passes (run once per block per process). On a mismatch,
 * plain convs and one warning line.
 */
export async function cpuNchwcBlock(opts: CpuConvLayoutOptions = {}): Promise<number> {
  if ((opts.preference ?? preference) === 'off') return 0;
  const block = opts.cpuBlock ?? nchwcBlockSizeOfThisCpu();
  if (block === 0) return 0;
  let check = checked.get(block);
  if (!check) {
    // A check that cannot run at all (e.g. no CPU EP session) also means plain convolutions.
    check = nchwcSelfCheck(block).catch((): NchwcCheck => ({ ok: false, worst: Infinity }));
    checked.set(block, check);
    const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    void check.then((r) => {
      if (!r.ok) log(`conv layout: ORT's NCHWc convolutions at block ${block} disagree with plain Conv on this CPU (worst relative error ${r.worst.toPrecision(3)}); using plain convolutions`);
    });
  }
  return (await check).ok ? block : 0;
}

/**
 * The bytes a CPU session opens for `bytes`: its NCHWc re-emission (toOnnx remembered one when the
 * graph has eligible convs) at cpuNchwcBlock, else `bytes` itself.
 */
export async function cpuModelBytes(bytes: Uint8Array, opts: CpuConvLayoutOptions = {}): Promise<{ bytes: Uint8Array; layout: ConvLayout }> {
  const rebuild = nchwcRebuildOf(bytes);
  if (!rebuild) return { bytes, layout: 'plain' };
  const block = await cpuNchwcBlock(opts);
  return block === 0 ? { bytes, layout: 'plain' } : { bytes: rebuild(block), layout: convLayoutName(block) };
}
