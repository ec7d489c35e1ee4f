/** `ssl-bench <args>` as a child process from the TypeScript sources, with extra environment (SLURM_CONF). */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, type Child } from '../../e2e/support/harness';

const ENTRY = path.join(ROOT, 'test', 'e2e', 'support', 'ts-node-entry.js');

// Jest gives each test file a copy of process.env; a child spawned without `env` gets the worker's own.
export function cliChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => { output += d; });
  proc.stderr!.on('data', (d) => { output += d; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal, output }));
  });
  return { proc, output: () => output, done };
}
