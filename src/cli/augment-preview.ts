import * as path from 'node:path';
import type { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';
import { loadConfig } from '../config';
import { addSetOption } from '../config/set-option';
import { loadDataset } from '../data';
import { Rng } from '../data/rng';
import { Graph, toOnnx } from '../graph';
import { applyViews, augmentFeeds, augmentParamInputs, presetFromConfig, sampleViews, type AugmentPreset } from '../augment';
import { writeFileAtomic } from '../util/atomic';

/** Smallest tile side in the grid: 28- and 32-px datasets are upscaled (nearest) to stay visible. */
const MIN_TILE = 96;
const GAP = 4;
const BACKGROUND = 255;
/** Band above the grid with up to three lines of column labels (fits a 96-px tile at 12 px). */
const LABEL_FONT_PX = 12;
const LABEL_LINE_PX = 15;
const LABEL_HEIGHT = GAP + 3 * LABEL_LINE_PX + 2;

interface PreviewOptions {
  out: string;
  n: string;
  set?: string[];
}

/** An RGB uint8 picture of one tile's content. */
interface Picture {
  h: number;
  w: number;
  rgb: Uint8Array;
}

/** Layout of the grid: a label band, then one row per image, the original then each view, square tiles. */
export function previewLayout(rows: number, views: number, largestSide: number): { tile: number; width: number; height: number; labelHeight: number } {
  const tile = largestSide * Math.max(1, Math.ceil(MIN_TILE / largestSide));
  return { tile, width: (views + 1) * tile + (views + 2) * GAP, height: LABEL_HEIGHT + rows * tile + (rows + 1) * GAP, labelHeight: LABEL_HEIGHT };
}

/**
 * The label lines of each column: the original with its size, and every view with the crop it
 * trains on: output side, and the RandomResizedCrop area range (which tells global from local views).
 */
export function previewColumnLabels(preset: AugmentPreset, height: number, width: number): string[][] {
  const area = (x: number): string => String(Math.round(x * 100) / 100);
  return [
    ['original', `${width}×${height} px`],
    ...preset.views.map((v, k) => [`view ${k + 1}`, `${v.size}×${v.size} px`, v.crop === 'full' ? 'whole image' : `crop ${area(v.scale[0])}–${area(v.scale[1])}`]),
  ];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** SVG of the label band: each column's lines centred over its tile, the first in bold. */
function labelSvg(labels: readonly string[][], layout: { tile: number; width: number; labelHeight: number }): string {
  const texts = labels.flatMap((lines, k) => {
    const x = GAP + k * (layout.tile + GAP) + layout.tile / 2;
    return lines.map((line, i) => `<text x="${x}" y="${GAP + LABEL_FONT_PX + i * LABEL_LINE_PX}"${i === 0 ? ' font-weight="bold"' : ''}>${escapeXml(line)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.labelHeight}">`
    + `<g font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${LABEL_FONT_PX}" text-anchor="middle" fill="#000">${texts.join('')}</g></svg>`;
}

/** Undoes the normalisation of view `b` of a [B, C, S, S] output into an RGB picture. */
function viewPicture(data: Float32Array, b: number, channels: number, size: number, preset: AugmentPreset): Picture {
  const rgb = new Uint8Array(size * size * 3);
  const plane = size * size;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const ch = channels === 1 ? 0 : c;
      const v = data[(b * channels + ch) * plane + i] * preset.normalization.std[ch] + preset.normalization.mean[ch];
      rgb[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { h: size, w: size, rgb };
}

function sourcePicture(pixels: Uint8Array, b: number, h: number, w: number, channels: number): Picture {
  const rgb = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = pixels[(b * h * w + i) * channels + (channels === 1 ? 0 : c)];
  return { h, w, rgb };
}

/** Nearest-neighbour scaling of `pic` into the tile at (top, left), keeping its aspect ratio. */
function blit(canvas: Uint8Array, canvasWidth: number, pic: Picture, top: number, left: number, tile: number): void {
  const scale = tile / Math.max(pic.h, pic.w);
  const h = Math.round(pic.h * scale);
  const w = Math.round(pic.w * scale);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(pic.h - 1, Math.floor(y / scale));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(pic.w - 1, Math.floor(x / scale));
      canvas.set(pic.rgb.subarray((sy * pic.w + sx) * 3, (sy * pic.w + sx) * 3 + 3), ((top + y) * canvasWidth + left + x) * 3);
    }
  }
}

/**
 * `ssl-bench augment-preview <config> --out views.png [--n 8] [--set k=v]`: N training images
 * (evenly spaced through the train split), each followed by all views of the config's preset as the
 * training graph computes them, drawn with the config's seed. Columns are labelled: "original"
 * with its size, then "view k" with the view's output size and crop area range.
 */
export function registerAugmentPreview(program: Command): void {
  const cmd = program
    .command('augment-preview')
    .description('write a PNG grid of training images and their augmented views (one row per image: original, then every view; columns labelled with each view\'s crop size)')
    .argument('<config>', 'config file (YAML)')
    .requiredOption('--out <file>', 'PNG file to write')
    .option('--n <count>', 'number of images (rows)', '8');
  addSetOption(cmd).action(async (file: string, opts: PreviewOptions) => {
    const n = Number(opts.n);
    if (!(Number.isInteger(n) && n >= 1 && n <= 256)) throw new UserError(`--n ${opts.n}: expected an integer from 1 to 256`);
    if (path.extname(opts.out).toLowerCase() !== '.png') throw new UserError(`--out ${opts.out}: the preview is a PNG; use a .png file name`);
    const cfg = loadConfig(file, { set: opts.set ?? [] });
    const source = await loadDataset(cfg.data, 'train', { seed: cfg.seed });
    try {
      if (source.n < n) throw new UserError(`--n ${n}: the ${cfg.data.dataset} ${source.split} split has only ${source.n} images`);
      const { height: h, width: w, channels } = source;
      const preset = presetFromConfig(cfg, { inputChannels: channels });
      const indices = Array.from({ length: n }, (_, i) => Math.floor((i * source.n) / n));
      const pixels = source.readBatch(indices);

      const g = new Graph('augment-preview');
      const views = applyViews(g, g.input('images', [n, h, w, channels], 'uint8'), augmentParamInputs(g, preset, n), preset);
      views.forEach((v, k) => g.output(`view${k}`, v));
      const session = await ort.InferenceSession.create(toOnnx(g), { executionProviders: ['cpu'] });
      const feeds: Record<string, ort.Tensor> = { images: new ort.Tensor('uint8', pixels, [n, h, w, channels]) };
      const drawn = sampleViews(new Rng(cfg.seed).fork('augment-preview'), preset, n, h, w);
      for (const [name, f] of Object.entries(augmentFeeds(drawn))) feeds[name] = new ort.Tensor('float32', f.data, f.dims);
      const result = await session.run(feeds);

      const layout = previewLayout(n, preset.views.length, Math.max(h, w, ...preset.views.map((v) => v.size)));
      const canvas = new Uint8Array(layout.width * layout.height * 3).fill(BACKGROUND);
      for (let b = 0; b < n; b++) {
        const top = layout.labelHeight + GAP + b * (layout.tile + GAP);
        blit(canvas, layout.width, sourcePicture(pixels, b, h, w, channels), top, GAP, layout.tile);
        preset.views.forEach((v, k) => {
          const pic = viewPicture(result[`view${k}`].data as Float32Array, b, preset.outputChannels, v.size, preset);
          blit(canvas, layout.width, pic, top, GAP + (k + 1) * (layout.tile + GAP), layout.tile);
        });
      }
      const sharp = (await import('sharp')).default;
      const labels = labelSvg(previewColumnLabels(preset, h, w), layout);
      const png = await sharp(Buffer.from(canvas.buffer), { raw: { width: layout.width, height: layout.height, channels: 3 } })
        .composite([{ input: Buffer.from(labels), top: 0, left: 0 }]).removeAlpha().png().toBuffer();
      writeFileAtomic(opts.out, png);
      process.stdout.write(`wrote ${opts.out}: ${n} images x (original + ${preset.views.length} ${cfg.augmentation.preset} views), ${layout.width}x${layout.height} px\n`);
      process.stdout.write(`columns: ${previewColumnLabels(preset, h, w).map(([name, ...rest]) => `${name} (${rest.join(', ')})`).join(' | ')}\n`);
    } finally {
      source.close();
    }
  });
}
