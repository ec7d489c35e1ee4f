import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { UserError } from '../errors';
import { extractTar } from './tar';

/**
 * Fetches the public datasets: official URLs with the checksum their publishers (or
 * torchvision, for the same files) list. Where only an MD5 is published, MD5 it is; the algorithm
 * is named per file. Downloads go to `<file>.part` and resume with an HTTP Range request; the
 * checksum is verified before the file gets its final name; archives are then extracted by the
 * path-checking tar reader and deleted.
 */

export type DownloadableDataset = 'cifar10' | 'fashion-mnist' | 'stl10' | 'imagenette';
export const DOWNLOADABLE_DATASETS: readonly DownloadableDataset[] = ['cifar10', 'fashion-mnist', 'stl10', 'imagenette'];

export interface Checksum {
  algorithm: 'md5' | 'sha256';
  hex: string;
}

export interface RemoteFile {
  url: string;
  checksum: Checksum;
  /** Extract this tar(.gz) into the root and delete it afterwards. */
  extract: boolean;
}

export interface DownloadPlan {
  dataset: DownloadableDataset;
  files: RemoteFile[];
  /** The folder (relative to the root) that exists once the dataset is in place. */
  produces: string;
  /** Paths (relative to the root) whose presence means the dataset is already in place. */
  expect: string[];
}

export type ImagenetteVariant = 'full' | '320' | '160';
export const IMAGENETTE_VARIANTS: readonly ImagenetteVariant[] = ['full', '320', '160'];

const FASHION_BASE = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

const IMAGENETTE: Record<ImagenetteVariant, { file: string; md5: string; folder: string }> = {
  full: { file: 'imagenette2.tgz', md5: 'fe2fc210e6bb7c5664d602c3cd71e612', folder: 'imagenette2' },
  '320': { file: 'imagenette2-320.tgz', md5: '3df6f0d01a2c9592104656642f5e78a3', folder: 'imagenette2-320' },
  '160': { file: 'imagenette2-160.tgz', md5: 'e793b78cc4c9e9a4ccc0c1155377a412', folder: 'imagenette2-160' },
};

/** The official files of a dataset (Imagenette: one of its three published resolutions). */
export function downloadPlan(dataset: DownloadableDataset, variant: ImagenetteVariant = '160'): DownloadPlan {
  switch (dataset) {
    case 'cifar10':
      return {
        dataset, produces: 'cifar-10-batches-bin',
        expect: [1, 2, 3, 4, 5].map((b) => `cifar-10-batches-bin/data_batch_${b}.bin`).concat('cifar-10-batches-bin/test_batch.bin'),
        files: [{ url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', checksum: { algorithm: 'md5', hex: 'c32a1d4ab5d03f1284b67883e8d87530' }, extract: true }],
      };
    case 'fashion-mnist': {
      const files = [
        ['train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d'],
        ['train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe'],
        ['t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79'],
        ['t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83cd310'],
      ];
      return {
        dataset, produces: '.',
        // Each file is checksummed on every run instead (they are small and kept as they are).
        expect: [],
        files: files.map(([file, md5]) => ({ url: FASHION_BASE + file, checksum: { algorithm: 'md5' as const, hex: md5 }, extract: false })),
      };
    }
    case 'stl10':
      return {
        dataset, produces: 'stl10_binary',
        expect: ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin', 'unlabeled_X.bin'].map((f) => `stl10_binary/${f}`),
        files: [{ url: 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz', checksum: { algorithm: 'md5', hex: '91f7769df0f17e558f3565bffb0c7dfb' }, extract: true }],
      };
    case 'imagenette': {
      const v = IMAGENETTE[variant];
      return {
        dataset, produces: v.folder,
        expect: [`${v.folder}/train`, `${v.folder}/val`],
        files: [{ url: `https://s3.amazonaws.com/fast-ai-imageclas/${v.file}`, checksum: { algorithm: 'md5', hex: v.md5 }, extract: true }],
      };
    }
  }
}

/** Replaces each URL's origin and folder with `mirror` (a base URL), keeping the file name. */
export function withMirror(plan: DownloadPlan, mirror: string): DownloadPlan {
  const base = mirror.endsWith('/') ? mirror : `${mirror}/`;
  return { ...plan, files: plan.files.map((f) => ({ ...f, url: base + fileNameOf(f.url) })) };
}

export function fileNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}

export async function fileDigest(file: string, algorithm: Checksum['algorithm']): Promise<string> {
  const hash = crypto.createHash(algorithm);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface DownloadOptions {
  log?: (line: string) => void;
  /** Milliseconds without any data before a request counts as failed. */
  idleTimeoutMs?: number;
}

function unreachable(url: string, dest: string, why: string): UserError {
  return new UserError(`cannot download ${url} (${why}); download it by other means, put it at ${dest} and rerun the same command (it verifies and extracts it)`);
}

/** One GET that appends to (status 206) or replaces (200) the `.part` file; follows redirects. */
function fetchInto(url: string, part: string, dest: string, opts: DownloadOptions, redirects = 0): Promise<void> {
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const client = url.startsWith('https:') ? https : http;
  return new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'ssl-bench' };
    if (have > 0) headers.range = `bytes=${have}-`;
    let req: http.ClientRequest;
    let responded = false;
    try {
      req = client.get(url, { headers }, (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirects >= 5) { reject(unreachable(url, dest, 'too many redirects')); return; }
          fetchInto(new URL(res.headers.location, url).toString(), part, dest, opts, redirects + 1).then(resolve, reject);
          return;
        }
        if (status === 416 && have > 0) { res.resume(); resolve(); return; }
        if (status !== 200 && status !== 206) { res.resume(); reject(unreachable(url, dest, `HTTP ${status}`)); return; }
        let append = false;
        if (status === 206) {
          const match = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
          append = match !== null && Number(match[1]) === have;
          if (!append) { res.resume(); fs.rmSync(part, { force: true }); reject(unreachable(url, dest, `server answered the resume request with range "${res.headers['content-range']}"; the partial file was deleted, rerun`)); return; }
        }
        const total = status === 206 ? have + Number(res.headers['content-length'] ?? NaN) : Number(res.headers['content-length'] ?? NaN);
        if (append) opts.log?.(`resuming ${url} at byte ${have}`);
        const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
        let received = append ? have : 0;
        let nextReport = received + 64 * 1024 * 1024;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= nextReport) {
            opts.log?.(`${fileNameOf(url)}: ${(received / 1048576).toFixed(0)} MiB${Number.isFinite(total) ? ` of ${(total / 1048576).toFixed(0)} MiB` : ''}`);
            nextReport += 64 * 1024 * 1024;
          }
        });
        let broken = false;
        const interrupted = (why: string) => {
          if (broken) return;
          broken = true;
          out.end(() => reject(new UserError(`download of ${url} interrupted after ${received} bytes (${why}); rerun the same command to resume from ${part}`)));
        };
        res.on('aborted', () => interrupted('connection closed early'));
        res.on('error', (err) => interrupted((err as NodeJS.ErrnoException).code ?? err.message));
        res.pipe(out);
        out.on('error', (err) => reject(err));
        out.on('finish', () => {
          if (broken) return;
          if (Number.isFinite(total) && received < total) reject(new UserError(`download of ${url} interrupted after ${received} of ${total} bytes; rerun the same command to resume from ${part}`));
          else resolve();
        });
      });
    } catch (err) {
      reject(unreachable(url, dest, (err as Error).message));
      return;
    }
    req.setTimeout(opts.idleTimeoutMs ?? 60000, () => req.destroy(Object.assign(new Error('no data'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // After the response started, the response handlers report the interruption.
      if (!responded) reject(unreachable(url, dest, err.code ?? err.message));
    });
  });
}

/**
 * Downloads `file.url` to `dest`, resuming `<dest>.part`, and verifies the checksum. An existing
 * `dest` with the right checksum is kept (that is also how a manually fetched file is accepted).
 */
export async function downloadFile(file: RemoteFile, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const { algorithm, hex } = file.checksum;
  if (fs.existsSync(dest)) {
    const digest = await fileDigest(dest, algorithm);
    if (digest === hex) { opts.log?.(`${dest}: present, ${algorithm} ok`); return; }
    throw new UserError(`${dest}: ${algorithm} ${digest} does not match the published ${hex}; delete the file and rerun to download it again`);
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  opts.log?.(`downloading ${file.url}`);
  await fetchInto(file.url, part, dest, opts);
  const digest = await fileDigest(part, algorithm);
  if (digest !== hex) {
    fs.rmSync(part, { force: true });
    throw new UserError(`${file.url}: ${algorithm} ${digest} does not match the published ${hex}; the download was deleted, rerun to fetch it again`);
  }
  fs.renameSync(part, dest);
}

export interface DatasetDownloadOptions extends DownloadOptions {
  /** Base URL replacing the official location of every file (a local mirror). */
  mirror?: string;
  variant?: ImagenetteVariant;
  /** Replace the official file list (tests and private mirrors with their own checksums). */
  plan?: DownloadPlan;
}

/** Downloads, verifies and extracts `dataset` into `root`; returns the dataset folder. */
export async function downloadDataset(dataset: DownloadableDataset, root: string, opts: DatasetDownloadOptions = {}): Promise<string> {
  let plan = opts.plan ?? downloadPlan(dataset, opts.variant);
  if (opts.mirror) plan = withMirror(plan, opts.mirror);
  const dir = path.resolve(root);
  const produced = path.join(dir, plan.produces);
  if (plan.expect.length > 0 && plan.expect.every((rel) => fs.existsSync(path.join(dir, rel)))) {
    opts.log?.(`${dataset} is already in ${produced}; nothing to download`);
    return produced;
  }
  for (const file of plan.files) {
    const dest = path.join(dir, fileNameOf(file.url));
    await downloadFile(file, dest, opts);
    if (file.extract) {
      opts.log?.(`extracting ${dest}`);
      await extractTar(dest, dir);
      fs.rmSync(dest);
    }
  }
  opts.log?.(`${dataset} is in ${produced}`);
  return produced;
}
