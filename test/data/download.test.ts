import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { main } from '../../src/cli';
import { DownloadPlan, downloadDataset, downloadPlan } from '../../src/data/download';
import { loadDataset } from '../../src/data/index';
import { extractTar } from '../../src/data/tar';
import { cifarBatch, expectedHwc, tar, tempDir, userErrorOf } from './fixtures';

const work = tempDir('download');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const md5 = (data: Buffer) => crypto.createHash('md5').update(data).digest('hex');

/** A CIFAR-10 binary archive in the official layout, two images per batch. */
const cifarArchive = zlib.gzipSync(tar([
  { name: 'cifar-10-batches-bin/', type: '5' },
  ...[1, 2, 3, 4, 5].map((b) => ({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: cifarBatch([b, 0], (b - 1) * 2) })),
  { name: 'cifar-10-batches-bin/test_batch.bin', data: cifarBatch([3, 4], 10) },
  { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n') },
]));

interface Served { requests: Array<{ url: string; range?: string }>; server: http.Server; base: string }
let served: Served;
/** Per path: bytes served; `flaky` paths cut the first response off halfway. */
const files = new Map<string, Buffer>();
const flakyOnce = new Set<string>();

beforeAll(async () => {
  const requests: Served['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ url, range: req.headers.range });
    const body = files.get(url);
    if (!body) { res.writeHead(404); res.end('not found'); return; }
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    if (start >= body.length && match) { res.writeHead(416); res.end(); return; }
    const headers: Record<string, string | number> = { 'content-length': body.length - start, 'content-type': 'application/gzip' };
    if (match) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(match ? 206 : 200, headers);
    if (flakyOnce.delete(url)) {
      res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served = { requests, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});

afterAll(async () => {
  await new Promise<void>((resolve) => served.server.close(() => resolve()));
});

function plan(name: string, data: Buffer, extract = true, hex = md5(data)): DownloadPlan {
  files.set(`/${name}`, data);
  return { dataset: 'cifar10', produces: 'cifar-10-batches-bin', expect: ['cifar-10-batches-bin/test_batch.bin'], files: [{ url: `${served.base}/${name}`, checksum: { algorithm: 'md5', hex }, extract }] };
}

describe('downloadDataset against a local server', () => {
  test('downloads, verifies, extracts, deletes the archive; the result loads', async () => {
    const root = path.join(work, 'ok');
    const lines: string[] = [];
    const dir = await downloadDataset('cifar10', root, { plan: plan('cifar-10-binary.tar.gz', cifarArchive), log: (l) => lines.push(l) });
    expect(dir).toBe(path.join(root, 'cifar-10-batches-bin'));
    expect(fs.readdirSync(dir).sort()).toEqual(['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']);
    expect(fs.existsSync(path.join(root, 'cifar-10-binary.tar.gz'))).toBe(false);
    expect(lines[0]).toBe(`downloading ${served.base}/cifar-10-binary.tar.gz`);
    const set = await loadDataset({ dataset: 'cifar10', root, train_split: 'train', test_split: 'test', image_size: 32, cache_dir: path.join(work, 'cache'), workers: 1 }, 'train', { seed: 0, tty: false });
    expect(Array.from(set.labels)).toEqual([1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    expect(set.readBatch([9])).toEqual(expectedHwc(9, 32, 32, 3));
    // A second run finds the dataset in place and fetches nothing.
    served.requests.length = 0;
    lines.length = 0;
    await downloadDataset('cifar10', root, { plan: plan('cifar-10-binary.tar.gz', cifarArchive), log: (l) => lines.push(l) });
    expect(served.requests).toEqual([]);
    expect(lines).toEqual([`cifar10 is already in ${dir}; nothing to download`]);
  });

  test('an interrupted download resumes with an HTTP Range request', async () => {
    const root = path.join(work, 'resume');
    const p = plan('flaky.tar.gz', cifarArchive);
    flakyOnce.add('/flaky.tar.gz');
    const half = Math.floor(cifarArchive.length / 2);
    const first = await userErrorOf(() => downloadDataset('cifar10', root, { plan: p }));
    expect(first).toMatch(new RegExp(`^download of ${served.base}/flaky\\.tar\\.gz interrupted after ${half} bytes \\(.+\\); rerun the same command to resume from ${path.join(root, 'flaky.tar.gz.part').replace(/[.]/g, '\\.')}$`));
    expect(fs.statSync(path.join(root, 'flaky.tar.gz.part')).size).toBe(half);
    served.requests.length = 0;
    await downloadDataset('cifar10', root, { plan: p });
    expect(served.requests).toEqual([{ url: '/flaky.tar.gz', range: `bytes=${half}-` }]);
    expect(fs.readdirSync(path.join(root, 'cifar-10-batches-bin'))).toHaveLength(7);
    expect(fs.existsSync(path.join(root, 'flaky.tar.gz.part'))).toBe(false);
  });

  test('a checksum mismatch deletes the download and names both digests', async () => {
    const root = path.join(work, 'mismatch');
    const wrong = '0123456789abcdef0123456789abcdef';
    const message = await userErrorOf(() => downloadDataset('cifar10', root, { plan: plan('tampered.tar.gz', cifarArchive, true, wrong) }));
    expect(message).toBe(`${served.base}/tampered.tar.gz: md5 ${md5(cifarArchive)} does not match the published ${wrong}; the download was deleted, rerun to fetch it again`);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a file put in place by hand is verified and used without downloading', async () => {
    const root = path.join(work, 'manual');
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'manual.tar.gz'), cifarArchive);
    const p = plan('manual.tar.gz', Buffer.alloc(0), true, md5(cifarArchive));
    served.requests.length = 0;
    await downloadDataset('cifar10', root, { plan: p });
    expect(served.requests).toEqual([]);
    expect(fs.existsSync(path.join(root, 'cifar-10-batches-bin', 'test_batch.bin'))).toBe(true);
  });

  test('unreachable server: one line naming the URL and the manual alternative', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const root = path.join(work, 'offline');
    const p: DownloadPlan = { dataset: 'stl10', produces: 'stl10_binary', expect: ['stl10_binary/train_X.bin'], files: [{ url: `http://127.0.0.1:${port}/stl10_binary.tar.gz`, checksum: { algorithm: 'md5', hex: '91f7769df0f17e558f3565bffb0c7dfb' }, extract: true }] };
    expect(await userErrorOf(() => downloadDataset('stl10', root, { plan: p }))).toBe(
      `cannot download http://127.0.0.1:${port}/stl10_binary.tar.gz (ECONNREFUSED); download it by other means, put it at ${path.join(root, 'stl10_binary.tar.gz')} and rerun the same command (it verifies and extracts it)`,
    );
    expect(await userErrorOf(() => downloadDataset('stl10', root, { plan: plan('missing-on-server.tar.gz', Buffer.alloc(1)), mirror: `${served.base}/nowhere` }))).toBe(
      `cannot download ${served.base}/nowhere/missing-on-server.tar.gz (HTTP 404); download it by other means, put it at ${path.join(root, 'missing-on-server.tar.gz')} and rerun the same command (it verifies and extracts it)`,
    );
  });

  test('a malicious archive from the server is refused and writes nothing outside the root', async () => {
    const root = path.join(work, 'evil-download', 'root');
    const evil = zlib.gzipSync(tar([{ name: 'ok.txt', data: Buffer.from('fine') }, { name: '../escaped.txt', data: Buffer.from('bad') }]));
    expect(await userErrorOf(() => downloadDataset('cifar10', root, { plan: plan('evil.tar.gz', evil) }))).toBe(
      `${path.join(root, 'evil.tar.gz')}: tar entry "../escaped.txt" contains a ".." component; refusing to extract it`,
    );
    expect(fs.existsSync(path.join(work, 'evil-download', 'escaped.txt'))).toBe(false);
  });
});

describe('ssl-bench data download (CLI)', () => {
  async function cli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
    const out: string[] = [], err: string[] = [];
    const so = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
    const se = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    try {
      const code = await main(['node', 'ssl-bench', ...args]);
      return { code, stderr: err.join(''), stdout: out.join('') };
    } finally {
      so.mockRestore(); se.mockRestore();
    }
  }

  test('official checksums are enforced even through a mirror', async () => {
    files.set('/cifar-10-binary.tar.gz', cifarArchive);
    const root = path.join(work, 'cli');
    const r = await cli(['data', 'download', 'cifar10', '--root', root, '--mirror', `${served.base}/`]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([
      `error: ${served.base}/cifar-10-binary.tar.gz: md5 ${md5(cifarArchive)} does not match the published c32a1d4ab5d03f1284b67883e8d87530; the download was deleted, rerun to fetch it again`,
    ]);
  });

  test('unknown dataset and variant are usage errors', async () => {
    expect((await cli(['data', 'download', 'mnist', '--root', work])).stderr).toBe('error: data download: unknown dataset "mnist"; allowed cifar10, fashion-mnist, stl10, imagenette\n');
    expect((await cli(['data', 'download', 'imagenette', '--root', work, '--variant', '64'])).stderr).toBe('error: data download --variant: "64" is not an imagenette variant; allowed full, 320, 160\n');
  });

  test('download plans name the official URLs and checksum algorithms', () => {
    expect(downloadPlan('cifar10').files).toEqual([{ url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', checksum: { algorithm: 'md5', hex: 'c32a1d4ab5d03f1284b67883e8d87530' }, extract: true }]);
    expect(downloadPlan('fashion-mnist').files.map((f) => f.url.split('/').pop())).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
    expect(downloadPlan('imagenette', '320').produces).toBe('imagenette2-320');
  });
});

describe('tar extraction safety', () => {
  async function extract(name: string, entries: Parameters<typeof tar>[0]): Promise<{ archive: string; root: string }> {
    const base = path.join(work, 'tar', name);
    const root = path.join(base, 'root');
    fs.mkdirSync(root, { recursive: true });
    const archive = path.join(base, `${name}.tar.gz`);
    fs.writeFileSync(archive, zlib.gzipSync(tar(entries)));
    return { archive, root };
  }

  test('absolute paths are refused', async () => {
    const { archive, root } = await extract('abs', [{ name: '/tmp/ssl-bench-absolute.txt', data: Buffer.from('x') }]);
    expect(await userErrorOf(() => extractTar(archive, root))).toBe(`${archive}: tar entry "/tmp/ssl-bench-absolute.txt" is an absolute path; refusing to extract it`);
    expect(fs.existsSync('/tmp/ssl-bench-absolute.txt')).toBe(false);
  });

  test('symlinks and hard links pointing outside are refused', async () => {
    const sym = await extract('symlink', [{ name: 'data/link', type: '2', linkname: '../../outside' }]);
    expect(await userErrorOf(() => extractTar(sym.archive, sym.root))).toBe(`${sym.archive}: tar symlink "data/link" -> "../../outside" points outside ${fs.realpathSync(sym.root)}; refusing to extract it`);
    const absLink = await extract('abslink', [{ name: 'link', type: '2', linkname: '/etc/passwd' }]);
    expect(await userErrorOf(() => extractTar(absLink.archive, absLink.root))).toBe(`${absLink.archive}: tar symlink "link" points to absolute path "/etc/passwd"; refusing to extract it`);
    const hard = await extract('hardlink', [{ name: 'h', type: '1', linkname: '../secret' }]);
    expect(await userErrorOf(() => extractTar(hard.archive, hard.root))).toBe(`${hard.archive}: tar hard link target of "h": "../secret" contains a ".." component; refusing to extract it`);
  });

  test('writes through a symlink that leaves the root are refused', async () => {
    const outside = path.join(work, 'tar', 'through', 'outside');
    fs.mkdirSync(outside, { recursive: true });
    const { archive, root } = await extract('through', [{ name: 'escape/file.txt', data: Buffer.from('x') }]);
    fs.symlinkSync(outside, path.join(root, 'escape'));
    expect(await userErrorOf(() => extractTar(archive, root))).toBe(`${archive}: tar entry "escape/file.txt" would be written through a link outside ${fs.realpathSync(root)}; refusing to extract it`);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  test('links inside the root, nested folders and ./ prefixes extract normally', async () => {
    const { archive, root } = await extract('fine', [
      { name: './a/', type: '5' },
      { name: './a/b/c.txt', data: Buffer.from('hello') },
      { name: 'a/link', type: '2', linkname: 'b/c.txt' },
      { name: 'hard.txt', type: '1', linkname: 'a/b/c.txt' },
      { name: 'big.bin', data: Buffer.alloc(5000, 7) },
    ]);
    const written = await extractTar(archive, root);
    expect(written.map((f) => path.relative(fs.realpathSync(root), f))).toEqual(['a/b/c.txt', 'a/link', 'hard.txt', 'big.bin']);
    expect(fs.readFileSync(path.join(root, 'a', 'link'), 'utf8')).toBe('hello');
    expect(fs.readFileSync(path.join(root, 'hard.txt'), 'utf8')).toBe('hello');
    expect(fs.readFileSync(path.join(root, 'big.bin'))).toEqual(Buffer.alloc(5000, 7));
  });

  test('truncated and corrupt archives are named', async () => {
    const base = path.join(work, 'tar', 'truncated');
    fs.mkdirSync(base, { recursive: true });
    const archive = path.join(base, 'cut.tar');
    fs.writeFileSync(archive, tar([{ name: 'big.bin', data: Buffer.alloc(5000, 1) }]).subarray(0, 2048));
    expect(await userErrorOf(() => extractTar(archive, path.join(base, 'root')))).toBe(`${archive}: tar stream ends inside an entry at byte 2048; the archive is truncated, re-download it`);
    const garbage = path.join(base, 'garbage.tar');
    fs.writeFileSync(garbage, Buffer.alloc(1024, 65));
    expect(await userErrorOf(() => extractTar(garbage, path.join(base, 'root2')))).toBe(`${garbage}: byte 0 of the tar stream: not a valid tar header (checksum field "AAAAAAAA", computed 100370 octal); the archive is corrupt, re-download it`);
  });

  const hasTar = spawnSync('tar', ['--version'], { stdio: 'ignore' }).status === 0;
  (hasTar ? test : test.skip)('archives written by GNU tar (pax long names) extract with the same content', async () => {
    const base = path.join(work, 'tar', 'gnu');
    const src = path.join(base, 'src');
    const longDir = `imagenette2-160/train/${'n01440764_'.repeat(12)}`;
    fs.mkdirSync(path.join(src, longDir), { recursive: true });
    fs.writeFileSync(path.join(src, longDir, `${'x'.repeat(120)}.JPEG`), Buffer.alloc(1500, 3));
    const archive = path.join(base, 'gnu.tgz');
    const r = spawnSync('tar', ['--format=pax', '-czf', archive, '-C', src, 'imagenette2-160'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const root = path.join(base, 'out');
    await extractTar(archive, root);
    expect(fs.readFileSync(path.join(root, longDir, `${'x'.repeat(120)}.JPEG`))).toEqual(Buffer.alloc(1500, 3));
  });
});
