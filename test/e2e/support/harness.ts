/**
 * Shared by the e2e tests: `ssl-bench` through the CLI's main() in this process (stdout/stderr
 * captured) or as a child process (for SIGKILL), and readers of a run directory's files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../src/cli';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CONFIG = path.join(__dirname, '..', 'tiny-simclr.yaml');
const CHILD_ENTRY = path.join(__dirname, 'ts-node-entry.js');

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** main() with stdout/stderr captured (progress lines and run messages). */
export async function cli(...args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true; });
  try {
    const code = await main(['node', 'ssl-bench', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

/** The single run directory under `output`. */
export function runDirOf(output: string): string {
  const dirs = fs.readdirSync(output).filter((d) => !d.includes('.replaced-'));
  expect(dirs).toHaveLength(1);
  return path.join(output, dirs[0]);
}

export function readSummary(dir: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
}

/** metrics.csv as header + rows of cells. */
export function readMetrics(dir: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  return { header, rows };
}

/** The named metrics.csv columns (all must exist), row by row. */
export function metricsColumns(dir: string, columns: readonly string[]): string[][] {
  const { header, rows } = readMetrics(dir);
  const keep = columns.map((c) => header.indexOf(c));
  expect(keep).not.toContain(-1);
  return rows.map((r) => keep.map((i) => r[i]));
}

export interface Child {
  proc: ChildProcess;
  /** Everything the child wrote so far (stdout and stderr interleaved). */
  output(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** `ssl-bench <args>` as a child process running the TypeScript sources. */
export function child(args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD_ENTRY, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => { output += d; });
  proc.stderr!.on('data', (d) => { output += d; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal, output }));
  });
  return { proc, output: () => output, done };
}

/** Resolves once `condition()` holds; polls every 5 ms. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
