import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describeMissingCudaLibraries, missingCudaLibraries, parseLddMissing, CUDA_PROVIDER_FILE } from '../../src/engine/cuda-provider';

// ldd's output for the CUDA 13 provider of com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 on a
// machine with only the CUDA runtime installed (measured).
const LDD_PROVIDER = `	linux-vdso.so.1 (0x00007f336780d000)
	libcublasLt.so.13 => not found
	libcublas.so.13 => not found
	libcurand.so.10 => not found
	libcudart.so.13 => /usr/local/cuda-13.0/lib/libcudart.so.13 (0x00007f3359600000)
	libcuda.so.1 => not found
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f33677ef000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f335941e000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f336780f000)
`;

describe('CUDA provider libraries', () => {
  it('reads the missing libraries from ldd output', () => {
    expect(parseLddMissing(LDD_PROVIDER)).toEqual(['libcublasLt.so.13', 'libcublas.so.13', 'libcurand.so.10', 'libcuda.so.1']);
    expect(parseLddMissing('\tlibc.so.6 => /lib/libc.so.6 (0x1)\n')).toEqual([]);
  });

  it('names each missing library and where it comes from, on one line', () => {
    const line = describeMissingCudaLibraries(['libcublas.so.13', 'libcuda.so.1', 'libfoo.so.2']);
    expect(line).toBe('the CUDA provider cannot load: missing libcublas.so.13 (cuBLAS 13 (CUDA toolkit 13, or pip nvidia-cublas)), '
      + 'libcuda.so.1 (the NVIDIA driver), libfoo.so.2; add their directories to LD_LIBRARY_PATH');
    expect(line).not.toContain('\n');
  });

  it('is null without a provider file', () => {
    expect(missingCudaLibraries(fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-cuda-')))).toBeNull();
  });

  const cc = spawnSync('cc', ['--version']).status === 0;
  (cc ? it : it.skip)('finds the libraries a real shared object cannot load (a stand-in provider built with cc)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-cuda-'));
    // A library that links a dependency which is then removed: ldd reports it "not found".
    fs.writeFileSync(path.join(dir, 'dep.c'), 'int dep(void) { return 1; }\n');
    fs.writeFileSync(path.join(dir, 'prov.c'), 'int dep(void); int prov(void) { return dep(); }\n');
    expect(spawnSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libcublas.so.13'), path.join(dir, 'dep.c'), '-Wl,-soname,libcublas.so.13']).status).toBe(0);
    expect(spawnSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, CUDA_PROVIDER_FILE), path.join(dir, 'prov.c'), '-L', dir, '-l:libcublas.so.13']).status).toBe(0);
    fs.unlinkSync(path.join(dir, 'libcublas.so.13'));
    expect(missingCudaLibraries(dir)).toEqual(['libcublas.so.13']);
  });
});
