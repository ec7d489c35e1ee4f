/**
 * ViT position embeddings resampled to another token grid (src/nn/resample-position-embedding.ts):
 * the per-axis weights against an independent evaluation of the bicubic formulas, against PyTorch's
 * F.interpolate(mode='bicubic', align_corners=False, antialias=True|False) where /usr/bin/python3
 * has torch, the in-graph resample (class token kept, gradient to a learned table), and a ViT
 * running on images of other sizes through the same parameters.
 */
import { spawnSync } from 'node:child_process';
import { Graph } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import { GraphForwardContext, initParameters } from '../../src/nn';
import { VisionTransformer } from '../../src/nn/backbones/vit';
import { bicubicResampleWeights, gridResampleMatrix, resamplePositionEmbedding } from '../../src/nn/resample-position-embedding';
import { checkGradient, randn, runGraph } from '../support/graph-harness';
import { maxAbsDiff, runModule } from './support';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn('SKIPPED: PyTorch cross-check of the bicubic position-embedding resample (no torch importable from /usr/bin/python3; apt-get install python3-torch)');
const itTorch = hasTorch ? it : it.skip;

/** Keys' cubic kernel, written out piecewise. */
function keys(x: number, a: number): number {
  const t = Math.abs(x);
  if (t >= 2) return 0;
  if (t >= 1) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
}

/**
 * Value at output index i of a 1-D signal resampled to `out` samples, straight from the definitions:
 * antialias: the normalised average of every input sample under the kernel stretched by the scale
 * (PIL-style, a = −0.5); plain: the cubic-convolution interpolant (a = −0.75) of the edge-extended
 * signal at the source coordinate s·(i + 0.5) − 0.5.
 */
function resample1d(signal: number[], out: number, antialias: boolean): number[] {
  const n = signal.length;
  const s = n / out;
  return Array.from({ length: out }, (_, i) => {
    if (antialias) {
      const stretch = Math.max(1, s);
      const centre = s * (i + 0.5);
      let num = 0;
      let den = 0;
      signal.forEach((v, j) => {
        const w = keys((j + 0.5 - centre) / stretch, -0.5);
        num += w * v;
        den += w;
      });
      return num / den;
    }
    const x = s * (i + 0.5) - 0.5;
    let v = 0;
    for (let m = Math.floor(x) - 1; m <= Math.floor(x) + 2; m++) v += signal[Math.min(n - 1, Math.max(0, m))] * keys(x - m, -0.75);
    return v;
  });
}

/** A [h, w] grid resampled along rows then columns (both references are separable). */
function resample2d(grid: number[][], outH: number, outW: number, antialias: boolean): number[][] {
  const cols = grid.map((row) => resample1d(row, outW, antialias));
  const out = Array.from({ length: outH }, () => new Array<number>(outW));
  for (let j = 0; j < outW; j++) resample1d(cols.map((r) => r[j]), outH, antialias).forEach((v, i) => { out[i][j] = v; });
  return out;
}

const PAIRS: [number, number][] = [[14, 8], [14, 4], [8, 4], [7, 4], [4, 7], [2, 5], [3, 3], [5, 2]];

describe('bicubic resampling weights', () => {
  it.each(PAIRS)('%p → %p matches the kernel definitions (antialias and plain)', (from, to) => {
    for (const antialias of [true, false]) {
      const w = bicubicResampleWeights(from, to, antialias);
      for (let k = 0; k < from; k++) {
        const unit = Array.from({ length: from }, (_, j) => (j === k ? 1 : 0));
        resample1d(unit, to, antialias).forEach((v, i) => expect(w[i * from + k]).toBeCloseTo(v, 12));
      }
    }
  });

  it('an unchanged size is the identity; every output row sums to 1 (constants stay constant)', () => {
    for (const antialias of [true, false]) {
      const same = bicubicResampleWeights(6, 6, antialias);
      same.forEach((v, idx) => expect(v).toBeCloseTo(Math.floor(idx / 6) === idx % 6 ? 1 : 0, 12));
      for (const [from, to] of PAIRS) {
        const w = bicubicResampleWeights(from, to, antialias);
        for (let i = 0; i < to; i++) expect(w.slice(i * from, (i + 1) * from).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    }
  });

  it('2-D matrix = the separable resample of each channel', () => {
    const [gh, gw, h, w] = [4, 3, 2, 5];
    const grid = Array.from({ length: gh }, (_, i) => Array.from({ length: gw }, (_, j) => Math.sin(3 * i + j)));
    const m = gridResampleMatrix([gh, gw], [h, w]);
    const expected = resample2d(grid, h, w, true).flat();
    const flat = grid.flat();
    expected.forEach((v, r) => expect(flat.reduce((s, x, c) => s + x * m[r * gh * gw + c], 0)).toBeCloseTo(v, 6));
  });

  itTorch('equals torch.nn.functional.interpolate(mode="bicubic", align_corners=False) with and without antialias', () => {
    const cases = [[14, 8], [8, 4], [4, 7], [7, 4], [2, 2], [3, 5]];
    const grids = cases.map(([from], k) => Array.from({ length: from * from }, (_, i) => Math.cos(0.7 * i + k)));
    const script = [
      'import json, sys, torch, torch.nn.functional as F',
      'cases, grids = json.loads(sys.stdin.read())',
      'out = []',
      'for (a, b), g in zip(cases, grids):',
      '    x = torch.tensor(g, dtype=torch.float64).reshape(1, 1, a, a)',
      '    out.append([F.interpolate(x, size=(b, b), mode="bicubic", align_corners=False, antialias=aa).flatten().tolist() for aa in (True, False)])',
      'print(json.dumps(out))',
    ].join('\n');
    const res = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify([cases, grids]), encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const torchOut = JSON.parse(res.stdout) as number[][][];
    cases.forEach(([from, to], k) => {
      [true, false].forEach((aa, a) => {
        const m = gridResampleMatrix([from, from], [to, to], aa);
        const ours = Array.from({ length: to * to }, (_, r) => grids[k].reduce((s, x, c) => s + x * m[r * from * from + c], 0));
        expect(maxAbsDiff(ours, torchOut[k][a])).toBeLessThan(1e-6);
      });
    });
  });
});

describe('resamplePositionEmbedding in the graph', () => {
  const [gh, gw, d] = [3, 3, 4];
  const table = randn((1 + gh * gw) * d, 61);

  it('keeps the class-token row and resamples the patch rows channel by channel', async () => {
    const g = new Graph('pos');
    const t = g.input('t', [1, 1 + gh * gw, d]);
    g.output('y', resamplePositionEmbedding(t, [gh, gw], [2, 4], 1));
    const out = (await runGraph(g, { t: { data: Float32Array.from(table), shape: [1, 1 + gh * gw, d] } })).y;
    expect(out.dims).toEqual([1, 1 + 8, d]);
    const y = out.data as Float32Array;
    for (let c = 0; c < d; c++) {
      expect(y[c]).toBeCloseTo(table[c], 6);
      const grid = Array.from({ length: gh }, (_, i) => Array.from({ length: gw }, (_, j) => table[(1 + i * gw + j) * d + c]));
      resample2d(grid, 2, 4, true).flat().forEach((v, r) => expect(y[(1 + r) * d + c]).toBeCloseTo(v, 5));
    }
  });

  it('gradient reaches a learned table (finite differences)', async () => {
    const res = await checkGradient((_g, [t]) => resamplePositionEmbedding(t, [gh, gw], [5, 2], 1), [{ shape: [1, 1 + gh * gw, d] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('ViT on other input sizes', () => {
  const vit = new VisionTransformer({ patchSize: 4, embedDim: 16, depth: 1, heads: 2, imageSize: 16, inChannels: 1 });

  it('runs 8-, 12- and 24-px images with the 16-px model (the stored 4×4 table resampled); equal grids need no resample', async () => {
    const values = initParameters([...vit.parameters(), ...vit.buffers()], new Rng(5));
    for (const size of [8, 12, 16, 24]) {
      const r = await runModule(vit, { shape: [2, 1, size, size], data: Float32Array.from(randn(2 * size * size, size)) }, { training: true, values });
      expect(r.dims).toEqual([2, 16]);
      expect(Array.from(r.output).every(Number.isFinite)).toBe(true);
    }
  });

  it('the table a 24-px image gets is the stored sin-cos table resampled, not one computed for the 6×6 grid', async () => {
    const g = new Graph('vit-pos');
    const ctx = new GraphForwardContext(g, vit, { training: true });
    g.output('p', vit.positionEmbedding(ctx, [6, 6]));
    g.output('same', vit.positionEmbedding(ctx, [4, 4]));
    const values = initParameters([...vit.buffers()], new Rng(0));
    const stored = values.get('pos_embed')! as Float32Array;
    const out = await runGraph(g, { pos_embed: { data: stored, shape: [1, 17, 16] } });
    expect(out.same.data).toEqual(stored);
    const p = out.p.data as Float32Array;
    for (let c = 0; c < 16; c++) {
      const grid = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => stored[(1 + i * 4 + j) * 16 + c]));
      resample2d(grid, 6, 6, true).flat().forEach((v, r) => expect(p[(1 + r) * 16 + c]).toBeCloseTo(v, 5));
    }
  });

  it('rejects images that are not a multiple of the patch size', async () => {
    await expect(runModule(vit, { shape: [1, 1, 10, 10], data: new Float32Array(100) }, { training: true })).rejects.toThrow(/multiples of the patch size 4/);
  });
});
