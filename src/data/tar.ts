import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../errors';

/**
 * A small streaming tar(.gz) extractor for dataset archives (ustar, GNU long names, pax paths).
 * It refuses absolute entry names, `..` components, links whose target leaves the destination,
 * device/fifo entries, and writes that would pass through a symlink out of the destination: a
 * downloaded archive must never write outside the folder it is extracted into.
 */

const BLOCK = 512;

interface Header {
  name: string;
  size: number;
  type: string;
  linkname: string;
  mode: number;
}

function cString(block: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return Buffer.from(block.subarray(start, end)).toString('utf8');
}

function numberField(block: Uint8Array, start: number, length: number): number {
  if (block[start] & 0x80) {
    // GNU base-256 encoding for sizes >= 8 GiB.
    let value = block[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i];
    return value;
  }
  const text = cString(block, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parseHeader(block: Uint8Array, archive: string, offset: number): Header {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  const stored = numberField(block, 148, 8);
  if (stored !== sum) {
    const field = JSON.stringify(cString(block, 148, 8).trim());
    throw new UserError(`${archive}: byte ${offset} of the tar stream: not a valid tar header (checksum field ${field}, computed ${sum.toString(8)} octal); the archive is corrupt, re-download it`);
  }
  let name = cString(block, 0, 100);
  const magic = cString(block, 257, 6);
  if (magic.startsWith('ustar')) {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, size: numberField(block, 124, 12), type: String.fromCharCode(block[156] || 0x30), linkname: cString(block, 157, 100), mode: numberField(block, 100, 8) };
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const length = parseInt(data.subarray(pos, space).toString('utf8'), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

/** Validates an entry name and returns its components; throws for absolute paths and `..`. */
function safeComponents(name: string, archive: string, what = 'entry'): string[] {
  const refuse = (why: string) => new UserError(`${archive}: tar ${what} "${name}" ${why}; refusing to extract it`);
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) throw refuse('is an absolute path');
  const parts = name.split(/[/\\]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse('contains a ".." component');
  return parts;
}

function inside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}

class Extractor {
  private readonly realRoot: string;
  private pending: Buffer = Buffer.alloc(0);
  private header: Header | null = null;
  private remaining = 0;
  private padding = 0;
  private fd: number | null = null;
  private meta: Buffer[] = [];
  private longName: string | null = null;
  private longLink: string | null = null;
  private paxPath: string | null = null;
  private paxLink: string | null = null;
  private offset = 0;
  private ended = false;
  readonly written: string[] = [];

  constructor(private readonly archive: string, root: string) {
    fs.mkdirSync(root, { recursive: true });
    this.realRoot = fs.realpathSync(root);
  }

  /** Resolves an entry path under the root, creating parents, and checks the real parent stays inside. */
  private target(name: string, what = 'entry'): { full: string; parts: string[] } {
    const parts = safeComponents(name, this.archive, what);
    const full = path.join(this.realRoot, ...parts);
    if (parts.length === 0) return { full: this.realRoot, parts };
    const parent = path.dirname(full);
    fs.mkdirSync(parent, { recursive: true });
    if (!inside(this.realRoot, fs.realpathSync(parent))) {
      throw new UserError(`${this.archive}: tar ${what} "${name}" would be written through a link outside ${this.realRoot}; refusing to extract it`);
    }
    return { full, parts };
  }

  private removeExisting(full: string): void {
    try {
      const st = fs.lstatSync(full);
      if (!st.isDirectory()) fs.unlinkSync(full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private startEntry(h: Header): void {
    const name = this.paxPath ?? this.longName ?? h.name;
    const link = this.paxLink ?? this.longLink ?? h.linkname;
    this.paxPath = this.paxLink = this.longName = this.longLink = null;
    switch (h.type) {
      case '0': case '7': {
        const { full, parts } = this.target(name);
        if (parts.length === 0) throw new UserError(`${this.archive}: tar entry "${name}" names the destination folder itself as a file; refusing to extract it`);
        this.removeExisting(full);
        this.fd = fs.openSync(full, 'w', (h.mode & 0o777) | 0o600);
        this.written.push(full);
        return;
      }
      case '5': {
        const { full } = this.target(name);
        fs.mkdirSync(full, { recursive: true });
        if (!inside(this.realRoot, fs.realpathSync(full))) throw new UserError(`${this.archive}: tar entry "${name}" resolves outside ${this.realRoot}; refusing to extract it`);
        return;
      }
      case '2': {
        const { full } = this.target(name);
        if (path.isAbsolute(link) || /^[A-Za-z]:/.test(link)) throw new UserError(`${this.archive}: tar symlink "${name}" points to absolute path "${link}"; refusing to extract it`);
        const resolved = path.resolve(fs.realpathSync(path.dirname(full)), link);
        if (!inside(this.realRoot, resolved)) throw new UserError(`${this.archive}: tar symlink "${name}" -> "${link}" points outside ${this.realRoot}; refusing to extract it`);
        this.removeExisting(full);
        fs.symlinkSync(link, full);
        this.written.push(full);
        return;
      }
      case '1': {
        const { full } = this.target(name);
        const source = path.join(this.realRoot, ...safeComponents(link, this.archive, `hard link target of "${name}":`));
        if (!inside(this.realRoot, fs.realpathSync(source))) throw new UserError(`${this.archive}: tar hard link "${name}" -> "${link}" points outside ${this.realRoot}; refusing to extract it`);
        this.removeExisting(full);
        fs.linkSync(source, full);
        this.written.push(full);
        return;
      }
      case 'L': case 'K': case 'x': case 'g':
        this.meta = [];
        return;
      default:
        throw new UserError(`${this.archive}: tar entry "${name}" has type '${h.type}' (device, fifo or unknown); dataset archives hold only files, folders and links; refusing to extract it`);
    }
  }

  private finishEntry(h: Header): void {
    if (this.fd !== null) { fs.closeSync(this.fd); this.fd = null; }
    if (h.type === 'L' || h.type === 'K' || h.type === 'x') {
      const data = Buffer.concat(this.meta);
      this.meta = [];
      if (h.type === 'L') this.longName = cString(data, 0, data.length);
      else if (h.type === 'K') this.longLink = cString(data, 0, data.length);
      else {
        const pax = parsePax(data);
        if (pax.path !== undefined) this.paxPath = pax.path;
        if (pax.linkpath !== undefined) this.paxLink = pax.linkpath;
      }
    }
  }

  write(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (!this.ended) {
      if (this.header) {
        if (this.remaining > 0) {
          const take = Math.min(this.remaining, this.pending.length - pos);
          if (take === 0) break;
          const piece = this.pending.subarray(pos, pos + take);
          if (this.fd !== null) fs.writeSync(this.fd, piece);
          else if (this.header.type === 'L' || this.header.type === 'K' || this.header.type === 'x') this.meta.push(Buffer.from(piece));
          pos += take; this.remaining -= take; this.offset += take;
          if (this.remaining > 0) break;
        }
        const skip = Math.min(this.padding, this.pending.length - pos);
        pos += skip; this.padding -= skip; this.offset += skip;
        if (this.padding > 0) break;
        this.finishEntry(this.header);
        this.header = null;
        continue;
      }
      if (this.pending.length - pos < BLOCK) break;
      const block = this.pending.subarray(pos, pos + BLOCK);
      const at = this.offset;
      pos += BLOCK; this.offset += BLOCK;
      if (block.every((b) => b === 0)) { this.ended = true; break; }
      const h = parseHeader(block, this.archive, at);
      this.header = h;
      const hasData = h.type === '0' || h.type === '7' || h.type === 'L' || h.type === 'K' || h.type === 'x' || h.type === 'g';
      this.remaining = hasData ? h.size : 0;
      this.padding = hasData ? (BLOCK - (h.size % BLOCK)) % BLOCK : 0;
      this.startEntry(h);
    }
    this.pending = this.pending.subarray(pos);
  }

  end(): void {
    if (this.fd !== null) { fs.closeSync(this.fd); this.fd = null; }
    if (!this.ended && (this.header !== null || this.pending.length > 0)) {
      throw new UserError(`${this.archive}: tar stream ends inside an entry at byte ${this.offset}; the archive is truncated, re-download it`);
    }
  }

  abort(): void {
    if (this.fd !== null) { try { fs.closeSync(this.fd); } catch { /* already failing */ } this.fd = null; }
  }
}

/** Extracts a `.tar` or `.tar.gz` (gzip detected by magic bytes) into `root`; returns the files written. */
export async function extractTar(archive: string, root: string): Promise<string[]> {
  const head = Buffer.alloc(2);
  const probe = fs.openSync(archive, 'r');
  try { fs.readSync(probe, head, 0, 2, 0); } finally { fs.closeSync(probe); }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const extractor = new Extractor(archive, root);
  const input = fs.createReadStream(archive, { highWaterMark: 1 << 20 });
  const stream = gzipped ? input.pipe(zlib.createGunzip()) : input;
  if (gzipped) input.on('error', (err) => stream.destroy(err));
  try {
    for await (const chunk of stream) extractor.write(chunk as Buffer);
    extractor.end();
  } catch (err) {
    extractor.abort();
    input.destroy();
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code && code.startsWith('Z_')) throw new UserError(`${archive}: corrupt gzip stream (${(err as Error).message}); re-download the archive`);
    throw err;
  }
  return extractor.written;
}
