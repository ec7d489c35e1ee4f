import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { main } from '../../src/cli';
import { previewColumnLabels, previewLayout } from '../../src/cli/augment-preview';
import { loadConfig } from '../../src/config';
import { presetFromConfig } from '../../src/augment';

const REPO = path.resolve(__dirname, '..', '..');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-preview-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  try {
    return { code: await main(['node', 'ssl-bench', ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

function writeConfig(name: string, preset: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, [
    'data:',
    '  dataset: embedded-fashion-mnist',
    `  root: ${path.join(REPO, 'data-embedded', 'fashion-mnist')}`,
    `  cache_dir: ${path.join(tmp, 'cache')}`,
    'augmentation:',
    `  preset: ${preset}`,
    '',
  ].join('\n'));
  return file;
}

test('augment-preview writes a PNG grid: one row per image, original + every view', async () => {
  const cfg = writeConfig('simclr', 'simclr');
  const png = path.join(tmp, 'views.png');
  const r = await cli('augment-preview', cfg, '--out', png, '--n', '3');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const meta = await sharp(png).metadata();
  const layout = previewLayout(3, 2, 28);
  expect(layout.tile).toBe(112);
  expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', layout.width, layout.height, 3]);
  expect(r.stdout).toContain(`3 images x (original + 2 simclr views), ${layout.width}x${layout.height} px`);
  expect(r.stdout).toContain('columns: original (28×28 px) | view 1 (28×28 px, crop 0.08–1) | view 2 (28×28 px, crop 0.08–1)');
  // The label band above the tiles: every column has dark text pixels in it, the gaps between columns none.
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const dark = (x0: number, x1: number) => {
    let count = 0;
    for (let y = 0; y < layout.labelHeight; y++) for (let x = x0; x < x1; x++) if (data[(y * info.width + x) * info.channels] < 128) count++;
    return count;
  };
  for (let k = 0; k < 3; k++) {
    const left = 4 + k * (layout.tile + 4);
    expect(dark(left, left + layout.tile)).toBeGreaterThan(40);
    expect(dark(left + layout.tile, left + layout.tile + 4)).toBe(0);
  }
});

test('column labels name the original and every view with its crop size and area range', () => {
  const cfg = loadConfig(writeConfig('labels', 'dino'), { set: ['augmentation.overrides.n_local_views=2', 'augmentation.overrides.local_size=12'] });
  const preset = presetFromConfig(cfg, { inputChannels: 1 });
  const labels = previewColumnLabels(preset, 28, 28);
  expect(labels[0]).toEqual(['original', '28×28 px']);
  expect(labels.slice(1).map(([a]) => a)).toEqual(['view 1', 'view 2', 'view 3', 'view 4']);
  // DINO: two global views at the input size with scale (0.4, 1), then the local views (0.05, 0.4).
  const [global, local] = [preset.views[0], preset.views[2]];
  expect(labels[1].slice(1)).toEqual([`${global.size}×${global.size} px`, `crop ${global.scale[0]}–${global.scale[1]}`]);
  expect(labels[3].slice(1)).toEqual(['12×12 px', `crop ${local.scale[0]}–${local.scale[1]}`]);
  expect(local.scale[1]).toBeLessThanOrEqual(global.scale[0]);
});

test('--set reaches the preset (DINO with 2 local views of 12 px) and --n is checked', async () => {
  const cfg = writeConfig('dino', 'dino');
  const png = path.join(tmp, 'dino.png');
  const r = await cli('augment-preview', cfg, '--out', png, '--n', '2', '--set', 'augmentation.overrides.n_local_views=2', '--set', 'augmentation.overrides.local_size=12');
  expect(r.code).toBe(0);
  const meta = await sharp(png).metadata();
  const layout = previewLayout(2, 4, 28);
  expect([meta.width, meta.height]).toEqual([layout.width, layout.height]);
  const bad = await cli('augment-preview', cfg, '--out', png, '--n', '0');
  expect([bad.code, bad.stderr.trim()]).toEqual([2, 'error: --n 0: expected an integer from 1 to 256']);
});
