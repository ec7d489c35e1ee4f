import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The CUDA execution provider is a separate shared library next to onnxruntime-node's
 * libonnxruntime.so.1. Two ways to get it:
 *  - official: `npm run install:cuda` runs onnxruntime-node's own installer, which downloads the
 *    CUDA 12 provider from NuGet (outside the npm registry);
 *  - npm only: `npm run install:cuda:npm` (scripts/install-cuda-npm.js) takes the CUDA 13 provider
 *    of ORT 1.29.0 from the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 and pairs
 *    it with onnxruntime-node 1.29.0 (a provider only loads into the ORT version it was built for).
 * Either way the provider needs the CUDA libraries below at load time; cuDNN 9, cuFFT and NVRTC
 * are opened later, by the ops that use them.
 */
export const CUDA_LIBRARY_SOURCES: Readonly<Record<string, string>> = {
  'libcuda.so.1': 'the NVIDIA driver',
  'libcudart.so.13': 'CUDA 13 runtime (CUDA toolkit 13, or pip nvidia-cuda-runtime)',
  'libcublas.so.13': 'cuBLAS 13 (CUDA toolkit 13, or pip nvidia-cublas)',
  'libcublasLt.so.13': 'cuBLASLt 13 (CUDA toolkit 13, or pip nvidia-cublas)',
  'libcurand.so.10': 'cuRAND (CUDA toolkit, or pip nvidia-curand)',
  'libcudart.so.12': 'CUDA 12 runtime (CUDA toolkit 12)',
  'libcublas.so.12': 'cuBLAS 12 (CUDA toolkit 12)',
  'libcublasLt.so.12': 'cuBLASLt 12 (CUDA toolkit 12)',
  'libcudnn.so.9': 'cuDNN 9',
};

export const CUDA_PROVIDER_FILE = 'libonnxruntime_providers_cuda.so';

/** The shared libraries `ldd` reports as "not found", in its order. */
export function parseLddMissing(lddOutput: string): string[] {
  const missing: string[] = [];
  for (const line of lddOutput.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+not found\s*$/.exec(line);
    if (m && !missing.includes(m[1])) missing.push(m[1]);
  }
  return missing;
}

/**
 * Libraries the provider in `ortBinDir` cannot find with the current LD_LIBRARY_PATH, or null when
 * there is no provider file or no `ldd` to ask.
 */
export function missingCudaLibraries(ortBinDir: string): string[] | null {
  const file = path.join(ortBinDir, CUDA_PROVIDER_FILE);
  if (!fs.existsSync(file)) return null;
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return parseLddMissing(r.stdout);
}

/** One line naming each missing library and where it comes from. */
export function describeMissingCudaLibraries(missing: readonly string[]): string {
  const named = missing.map((lib) => (CUDA_LIBRARY_SOURCES[lib] ? `${lib} (${CUDA_LIBRARY_SOURCES[lib]})` : lib));
  return `the CUDA provider cannot load: missing ${named.join(', ')}; add their directories to LD_LIBRARY_PATH`;
}
