import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLAIM_FILE, claimRun, inspectClaim, processStartTime, type ClaimInfo } from '../../src/sweep/claim';

let tmp: string;
let n = 0;
const fresh = (): string => fs.mkdtempSync(path.join(tmp, `run${n++}-`));
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-claim-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function writeClaim(dir: string, info: Partial<ClaimInfo>, ageMs = 0): void {
  const full: ClaimInfo = { token: 'aaaa', host: os.hostname(), pid: process.pid, pid_start: processStartTime(process.pid), started_at: '2026-01-01T00:00:00Z', worker: 'test', ...info };
  const file = path.join(dir, CLAIM_FILE);
  fs.writeFileSync(file, JSON.stringify(full));
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(file, t, t);
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a claim is exclusive until released', () => {
  const dir = fresh();
  const first = claimRun(dir, { worker: 'a' });
  if (!('claim' in first)) throw new Error('first claim refused');
  expect(first.tookOver).toBeNull();
  const second = claimRun(dir, { worker: 'b' });
  expect('busy' in second && second.busy.worker).toBe('a');
  expect(first.claim.held()).toBe(true);
  first.claim.release();
  expect(inspectClaim(dir).kind).toBe('none');
  const third = claimRun(dir, { worker: 'c' });
  expect('claim' in third).toBe(true);
});

test('same host: a claim whose process is gone is stale and taken over', () => {
  const dir = fresh();
  const pid = deadPid();
  writeClaim(dir, { pid, pid_start: null, worker: 'crashed' });
  const state = inspectClaim(dir);
  expect(state).toMatchObject({ kind: 'stale', reason: `process ${pid} on ${os.hostname()} is gone` });
  const taken = claimRun(dir, { worker: 'next' });
  if (!('claim' in taken)) throw new Error('stale claim not taken over');
  expect(taken.tookOver?.worker).toBe('crashed');
  expect(taken.claim.held()).toBe(true);
  expect(fs.readdirSync(dir).sort()).toEqual([CLAIM_FILE]);
});

test('same host: a live pid with another start time (pid reused) is stale; the same start time is live', () => {
  const dir = fresh();
  writeClaim(dir, { pid: process.pid, pid_start: '1' });
  expect(inspectClaim(dir)).toMatchObject({ kind: 'stale', reason: expect.stringMatching(/now belongs to another process/) });
  writeClaim(dir, { pid: process.pid }, 60 * 60_000);
  // A live local holder stays live however old its heartbeat: its pid is the better witness.
  expect(inspectClaim(dir, 1000).kind).toBe('live');
  expect('busy' in claimRun(dir, { worker: 'x', staleAfterMs: 1000 })).toBe(true);
});

test('another host: live while its heartbeat is fresh, stale once older than the timeout', () => {
  const dir = fresh();
  writeClaim(dir, { host: 'node-elsewhere', pid: 1 }, 5_000);
  expect(inspectClaim(dir, 60_000).kind).toBe('live');
  expect('busy' in claimRun(dir, { worker: 'x', staleAfterMs: 60_000 })).toBe(true);
  writeClaim(dir, { host: 'node-elsewhere', pid: 1 }, 120_000);
  expect(inspectClaim(dir, 60_000)).toMatchObject({ kind: 'stale', reason: expect.stringMatching(/no heartbeat from node-elsewhere for 120 s/) });
  expect('claim' in claimRun(dir, { worker: 'x', staleAfterMs: 60_000 })).toBe(true);
});

test('heartbeat refreshes the mtime; a holder whose claim was taken over notices', () => {
  const dir = fresh();
  const r = claimRun(dir, { worker: 'a' });
  if (!('claim' in r)) throw new Error('claim refused');
  const old = new Date(Date.now() - 100_000);
  fs.utimesSync(r.claim.file, old, old);
  expect(r.claim.heartbeat()).toBe(true);
  expect(Date.now() - fs.statSync(r.claim.file).mtimeMs).toBeLessThan(10_000);
  writeClaim(dir, { token: 'someone-else' });
  expect(r.claim.heartbeat()).toBe(false);
  r.claim.release();
  // Release leaves another holder's claim alone.
  expect(inspectClaim(dir).kind).toBe('live');
});

test('many processes claiming at once: exactly one wins, also when taking over a stale claim', async () => {
  const entry = path.join(__dirname, 'support', 'claim-child.js');
  const race = async (dir: string): Promise<string[]> => {
    const barrier = fresh();
    const outputs: string[] = [];
    const children = Array.from({ length: 6 }, (_, i) => {
      outputs.push('');
      const p = spawn(process.execPath, [entry, dir, barrier], { stdio: ['ignore', 'pipe', 'inherit'] });
      p.stdout.on('data', (d) => { outputs[i] += d; });
      return new Promise<void>((resolve) => p.on('close', () => resolve()));
    });
    const until = async (what: () => boolean): Promise<void> => { while (!what()) await new Promise((r) => setTimeout(r, 10)); };
    await until(() => fs.readdirSync(barrier).filter((f) => f.startsWith('ready-')).length === 6);
    fs.writeFileSync(path.join(barrier, 'go'), '');
    await until(() => outputs.every((o) => o.endsWith('\n')));
    fs.writeFileSync(path.join(barrier, 'done'), '');
    await Promise.all(children);
    return outputs.map((o) => o.trim());
  };
  const clean = fresh();
  let results = await race(clean);
  expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
  expect(results.filter((r) => r === 'busy')).toHaveLength(5);

  const stale = fresh();
  writeClaim(stale, { pid: deadPid(), pid_start: null, worker: 'crashed' });
  results = await race(stale);
  expect(results.filter((r) => r.startsWith('claimed'))).toHaveLength(1);
  expect(results.filter((r) => r === 'busy')).toHaveLength(5);
}, 60_000);
