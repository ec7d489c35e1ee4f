#!/usr/bin/env node
/**
 * npm run install:cuda:npm — `device: cuda` from the npm registry alone.
 *
 * onnxruntime-node's own installer (`npm run install:cuda`) downloads the CUDA provider from NuGet.
 * This script instead installs, without touching package.json or package-lock.json:
 *   onnxruntime-node@1.29.0 and com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
 * (the latter carries ORT 1.29.0's libonnxruntime_providers_{cuda,shared}.so built for CUDA 13; a
 * provider only loads into the ORT version it was built for, hence the pair), copies the two
 * libraries next to libonnxruntime.so.1, and lists the CUDA libraries the provider still cannot
 * find (CUDA 13 cudart/cuBLAS/cuBLASLt, cuRAND, the driver's libcuda.so.1; cuDNN 9 is opened later).
 * `npm ci` restores the CPU-only onnxruntime-node of the lock file.
 *
 *   npm run install:cuda:npm [-- --skip-install]   (--skip-install: only copy and check)
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ORT_VERSION = '1.29.0';
const GPU_PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu';
const GPU_VERSION = '0.4.9';
const ROOT = path.join(__dirname, '..');

function fail(msg) {
  console.error(`install:cuda:npm: ${msg}`);
  process.exit(1);
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the npm CUDA provider is built for linux/x64, this is ${process.platform}/${process.arch}; use device: cpu`);
  if (!process.argv.includes('--skip-install')) {
    console.log(`installing onnxruntime-node@${ORT_VERSION} and ${GPU_PACKAGE}@${GPU_VERSION} (about 180 MB, not saved to package.json)`);
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `onnxruntime-node@${ORT_VERSION}`, `${GPU_PACKAGE}@${GPU_VERSION}`], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) fail(`npm install exited ${r.status}`);
  }
  const ortDir = path.join(ROOT, 'node_modules', 'onnxruntime-node');
  const version = JSON.parse(fs.readFileSync(path.join(ortDir, 'package.json'), 'utf8')).version;
  if (version !== ORT_VERSION) fail(`node_modules has onnxruntime-node ${version}; the provider of ${GPU_PACKAGE}@${GPU_VERSION} loads only into ${ORT_VERSION}`);
  const from = path.join(ROOT, 'node_modules', GPU_PACKAGE, 'Plugins', 'Linux', 'x64');
  const to = path.join(ortDir, 'bin', 'napi-v6', 'linux', 'x64');
  for (const lib of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    if (!fs.existsSync(path.join(from, lib))) fail(`${path.join(from, lib)} is missing (was ${GPU_PACKAGE} installed?)`);
    fs.copyFileSync(path.join(from, lib), path.join(to, lib));
  }
  console.log(`copied the CUDA provider into ${to}`);
  const { missingCudaLibraries, describeMissingCudaLibraries } = require(path.join(ROOT, 'dist', 'engine', 'cuda-provider.js'));
  const missing = missingCudaLibraries(to);
  if (missing === null) console.log('could not run ldd to check the provider\'s CUDA libraries');
  else if (missing.length) console.log(`note: ${describeMissingCudaLibraries(missing)} (needed before device: cuda works)`);
  else console.log('every CUDA library the provider links is found; set device: cuda');
}

main();
