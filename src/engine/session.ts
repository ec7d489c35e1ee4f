import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';
export type ResolvedDevice = Exclude<Device, 'auto'>;

export interface SessionOptions {
  /** Intra-op threads (default: every core the process may use). */
  threads?: number;
  /**
   * Inter-op parallelism: run independent branches of the graph at once. Measured on the 2-core
   * machine with the ResNet-18-CIFAR two-view step (scripts/bench-step.js --exec parallel): slower
   * than sequential because the two executors compete for the same cores, so default sequential.
   */
  executionMode?: 'sequential' | 'parallel';
  /** Where notices go (e.g. "device auto: CUDA EP not installed, using CPU"). Default stderr. */
  log?: (message: string) => void;
  /** Write an ORT profile (JSON trace) with this file prefix; finish it with session.endProfiling(). */
  profilePrefix?: string;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  device: ResolvedDevice;
}

const ORT_BIN = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);

/** The CUDA EP is a separate shared library that onnxruntime-node's installer downloads. */
export function cudaProviderInstalled(): boolean {
  return fs.existsSync(path.join(ORT_BIN, 'libonnxruntime_providers_cuda.so')) || fs.existsSync(path.join(ORT_BIN, 'onnxruntime_providers_cuda.dll'));
}

const INSTALL_CUDA_HINT = 'run `npm run install:cuda` (downloads the CUDA 12 EP from NuGet; needs network, CUDA 12 and cuDNN 9) or use device: cpu';

function baseOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  const executionMode = opts.executionMode ?? 'sequential';
  return {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: executionMode === 'parallel' ? Math.max(2, threads) : 1,
    executionMode,
    enableCpuMemArena: true,
    enableMemPattern: true,
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

async function open(bytes: Uint8Array, device: ResolvedDevice, opts: SessionOptions): Promise<ort.InferenceSession> {
  if (device === 'cuda' && !cudaProviderInstalled()) {
    throw new UserError(`device cuda: the CUDA execution provider is not installed (no libonnxruntime_providers_cuda.so in ${ORT_BIN}); ${INSTALL_CUDA_HINT}`);
  }
  if (device !== 'cpu' && !ort.listSupportedBackends().some((b) => b.name === device)) {
    throw new UserError(`device ${device}: this onnxruntime-node build for ${process.platform}/${process.arch} has no ${device} execution provider; use device: cpu`);
  }
  try {
    return await ort.InferenceSession.create(bytes, { ...baseOptions(opts), executionProviders: providers(device) });
  } catch (e) {
    if (device === 'cpu') throw e;
    const hint = device === 'cuda'
      ? INSTALL_CUDA_HINT
      : 'WebGPU needs a GPU with a Vulkan driver (Dawn rejects software Vulkan such as llvmpipe); use device: cpu';
    throw new UserError(`device ${device}: onnxruntime could not start the ${device} execution provider (${firstLine(e)}); ${hint}`);
  }
}

/**
 * An ORT session for `bytes` on `device`. A missing or unusable EP is a UserError saying how to get
 * it; 'auto' tries CUDA when its library is installed, otherwise (or when it fails) uses the CPU
 * and says so through `log`. WebGPU is only used when asked for: ORT runs ops it lacks on the CPU
 * with copies in between, which can be slower than the CPU alone.
 */
export async function createSession(bytes: Uint8Array, device: Device, opts: SessionOptions = {}): Promise<CreatedSession> {
  if (device !== 'auto') return { session: await open(bytes, device, opts), device };
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (cudaProviderInstalled()) {
    try {
      return { session: await open(bytes, 'cuda', opts), device: 'cuda' };
    } catch (e) {
      log(`device auto: ${firstLine(e)}; using the CPU`);
      return { session: await open(bytes, 'cpu', opts), device: 'cpu' };
    }
  }
  log('device auto: the CUDA execution provider is not installed (`npm run install:cuda`); using the CPU');
  return { session: await open(bytes, 'cpu', opts), device: 'cpu' };
}
