/**
 * timm RandAugment ops (src/augment/rand-augment.ts): the config-string parser, the sampled draws
 * (op frequencies, apply probability, magnitude noise and clipping, signs, level → argument), and
 * every op's pixels against Pillow itself (/usr/bin/python3 with python3-pil, the library timm
 * calls), op by op and as whole sampled chains.
 */
import { spawnSync } from 'node:child_process';
import { Rng } from '../../src/data/rng';
import {
  applyRandAugment, parseRandAugment, randAugmentFill, RAND_AUGMENT_INCREASING_OPS, RAND_AUGMENT_OPS, sampleRandAugment,
  type RandAugmentDraw, type RandAugmentOpDraw, type RandAugmentOpName, type RandAugmentSpec,
} from '../../src/augment/rand-augment';

const PYTHON = '/usr/bin/python3';
const hasPil = spawnSync(PYTHON, ['-c', 'import PIL'], { encoding: 'utf8' }).status === 0;
if (!hasPil) console.warn('SKIPPED: Pillow cross-check of the RandAugment ops (no PIL importable from /usr/bin/python3; apt-get install python3-pil)');
const itPil = hasPil ? it : it.skip;
// The ops reproduce Pillow 9.4's arithmetic (Debian bookworm's python3-pil, what CI installs): exact
// there. Another Pillow may round a few values differently, so elsewhere ±1 is accepted.
const pilVersion = hasPil ? spawnSync(PYTHON, ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' }).stdout.trim() : '';
const TOLERANCE = pilVersion.startsWith('9.4.') ? 0 : 1;
if (hasPil && TOLERANCE) console.warn(`Pillow ${pilVersion} (not 9.4): RandAugment ops compared within ±1`);

// The same op bodies timm's auto_augment.py calls, on the draw's final argument.
const PIL_SCRIPT = String.raw`
import sys, json, base64
from PIL import Image, ImageOps, ImageEnhance
R = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}
def apply(img, o, fill):
    n, v = o['op'], o['value']
    kw = dict(resample=R[o['resample']], fillcolor=fill)
    if n == 'AutoContrast': return ImageOps.autocontrast(img)
    if n == 'Equalize': return ImageOps.equalize(img)
    if n == 'Invert': return ImageOps.invert(img)
    if n.startswith('Posterize'): return img if v >= 8 else ImageOps.posterize(img, int(v))
    if n == 'SolarizeAdd':
        lut = [min(255, i + int(v)) if i < 128 else i for i in range(256)]
        return img.point(lut * len(img.getbands()))
    if n.startswith('Solarize'): return ImageOps.solarize(img, v)
    if n.startswith('Color'): return ImageEnhance.Color(img).enhance(v)
    if n.startswith('Contrast'): return ImageEnhance.Contrast(img).enhance(v)
    if n.startswith('Brightness'): return ImageEnhance.Brightness(img).enhance(v)
    if n.startswith('Sharpness'): return ImageEnhance.Sharpness(img).enhance(v)
    if n == 'Rotate': return img.rotate(v, **kw)
    if n == 'ShearX': return img.transform(img.size, Image.AFFINE, (1, v, 0, 0, 1, 0), **kw)
    if n == 'ShearY': return img.transform(img.size, Image.AFFINE, (1, 0, 0, v, 1, 0), **kw)
    if n == 'TranslateXRel': return img.transform(img.size, Image.AFFINE, (1, 0, v * img.size[0], 0, 1, 0), **kw)
    if n == 'TranslateYRel': return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, v * img.size[1]), **kw)
    raise ValueError(n)
out = []
for case in json.load(sys.stdin):
    mode = 'RGB' if case['c'] == 3 else 'L'
    img = Image.frombytes(mode, (case['w'], case['h']), base64.b64decode(case['data']))
    fill = tuple(case['fill']) if mode == 'RGB' else case['fill'][0]
    for o in case['ops']:
        img = apply(img, o, fill)
    out.append(base64.b64encode(img.tobytes()).decode())
json.dump(out, sys.stdout)
`;

interface Case { h: number; w: number; c: number; data: Uint8Array; ops: RandAugmentOpDraw[]; fill: number[] }

function pillow(cases: Case[]): Uint8Array[] {
  const input = JSON.stringify(cases.map((k) => ({ ...k, data: Buffer.from(k.data).toString('base64') })));
  const r = spawnSync(PYTHON, ['-c', PIL_SCRIPT], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as string[]).map((b) => new Uint8Array(Buffer.from(b, 'base64')));
}

/** Test images: narrow-range noise, a gradient with noise, a square one, a grey one, and two larger ones. */
function images(): { h: number; w: number; c: number; data: Uint8Array }[] {
  const rng = new Rng(7);
  const make = (h: number, w: number, c: number, f: (y: number, x: number, ch: number) => number) => {
    const data = new Uint8Array(h * w * c);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) data[(y * w + x) * c + ch] = Math.max(0, Math.min(255, Math.round(f(y, x, ch))));
    return { h, w, c, data };
  };
  return [
    make(13, 11, 3, () => 40 + rng.int(160)),
    make(11, 13, 3, (y, x, ch) => 20 * y + 9 * x + 30 * ch + rng.int(40) - 20),
    make(16, 16, 3, () => rng.int(256)),
    make(9, 12, 1, (y, x) => 60 + 10 * y - 4 * x + rng.int(30)),
    // Equalize only changes an image with more than 255 pixels outside its top grey level.
    make(48, 64, 3, (y, x, ch) => 30 + 2 * y + x + 20 * ch + rng.int(50)),
    make(40, 36, 1, (y, x) => 20 + 3 * y + 2 * x + rng.int(20)),
  ];
}

const op = (name: RandAugmentOpName, value: number, resample: 'bilinear' | 'bicubic' = 'bicubic'): RandAugmentOpDraw => ({ op: name, applied: true, magnitude: 0, value, resample });
const FILL = [124, 116, 104];

function diffStats(a: Uint8Array, b: Uint8Array): { differ: number; maxAbs: number } {
  let differ = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) differ++;
    maxAbs = Math.max(maxAbs, d);
  }
  return { differ, maxAbs };
}

describe('parseRandAugment', () => {
  it('reads timm config strings', () => {
    expect(parseRandAugment('rand-m9-mstd0.5-inc1')).toEqual({ magnitude: 9, numLayers: 2, probability: 0.5, magnitudeStd: 0.5, magnitudeMax: null, increasing: true });
    expect(parseRandAugment('rand')).toEqual({ magnitude: 10, numLayers: 2, probability: 0.5, magnitudeStd: 0, magnitudeMax: null, increasing: false });
    expect(parseRandAugment('rand-n3-m7-p1-mmax15')).toEqual({ magnitude: 7, numLayers: 3, probability: 1, magnitudeStd: 0, magnitudeMax: 15, increasing: false });
    expect(parseRandAugment('rand-mstd101').magnitudeStd).toBe(Infinity);
    expect(parseRandAugment('rand-mstd1').magnitudeStd).toBe(1);
    expect(parseRandAugment('rand-p0.25').probability).toBe(0.25);
  });

  it.each([
    ['augmix-m5', "must start with 'rand'"],
    ['rand-x9', "unknown section 'x9'"],
    ['rand-m', "section 'm' has no value"],
    ['rand--m9', 'empty section'],
    ['rand-m9-', 'empty section'],
    ['rand-m9.5', 'm takes a non-negative integer'],
    ['rand-n2.0', 'n takes a non-negative integer'],
    ['rand-mstd0.5x', 'mstd takes a non-negative number'],
    ['rand-p1.5', 'p is a probability'],
    ['rand-inc0', 'write inc1'],
    ['rand-m9-m8', "'m' given twice"],
    ['rand-tweights', 'transform sets'],
    ['rand-w0', "unknown section 'w0'"],
  ])('rejects %s', (spec, message) => {
    let error: unknown;
    try { parseRandAugment(spec); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(RangeError);
    const text = (error as Error).message;
    expect(text).toContain(message);
    expect(text).toContain(`'${spec}'`);
    expect(text).toContain('grammar: rand[-m<int>]');
    expect(text).not.toContain('\n');
  });
});

describe('sampleRandAugment', () => {
  const spec = parseRandAugment('rand-m9-mstd0.5-inc1');

  it('is a JSON-safe function of the Rng state', () => {
    const a = sampleRandAugment(new Rng(3), spec);
    const b = sampleRandAugment(new Rng(3), spec);
    expect(a).toEqual(b);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    expect(sampleRandAugment(new Rng(4), spec)).not.toEqual(a);
  });

  it('draws n ops uniformly with replacement, each applied with probability p', () => {
    const rng = new Rng(11);
    const counts = new Map<string, number>();
    let applied = 0;
    const draws = 6000;
    for (let i = 0; i < draws; i++) {
      const d = sampleRandAugment(rng, spec);
      expect(d.ops).toHaveLength(2);
      for (const o of d.ops) {
        counts.set(o.op, (counts.get(o.op) ?? 0) + 1);
        if (o.applied) applied++;
      }
    }
    expect([...counts.keys()].sort()).toEqual([...RAND_AUGMENT_INCREASING_OPS].sort());
    const expected = (2 * draws) / RAND_AUGMENT_INCREASING_OPS.length; // 800, sd ≈ 27
    for (const n of counts.values()) expect(Math.abs(n - expected)).toBeLessThan(6 * 27);
    expect(Math.abs(applied / (2 * draws) - 0.5)).toBeLessThan(0.02);
    const plain = sampleRandAugment(new Rng(1), parseRandAugment('rand-n200-p1'));
    expect(plain.ops.every((o) => o.applied && (RAND_AUGMENT_OPS as readonly string[]).includes(o.op))).toBe(true);
    expect(sampleRandAugment(new Rng(1), parseRandAugment('rand-n50-p0')).ops.some((o) => o.applied)).toBe(false);
  });

  it('magnitude ~ N(m, mstd) clipped to [0, mmax or 10]; U(0, m) for mstd > 100', () => {
    const mags = (s: RandAugmentSpec) => sampleRandAugment(new Rng(5), s).ops.map((o) => o.magnitude);
    const gauss = mags(parseRandAugment('rand-n4000-p1-m9-mstd0.5'));
    const mean = gauss.reduce((a, b) => a + b, 0) / gauss.length;
    const sd = Math.sqrt(gauss.reduce((a, b) => a + (b - mean) ** 2, 0) / gauss.length);
    expect(Math.abs(mean - 9)).toBeLessThan(0.05);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.03);
    expect(Math.max(...gauss)).toBeLessThanOrEqual(10);
    // N(10, 1): half the draws are above 10 and clipped to exactly 10.
    const high = mags(parseRandAugment('rand-n4000-p1-m10-mstd1'));
    expect(Math.abs(high.filter((m) => m === 10).length / 4000 - 0.5)).toBeLessThan(0.03);
    expect(Math.max(...high)).toBe(10);
    const wide = mags(parseRandAugment('rand-n4000-p1-m10-mstd1-mmax12'));
    expect(Math.max(...wide)).toBeGreaterThan(10);
    expect(Math.max(...wide)).toBeLessThanOrEqual(12);
    const low = mags(parseRandAugment('rand-n4000-p1-m0-mstd2'));
    expect(Math.min(...low)).toBe(0);
    expect(Math.abs(low.filter((m) => m === 0).length / 4000 - 0.5)).toBeLessThan(0.03);
    const uniform = mags(parseRandAugment('rand-n4000-p1-m8-mstd200'));
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniform)).toBeLessThan(8);
    expect(Math.abs(uniform.reduce((a, b) => a + b, 0) / 4000 - 4)).toBeLessThan(0.15);
    expect(mags(parseRandAugment('rand-n20-p1-m9')).every((m) => m === 9)).toBe(true);
  });

  it("maps magnitudes to timm's op arguments, with random signs where timm negates", () => {
    const ops = sampleRandAugment(new Rng(9), parseRandAugment('rand-n3000-p1-m9-mstd0.5-inc1')).ops;
    const by = (name: string) => ops.filter((o) => o.op === name);
    for (const o of ops) {
      const m = o.magnitude / 10;
      switch (o.op) {
        case 'AutoContrast': case 'Equalize': case 'Invert': expect(o.value).toBe(0); break;
        case 'Rotate': expect(Math.abs(o.value)).toBeCloseTo(30 * m, 12); break;
        case 'PosterizeIncreasing': expect(o.value).toBe(4 - Math.floor(4 * m)); break;
        case 'SolarizeIncreasing': expect(o.value).toBe(256 - Math.floor(256 * m)); break;
        case 'SolarizeAdd': expect(o.value).toBe(Math.floor(110 * m)); break;
        case 'ShearX': case 'ShearY': expect(Math.abs(o.value)).toBeCloseTo(0.3 * m, 12); break;
        case 'TranslateXRel': case 'TranslateYRel': expect(Math.abs(o.value)).toBeCloseTo(0.45 * m, 12); break;
        default: expect(Math.abs(o.value - 1)).toBeCloseTo(0.9 * m, 12);
      }
    }
    for (const name of ['Rotate', 'ShearX', 'TranslateYRel', 'ColorIncreasing', 'SharpnessIncreasing']) {
      const neg = by(name).filter((o) => o.value < (name.endsWith('Increasing') ? 1 : 0)).length / by(name).length;
      expect(Math.abs(neg - 0.5)).toBeLessThan(0.15);
    }
    // Non-increasing set: enhance factor grows with m, posterize keeps more bits, solarize threshold rises.
    const plain = sampleRandAugment(new Rng(2), parseRandAugment('rand-n300-p1-m9')).ops;
    for (const o of plain) {
      if (o.op === 'Color' || o.op === 'Brightness') expect(o.value).toBeCloseTo(0.9 * 1.8 + 0.1, 12);
      if (o.op === 'Posterize') expect(o.value).toBe(3);
      if (o.op === 'Solarize') expect(o.value).toBe(230);
    }
    // 'random' interpolation picks a filter per geometric op; otherwise the given one.
    const random = sampleRandAugment(new Rng(2), parseRandAugment('rand-n600-p1-m9'), 'random').ops.filter((o) => ['Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel'].includes(o.op));
    const bilinear = random.filter((o) => o.resample === 'bilinear').length / random.length;
    expect(Math.abs(bilinear - 0.5)).toBeLessThan(0.1);
    expect(sampleRandAugment(new Rng(2), parseRandAugment('rand-n50-p1'), 'bilinear').ops.every((o) => o.resample === 'bilinear')).toBe(true);
  });

  it('randAugmentFill is timm img_mean for the ImageNet mean', () => {
    expect(randAugmentFill([0.485, 0.456, 0.406])).toEqual([124, 116, 104]);
    expect(randAugmentFill([0.5, 1.2])).toEqual([128, 255]);
  });
});

describe('applyRandAugment against Pillow 9.4', () => {
  const OP_VALUES: [RandAugmentOpName, number[]][] = [
    ['AutoContrast', [0]],
    ['Equalize', [0]],
    ['Invert', [0]],
    ['PosterizeIncreasing', [0, 1, 3, 4, 7, 8]],
    ['SolarizeIncreasing', [0, 1, 26, 128, 200, 256]],
    ['SolarizeAdd', [0, 33, 99, 110, 128]],
    ['ColorIncreasing', [0.1, 0.37, 0.5, 1, 1.2345, 1.9]],
    ['ContrastIncreasing', [0.1, 0.37, 0.5, 1, 1.2345, 1.9]],
    ['BrightnessIncreasing', [0.1, 0.37, 0.5, 1, 1.2345, 1.9]],
    ['SharpnessIncreasing', [0.1, 0.37, 0.5, 1, 1.2345, 1.9]],
  ];
  const GEOMETRIC: [RandAugmentOpName, number[]][] = [
    ['Rotate', [0, 30, -30, 27.123, -13.7, 90, 180, 270, -90, 365]],
    ['ShearX', [0, 0.3, -0.3, 0.2712, -0.011]],
    ['ShearY', [0, 0.3, -0.3, 0.2712, -0.011]],
    ['TranslateXRel', [0, 0.45, -0.45, 0.2, -0.0123]],
    ['TranslateYRel', [0, 0.45, -0.45, 0.2, -0.0123]],
  ];

  itPil('every op equals Pillow (exactly on 9.4) on RGB and grey images (bilinear and bicubic)', () => {
    const cases: Case[] = [];
    for (const im of images()) {
      for (const [name, values] of OP_VALUES) for (const v of values) cases.push({ ...im, ops: [op(name, v)], fill: FILL });
      for (const [name, values] of GEOMETRIC) {
        for (const v of values) for (const r of ['bilinear', 'bicubic'] as const) cases.push({ ...im, ops: [op(name, v, r)], fill: im.c === 3 ? FILL : [77] });
      }
    }
    const expected = pillow(cases);
    const failures: string[] = [];
    cases.forEach((k, i) => {
      const before = Uint8Array.from(k.data);
      const got = applyRandAugment(k.data, k.h, k.w, k.c, { ops: k.ops }, { fill: k.fill });
      expect(k.data).toEqual(before);
      const { differ, maxAbs } = diffStats(got, expected[i]);
      if (maxAbs > TOLERANCE) failures.push(`${k.ops[0].op}(${k.ops[0].value}, ${k.ops[0].resample}) on ${k.h}x${k.w}x${k.c}: ${differ} values differ, max ${maxAbs}`);
    });
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(400);
  });

  itPil('sampled rand-m9-mstd0.5-inc1 chains equal Pillow applying the same ops in order', () => {
    const rng = new Rng(21);
    const specs = [parseRandAugment('rand-m9-mstd0.5-inc1'), parseRandAugment('rand-n4-p0.8-m9-mstd0.5-inc1'), parseRandAugment('rand-n3-p1-m7-mstd1')];
    const cases: Case[] = [];
    const draws: RandAugmentDraw[] = [];
    for (const im of images()) {
      for (let k = 0; k < 30; k++) {
        const d = sampleRandAugment(rng, specs[k % specs.length], k % 2 ? 'random' : 'bicubic');
        draws.push(d);
        cases.push({ ...im, ops: d.ops.filter((o) => o.applied), fill: im.c === 3 ? FILL : [124] });
      }
    }
    const expected = pillow(cases);
    const failures: string[] = [];
    cases.forEach((k, i) => {
      const { differ, maxAbs } = diffStats(applyRandAugment(k.data, k.h, k.w, k.c, draws[i], { fill: k.fill }), expected[i]);
      if (maxAbs > TOLERANCE) failures.push(`${JSON.stringify(k.ops)}: ${differ} differ, max ${maxAbs}`);
    });
    expect(failures).toEqual([]);
  });

  it('rejects images it cannot handle', () => {
    const d = { ops: [op('Invert', 0)] };
    expect(() => applyRandAugment(new Uint8Array(8), 2, 2, 2, d, { fill: FILL })).toThrow(/channels/);
    expect(() => applyRandAugment(new Uint8Array(11), 2, 2, 3, d, { fill: FILL })).toThrow(/expected 2x2x3/);
  });
});
