import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Who is running a run directory right now: a claim file created atomically (write a private temp
 * file, then link(2) it to the claim name, which fails if the name exists — atomic on local
 * filesystems and on NFS, unlike O_EXCL on old NFS clients). Only the holder writes the run
 * directory; a second worker (a duplicate Slurm submission, a local executor next to a Slurm one on
 * a shared filesystem) sees the claim and leaves the run alone.
 *
 * A claim outlives a crashed holder, so it can be stale: on the holder's own host when its pid is
 * gone or belongs to a newer process (start time differs); from any other host when its heartbeat
 * (the file's mtime, touched by the holder every HEARTBEAT_MS) is older than the stale timeout.
 * A stale claim is taken over under a second short-lived lock file, so two workers that find the
 * same stale claim do not both take it.
 */

export const CLAIM_FILE = '.sweep-claim';
const TAKEOVER_FILE = '.sweep-claim.takeover';
/** A takeover lock is held for a few file operations; one this old was left by a crash. */
const TAKEOVER_STALE_MS = 60_000;
export const HEARTBEAT_MS = 30_000;
/** Default stale timeout across hosts: ten missed heartbeats. */
export const DEFAULT_STALE_MS = 10 * 60_000;

export interface ClaimInfo {
  /** Random; tells this claim from a later one by the same host and pid. */
  token: string;
  host: string;
  pid: number;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22), null where unknown. */
  pid_start: string | null;
  started_at: string;
  /** Free text: "local", "slurm job 12_3 (restart 1)". */
  worker: string;
}

export type ClaimState =
  | { kind: 'none' }
  | { kind: 'live'; info: ClaimInfo; heartbeatAgeMs: number }
  | { kind: 'stale'; info: ClaimInfo; reason: string };

/** Start time of a process in clock ticks since boot, or null (no /proc, no such process). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses; the fields after its closing ')' do not.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readClaim(file: string): { info: ClaimInfo; mtimeMs: number } | null {
  try {
    const mtimeMs = fs.statSync(file).mtimeMs;
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as ClaimInfo;
    return { info, mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A claim file is written whole before it is linked into place, so unreadable means damaged: treat as stale.
    return { info: { token: 'unreadable', host: '', pid: 0, pid_start: null, started_at: '', worker: 'unknown' }, mtimeMs: 0 };
  }
}

export function inspectClaim(dir: string, staleAfterMs: number = DEFAULT_STALE_MS, now: number = Date.now()): ClaimState {
  const found = readClaim(path.join(dir, CLAIM_FILE));
  if (found === null) return { kind: 'none' };
  const { info, mtimeMs } = found;
  const heartbeatAgeMs = Math.max(0, now - mtimeMs);
  if (info.token === 'unreadable') return { kind: 'stale', info, reason: 'the claim file is unreadable' };
  if (info.host === os.hostname()) {
    if (!pidAlive(info.pid)) return { kind: 'stale', info, reason: `process ${info.pid} on ${info.host} is gone` };
    const start = processStartTime(info.pid);
    if (info.pid_start !== null && start !== null && start !== info.pid_start) return { kind: 'stale', info, reason: `pid ${info.pid} on ${info.host} now belongs to another process` };
    return { kind: 'live', info, heartbeatAgeMs };
  }
  if (heartbeatAgeMs > staleAfterMs) return { kind: 'stale', info, reason: `no heartbeat from ${info.host} for ${Math.round(heartbeatAgeMs / 1000)} s (stale after ${Math.round(staleAfterMs / 1000)} s)` };
  return { kind: 'live', info, heartbeatAgeMs };
}

/** Creates `file` holding `text` if and only if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, text, { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A claim this process holds. */
export class Claim {
  constructor(readonly dir: string, readonly info: ClaimInfo) {}

  get file(): string {
    return path.join(this.dir, CLAIM_FILE);
  }

  /** Whether the claim file is still this one (a holder judged stale elsewhere may have lost it). */
  held(): boolean {
    return readClaim(this.file)?.info.token === this.info.token;
  }

  /** Touches the claim (its mtime is the heartbeat); false when the claim is no longer ours. */
  heartbeat(now: Date = new Date()): boolean {
    if (!this.held()) return false;
    try {
      fs.utimesSync(this.file, now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the claim if it is still ours. */
  release(): void {
    if (this.held()) fs.rmSync(this.file, { force: true });
  }
}

export type ClaimResult = { claim: Claim; tookOver: ClaimInfo | null; reason: string | null } | { busy: ClaimInfo; heartbeatAgeMs: number };

export interface ClaimOptions {
  worker: string;
  staleAfterMs?: number;
  now?: Date;
}

function newInfo(options: ClaimOptions): ClaimInfo {
  return {
    token: randomBytes(8).toString('hex'), host: os.hostname(), pid: process.pid, pid_start: processStartTime(process.pid),
    started_at: (options.now ?? new Date()).toISOString(), worker: options.worker,
  };
}

/**
 * Claims `dir` for this process: { claim } when it is ours (taken over from a stale holder if
 * there was one), { busy } when a live holder has it or another worker is taking it over.
 */
export function claimRun(dir: string, options: ClaimOptions): ClaimResult {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, CLAIM_FILE);
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_MS;
  const info = newInfo(options);
  const text = `${JSON.stringify(info)}\n`;
  if (createExclusive(file, text)) return { claim: new Claim(dir, info), tookOver: null, reason: null };

  const state = inspectClaim(dir, staleAfterMs);
  if (state.kind === 'live') return { busy: state.info, heartbeatAgeMs: state.heartbeatAgeMs };
  if (state.kind === 'none') {
    // Released between our attempt and the inspection: one more try, like any other worker.
    return createExclusive(file, text) ? { claim: new Claim(dir, info), tookOver: null, reason: null } : busyNow(dir, staleAfterMs);
  }

  const lock = path.join(dir, TAKEOVER_FILE);
  if (!createExclusive(lock, text)) {
    let age = 0;
    try { age = Date.now() - fs.statSync(lock).mtimeMs; } catch { age = 0; }
    if (age < TAKEOVER_STALE_MS) return { busy: state.info, heartbeatAgeMs: 0 };
    fs.rmSync(lock, { force: true });
    if (!createExclusive(lock, text)) return { busy: state.info, heartbeatAgeMs: 0 };
  }
  try {
    // Under the lock nobody else takes over; the claim must still be the stale one we judged.
    const again = inspectClaim(dir, staleAfterMs);
    if (again.kind === 'live') return { busy: again.info, heartbeatAgeMs: again.heartbeatAgeMs };
    if (again.kind === 'stale' && again.info.token !== state.info.token) return { busy: again.info, heartbeatAgeMs: 0 };
    fs.rmSync(file, { force: true });
    if (!createExclusive(file, text)) return busyNow(dir, staleAfterMs);
    return { claim: new Claim(dir, info), tookOver: state.info, reason: state.reason };
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function busyNow(dir: string, staleAfterMs: number): ClaimResult {
  const state = inspectClaim(dir, staleAfterMs);
  if (state.kind === 'none') throw new Error(`${dir}: claim vanished twice while claiming`);
  return { busy: state.info, heartbeatAgeMs: state.kind === 'live' ? state.heartbeatAgeMs : 0 };
}

export function describeHolder(info: ClaimInfo): string {
  return `${info.worker} on ${info.host} (pid ${info.pid}, since ${info.started_at})`;
}
