import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';
import { cpuModelBytes, type ConvLayout, type ConvLayoutPreference } from './conv-layout';
import { describeMissingCudaLibraries, missingCudaLibraries } from './cuda-provider';

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';
export type ResolvedDevice = Exclude<Device, 'auto'>;

export interface SessionOptions {
  /** Intra-op threads (default: every core the process may use). */
  threads?: number;
  /**
   * Inter-op parallelism: run independent branches of the graph at once. Measured on the 2-core
   * machine with the SimCLR ResNet-18-CIFAR step at batch 64 (interleaved A/B, same process):
   * parallel median 19.7 s / min 10.1 s vs sequential 13.6 s / 6.4 s — the executors compete for
   * the same two cores and the intra-op thread pool already keeps them busy. Default sequential.
   */
  executionMode?: 'sequential' | 'parallel';
  /** Let idle intra-op threads spin (ORT's default) or sleep at once. */
  spinning?: boolean;
  /** Where notices go (e.g. "device auto: CUDA EP not installed, using CPU"). Default stderr. */
  log?: (message: string) => void;
  /** Write an ORT profile (JSON trace) with this file prefix; finish it with session.endProfiling(). */
  profilePrefix?: string;
  /** On the CPU EP, NCHWc convs or plain (default: the process's conv-layout.ts preference, set by `run --nchwc`). */
  convLayout?: ConvLayoutPreference;
  /**
   * WebGPU EP only (ignored on other devices): outputs ORT leaves in GPU buffers instead of copying
   * them to the host (preferredOutputLocation; engine/device-state.ts), and the layout its convs
   * run in (preferredLayout, default NCHW).
   */
  webgpu?: { outputLocations?: Readonly<Record<string, 'gpu-buffer'>>; layout?: 'NCHW' | 'NHWC' };
}

export interface CreatedSession {
  session: ort.InferenceSession;
  device: ResolvedDevice;
  /** How its convs run: NCHWc only on the CPU EP (a GPU EP always gets the bytes as given). */
  convLayout: ConvLayout;
}

const sessionLayouts = new WeakMap<ort.InferenceSession, ConvLayout>();
/** The conv layout createSession opened `session` with ('plain' for a session it did not create). */
export function convLayoutOf(session: ort.InferenceSession): ConvLayout {
  return sessionLayouts.get(session) ?? 'plain';
}

const ORT_BIN = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);

/** The CUDA EP is a separate shared library that onnxruntime-node's installer downloads. */
export function cudaProviderInstalled(): boolean {
  return fs.existsSync(path.join(ORT_BIN, 'libonnxruntime_providers_cuda.so')) || fs.existsSync(path.join(ORT_BIN, 'onnxruntime_providers_cuda.dll'));
}

/**
 * Dawn (ORT's WebGPU) reaches the GPU through the Vulkan loader on Linux. Measured on an H200 host:
 * with Debian's libvulkan1 + libglvnd0/libglx0/libegl1 (the NVIDIA ICD, libGLX_nvidia.so.0, needs
 * them) the ResNet-18-CIFAR SimCLR step (batch 128) ran in 0.47 s vs 3.4 s on 16 CPU cores.
 */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

/**
 * Whether the machine has a GPU that Vulkan could drive. With Mesa's lavapipe installed (the CI
 * machines have it, to test the WebGPU path) Dawn otherwise picks that CPU adapter for 'auto', and
 * a step runs several times slower than on the CPU EP.
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  const has = (dir: string, prefix: string) => {
    try {
      return fs.readdirSync(dir).some((f) => f.startsWith(prefix));
    } catch {
      return false;
    }
  };
  return has('/dev/dri', 'renderD') || has('/dev', 'nvidia');
}

const WEBGPU_HINT = 'WebGPU needs a GPU, its Vulkan driver and the Vulkan loader (Debian: apt-get install libvulkan1 libglvnd0 libglx0 libegl1; '
  + 'for NVIDIA containers also VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json); Dawn rejects the Mesa 22 lavapipe of Debian bookworm (Mesa 25 works, on the CPU, slowly); or use device: cpu';

const INSTALL_CUDA_HINT = 'run `npm run install:cuda:npm` (CUDA 13 EP from the npm registry, pairs onnxruntime-node 1.29.0) or `npm run install:cuda` (CUDA 12 EP from NuGet), or use device: cpu';

/**
 * The intra-op thread count a session gets without `threads`: every core the process may use.
 * CPU results can depend on it: MLAS splits a Gemm with more columns than rows by columns and picks
 * its K block from each thread's share, so such a product rounds its sums in another order at
 * another count (measured: [16,12544]·[144,12544]ᵀ, 947 of 2304 elements differ at 1 vs 2
 * threads). No session option pins it. Conv weight gradients, the long sums of a step, are emitted
 * rows-first (graph/ops/conv.ts productWithRowsFirst): the CI ResNet-18-CIFAR SimCLR run is bitwise
 * equal at 1 and 4 threads. Other products (heads, attention) are not checked for every shape and
 * thread count, so runs record the count they used.
 */
export function defaultThreadCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function baseOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? defaultThreadCount();
  const executionMode = opts.executionMode ?? 'sequential';
  return {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: executionMode === 'parallel' ? Math.max(2, threads) : 1,
    executionMode,
    enableCpuMemArena: true,
    // ORT's memory pattern plans one block for all of a run's intermediates; without it the BFC
    // arena reuses freed chunks. Measured with the SimCLR ResNet-18-CIFAR step (batch 128, 1 thread,
    // NCHWc), peak RSS of a process running 8 steps: width 8 504 -> 331 MB, width 16 858 -> 518 MB,
    // width 64 4747 -> 3526 MB; CPU time per step within noise (0.99x, 1.04x; 7.9 vs 8.1 s).
    enableMemPattern: false,
    ...(opts.spinning === undefined ? {} : { extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' }, inter_op: { allow_spinning: opts.spinning ? '1' : '0' } } } }),
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
  };
}

function providers(device: ResolvedDevice): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (device) {
    case 'cpu': return ['cpu'];
    // Nodes an EP cannot run fall back to the CPU EP listed after it.
    case 'cuda': return [{ name: 'cuda', deviceId: 0 }, 'cpu'];
    case 'webgpu': return ['webgpu', 'cpu'];
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/** The CPU EP opens the model's NCHWc variant when conv-layout.ts allows one, else the bytes as given. */
async function openOnCpu(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, opts: SessionOptions): Promise<CreatedSession> {
  const cpu = await cpuModelBytes(bytes, { preference: opts.convLayout, log: opts.log });
  if (cpu.layout !== 'plain') {
    try {
      const session = await ort.InferenceSession.create(cpu.bytes, options);
      sessionLayouts.set(session, cpu.layout);
      return { session, device: 'cpu', convLayout: cpu.layout };
    } catch (e) {
      (opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(`conv layout: ORT rejected the ${cpu.layout} model (${firstLine(e)}); using plain convolutions`);
    }
  }
  const session = await ort.InferenceSession.create(bytes, options);
  sessionLayouts.set(session, 'plain');
  return { session, device: 'cpu', convLayout: 'plain' };
}

function webgpuOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const w = opts.webgpu ?? {};
  return {
    executionProviders: [{ name: 'webgpu', ...(w.layout ? { preferredLayout: w.layout } : {}) }, 'cpu'],
    ...(w.outputLocations ? { preferredOutputLocation: { ...w.outputLocations } } : {}),
  };
}

async function open(bytes: Uint8Array, device: ResolvedDevice, opts: SessionOptions): Promise<CreatedSession> {
  if (device === 'cuda' && !cudaProviderInstalled()) {
    throw new UserError(`device cuda: the CUDA execution provider is not installed (no libonnxruntime_providers_cuda.so in ${ORT_BIN}); ${INSTALL_CUDA_HINT}`);
  }
  if (device === 'cuda') {
    const missing = missingCudaLibraries(ORT_BIN);
    if (missing && missing.length) throw new UserError(`device cuda: ${describeMissingCudaLibraries(missing)}`);
  }
  if (device !== 'cpu' && !ort.listSupportedBackends().some((b) => b.name === device)) {
    throw new UserError(`device ${device}: this onnxruntime-node build for ${process.platform}/${process.arch} has no ${device} execution provider; use device: cpu`);
  }
  const options = { ...baseOptions(opts), executionProviders: providers(device), ...(device === 'webgpu' ? webgpuOptions(opts) : {}) };
  if (device === 'cpu') return openOnCpu(bytes, options, opts);
  try {
    const session = await ort.InferenceSession.create(bytes, options);
    sessionLayouts.set(session, 'plain');
    return { session, device, convLayout: 'plain' };
  } catch (e) {
    const hint = device === 'cuda' ? INSTALL_CUDA_HINT : WEBGPU_HINT;
    throw new UserError(`device ${device}: onnxruntime could not start the ${device} execution provider (${firstLine(e)}); ${hint}`);
  }
}

/**
 * An ORT session for `bytes` on `device`. A missing or unusable EP is a UserError saying how to get
 * it. 'auto' tries CUDA when its library is installed, then WebGPU when a Vulkan loader is present
 * (Linux), then uses the CPU, and says through `log` why each GPU EP was skipped. On the CPU EP a
 * model whose convs ORT's NCHWc kernels can run opens in that layout (conv-layout.ts; the bytes
 * given, e.g. an exported backbone.onnx, stay plain ONNX).
 */
export async function createSession(bytes: Uint8Array, device: Device, opts: SessionOptions = {}): Promise<CreatedSession> {
  if (device !== 'auto') return open(bytes, device, opts);
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const skipped: string[] = [];
  if (cudaProviderInstalled()) {
    try {
      return await open(bytes, 'cuda', opts);
    } catch (e) {
      skipped.push(`cuda failed (${firstLine(e)})`);
    }
  } else {
    skipped.push('cuda is not installed (`npm run install:cuda`)');
  }
  if (!gpuDevicePresent()) {
    skipped.push('webgpu: no GPU device node (/dev/dri/renderD*, /dev/nvidia*), and a software Vulkan driver (lavapipe) would be slower than the CPU EP');
  } else if (vulkanLoaderPresent()) {
    try {
      return await open(bytes, 'webgpu', opts);
    } catch (e) {
      skipped.push(`webgpu failed (${firstLine(e).replace(/^device webgpu: /, '').slice(0, 200)})`);
    }
  } else {
    skipped.push('webgpu has no Vulkan loader (libvulkan.so.1)');
  }
  log(`device auto: ${skipped.join('; ')}; using the CPU`);
  return open(bytes, 'cpu', opts);
}
