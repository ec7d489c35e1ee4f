/**
 * Every shipped config starts: each runnable file under configs/ trains for 2 steps through
 * `ssl-bench run` (the CLI's main(), in this process) on tiny data generated here in its own
 * dataset's format — CIFAR-10 binary batches, Fashion-MNIST idx files, image folders of JPEGs for
 * Imagenette / ImageNet100 / ImageNet1k, the embedded Fashion-MNIST sample for quickstart/ci — and
 * must end with summary status "smoke" (a --max-steps run is never a result).
 *
 * Every config trains at batch 8 (the generated splits hold 16-20 training images) with kNN k <= 5
 * (k may not exceed the bank). To fit in
 * minutes on 2 cores the GPU-sized configs (CIFAR-10, Imagenette, ImageNet100, ImageNet1k) are
 * shrunk further with --set, and only there: ResNet width 1/16, ViT depth 1 (one transformer block,
 * full width), head widths over 64 set to 64 (HEAD_WIDTHS), image-folder images cached at
 * 72 px with 64-px global crops (local/focal crop sizes stay as configured), and the kNN / linear /
 * fine-tune evaluations off (the online linear classifier, part of the training step, stays on).
 * Everything else — method, head layouts, memory banks, optimizer, schedule, views — is the
 * config's own.
 *
 * Methods still being written (PENDING) may fail with "no training implementation in this build";
 * as soon as a method is registered its configs must run like the others.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { expandConfigArgs, loadConfig } from '../../src/config';
import { METHOD_IMPLEMENTATIONS } from '../../src/methods/registry';
import { cli } from '../e2e/support/harness';
import { cifarBatch, writeFashionMnist } from '../data/fixtures';

const ROOT = path.resolve(__dirname, '..', '..');
const CONFIG_DIR = path.join(ROOT, 'configs');

/** Methods whose implementations are in progress; their configs are listed here until they land. */
const PENDING = ['dino', 'swav', 'swavqueue', 'smog', 'vicregl', 'mae', 'msn', 'pmsn', 'simmim'];

const SUITES = fs.readdirSync(CONFIG_DIR).filter((d) => fs.statSync(path.join(CONFIG_DIR, d)).isDirectory()).sort();
const CONFIGS = SUITES.flatMap((suite) => expandConfigArgs([path.join(CONFIG_DIR, suite)]).filter((f) => !f.abstract).map((f) => f.file));
const GPU_SIZED = new Set(['cifar10', 'imagenette', 'imagenet100', 'imagenet1k']);
/** Head widths shrunk to 64 in GPU-sized configs (the heads' layers, norms and activations stay). */
const HEAD_WIDTHS = ['projection_hidden_dim', 'projection_out_dim', 'prediction_hidden_dim', 'bottleneck_dim', 'output_dim', 'local_projection_hidden_dim', 'local_projection_out_dim', 'decoder_dim'];

let tmp: string;
const roots: Record<string, string> = {};

async function writeImageFolder(root: string): Promise<void> {
  // 3 classes x 6 images per split: 18 train images = 2 steps of 8 per epoch. Odd sizes, not square,
  // so the cache's Resize + CenterCrop does real work.
  for (const split of ['train', 'val']) {
    for (const [c, wnid] of ['n01440764', 'n02102040', 'n02979186'].entries()) {
      const dir = path.join(root, split, wnid);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 6; i++) {
        const width = 90 + 3 * i;
        const height = 70;
        const pixels = Buffer.alloc(width * height * 3);
        for (let j = 0; j < pixels.length; j++) pixels[j] = (j * (7 + c) + i * 31) % 256;
        await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(dir, `${wnid}_${i}.JPEG`));
      }
    }
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-configs-smoke-'));
  const cifar = path.join(tmp, 'cifar10', 'cifar-10-batches-bin');
  fs.mkdirSync(cifar, { recursive: true });
  const labels = Array.from({ length: 4 }, (_, i) => i % 10);
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(cifar, `data_batch_${b}.bin`), cifarBatch(labels, 4 * b));
  fs.writeFileSync(path.join(cifar, 'test_batch.bin'), cifarBatch(labels, 0));
  roots.cifar10 = path.join(tmp, 'cifar10');
  const fm = path.join(tmp, 'fashion-mnist');
  writeFashionMnist(fm, 'train', Array.from({ length: 20 }, (_, i) => i % 10), false);
  writeFashionMnist(fm, 'test', Array.from({ length: 10 }, (_, i) => i % 10), false);
  roots['fashion-mnist'] = fm;
  const folder = path.join(tmp, 'image-folder');
  await writeImageFolder(folder);
  for (const d of ['imagenette', 'imagenet100', 'imagenet1k']) roots[d] = folder;
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function smokeOverrides(file: string): string[] {
  const config = loadConfig(file);
  const sets = ['device=cpu', `data.cache_dir=${path.join(tmp, 'cache')}`, 'data.workers=1', 'train.max_steps=2'];
  const root = roots[config.data.dataset];
  if (root) sets.push(`data.root=${root}`);
  if (config.data.subset.per_class !== null || config.data.subset.test_per_class !== null) {
    sets.push('data.subset.per_class=null', 'data.subset.test_per_class=null', 'data.subset.fraction=null');
  }
  sets.push('train.batch_size=8');
  // The generated banks hold 16-20 images; a larger k is refused (k must fit the bank).
  if (config.eval.knn.enabled && config.eval.knn.k > 5) sets.push('eval.knn.k=5');
  if (GPU_SIZED.has(config.data.dataset)) {
    sets.push('eval.knn.enabled=false', 'eval.linear.enabled=false', 'eval.finetune.enabled=false');
    if (config.backbone.name.startsWith('resnet')) sets.push('backbone.width=0.0625');
    if (config.backbone.name.startsWith('vit')) sets.push('backbone.depth=1');
    for (const [param, value] of Object.entries(config.method.params)) {
      if (HEAD_WIDTHS.includes(param) && typeof value === 'number' && value > 64) sets.push(`method.params.${param}=64`);
    }
    if (config.data.dataset.startsWith('image')) {
      sets.push('data.image_size=72', 'augmentation.input_size=64');
      if (config.augmentation.eval_transform === 'resize-center-crop') sets.push('augmentation.eval_resize=72');
      // Keep what the method relies on: crop groups of equal size stay equal (SMoG swaps them), and
      // VICRegL's grid matches the ResNet map of a 64-px crop (2 x 2).
      const o = config.augmentation.overrides;
      if (o.local_size === config.augmentation.input_size) sets.push('augmentation.overrides.local_size=64');
      if (typeof o.global_grid_size === 'number') sets.push('augmentation.overrides.global_grid_size=2');
    }
  }
  return sets.flatMap((s) => ['--set', s]);
}

test('the smoke list covers every suite and every published row of the three ImageNet-style tables', () => {
  expect(SUITES).toEqual(expect.arrayContaining(['cifar10', 'imagenette', 'imagenet100', 'imagenet1k']));
  expect(CONFIGS.filter((f) => f.includes(`${path.sep}imagenette${path.sep}`))).toHaveLength(20);
  expect(CONFIGS.filter((f) => f.includes(`${path.sep}imagenet100${path.sep}`))).toHaveLength(9);
  expect(CONFIGS.filter((f) => f.includes(`${path.sep}imagenet1k${path.sep}`))).toHaveLength(11);
});

describe.each(CONFIGS.map((f) => [path.relative(ROOT, f), f]))('%s', (_name, file) => {
  // Minutes per config are possible on a loaded 2-core machine (seconds on an idle one).
  test('runs 2 steps and ends as a smoke run', async () => {
    const method = loadConfig(file).method.name;
    const suite = path.basename(path.dirname(file));
    const output = path.join(tmp, 'out', suite);
    const r = await cli('run', file, '--output', output, '--threads', '1', ...smokeOverrides(file));
    if (method !== 'none' && !METHOD_IMPLEMENTATIONS.has(method)) {
      expect(PENDING).toContain(method);
      expect(r.stderr).toContain(`method.name: '${method}' has no training implementation in this build`);
      return;
    }
    if (r.code !== 0) throw new Error(`${file} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-8).join('\n')}`);
    const runDir = /run directory (\S+)/.exec(r.stdout)?.[1] ?? /results in (\S+)\/summary\.json/.exec(r.stdout)?.[1];
    expect(runDir).toBeDefined();
    const summary = JSON.parse(fs.readFileSync(path.join(runDir!, 'summary.json'), 'utf8')) as { status: string; device: string };
    // A floor (method none, 0 epochs) has no steps to cut short: it completes as a real result.
    expect(summary.status).toBe(method === 'none' ? 'finished' : 'smoke');
    expect(summary.device).toBe('cpu');
  }, 600_000);
});

/** `"a", "b"` → ['a', 'b'] for one csv-table row line. */
function cells(line: string): string[] {
  return line.trim().replace(/^"|"$/g, '').split('", "');
}

/**
 * `ssl-bench table` over the smoke run directories of each ImageNet-style suite renders the page's
 * layout: caption, header and widths lines as in test/report/golden/<suite>.rst (CPU runs measure
 * process RSS, so the memory header reads "Memory (RSS)"), one row per runnable config in the
 * page's order, and each row's Model, Backbone, Epochs (and ImageNet1k link) cells equal to the
 * published row's: the configs carry the table's labels, markers and links. The batch cell is the
 * smoke override (8); the accuracy cells are "-" (evaluations off) and the rows say "(smoke)".
 */
describe.each(['imagenette', 'imagenet100', 'imagenet1k'])('table of the %s smoke runs', (suite) => {
  test('has the published layout and the published rows', async () => {
    const golden = fs.readFileSync(path.join(ROOT, 'test', 'report', 'golden', `${suite}.rst`), 'utf8').split('\n');
    const goldenRows = golden.filter((l) => l.startsWith('  "')).map(cells);
    const runnable = CONFIGS.filter((f) => path.basename(path.dirname(f)) === suite && METHOD_IMPLEMENTATIONS.has(loadConfig(f).method.name));
    const shown = new Set(runnable.map((f) => { const c = loadConfig(f); return `${c.method.label}${c.method.marker}`; }));
    const order = goldenRows.map((r) => r[0]).filter((m) => shown.has(m)).join(',');
    const r = await cli('table', path.join(tmp, 'out', suite), '--include-smoke', '--format', 'rst', '--order', order);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(golden[0]);
    expect(lines[1]).toBe(suite === 'imagenet1k' ? golden[1] : golden[1].replace('"GPU Memory"', '"Memory (RSS)"'));
    expect(lines[2]).toBe(golden[2]);
    const rows = lines.filter((l) => l.startsWith('  "')).map(cells);
    expect(rows).toHaveLength(runnable.length);
    const pagePosition = (model: string): number => goldenRows.findIndex((g) => g[0] === model);
    const models = rows.map((row) => row[0].replace(/ \(smoke\)$/, ''));
    expect(rows.every((row) => row[0].endsWith(' (smoke)'))).toBe(true);
    expect(models.map(pagePosition)).toEqual([...models.map(pagePosition)].sort((a, b) => a - b));
    for (const row of rows) {
      const model = row[0].replace(/ \(smoke\)$/, '');
      const published = goldenRows[pagePosition(model)];
      expect(published).toBeDefined();
      expect([model, row[1], row[3]]).toEqual([published[0], published[1], published[3]]);
      expect(row[2]).toBe('8');
      if (suite === 'imagenet1k') {
        expect(row.slice(4, 10)).toEqual(['-', '-', '-', '-', '-', '-']);
        expect(row.slice(10)).toEqual(published.slice(10));
      } else {
        expect(row[4]).toBe('-');
        expect(row[5]).toMatch(/^\d+\.\d Min$/);
        expect(row[6]).toMatch(/^\d+\.\d GByte$/);
      }
    }
  });
});
