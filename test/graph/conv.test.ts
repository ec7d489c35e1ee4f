import { Graph, conv2d, nchwcBlockSizeOfThisCpu, setConvNchwcBlockSize, setConvWeightGradLayout, toModelProto, type Conv2dOptions, type WeightGradLayout } from '../../src/graph';
import { checkGradient, runGraph } from '../support/graph-harness';

// [name, input shape, weight shape, options, bias]
type ConvCase = [string, number[], number[], Conv2dOptions, boolean];
const cases: ConvCase[] = [
  ['3x3 stride 1 pad 1 with bias', [2, 3, 5, 5], [4, 3, 3, 3], { pad: 1 }, true],
  ['3x3 stride 2 pad 1 (downsample, odd input)', [2, 3, 7, 7], [4, 3, 3, 3], { stride: 2, pad: 1 }, false],
  ['3x3 stride 2 pad 1, even input (output_padding)', [1, 2, 6, 6], [3, 2, 3, 3], { stride: 2, pad: 1 }, true],
  ['1x1 stride 1', [2, 4, 3, 3], [5, 4, 1, 1], {}, false],
  ['1x1 stride 2 (shortcut)', [2, 4, 5, 5], [6, 4, 1, 1], { stride: 2 }, false],
  ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { pad: 1, groups: 2 }, true],
  ['depthwise', [2, 3, 5, 5], [3, 1, 3, 3], { pad: 1, groups: 3 }, false],
  ['depthwise stride 2, channel multiplier 2', [1, 2, 6, 6], [4, 1, 3, 3], { stride: 2, pad: 1, groups: 2 }, false],
  ['dilation 2', [1, 2, 7, 7], [3, 2, 3, 3], { pad: 2, dilation: 2 }, false],
  ['asymmetric pad, rectangular kernel', [1, 2, 5, 6], [3, 2, 2, 3], { pad: [0, 1, 1, 2] }, true],
  ['7x7 stride 2 pad 3 (ImageNet stem)', [1, 3, 9, 9], [4, 3, 7, 7], { stride: 2, pad: 3 }, false],
  ['1x1 with pad 1 (pad beyond the kernel reach)', [1, 2, 3, 3], [2, 2, 1, 1], { pad: 1 }, true],
  ['no pad, stride 3', [1, 2, 8, 8], [2, 2, 3, 3], { stride: 3 }, false],
];

// Weight-gradient formulations (the forward is always ONNX Conv).
const formulations: [string, WeightGradLayout][] = [
  ['im2col gemm weight grad', 'gemm'],
  ['im2col batched weight grad', 'batched'],
  ['one Gemm per kernel tap weight grad', 'taps'],
  ['channels-last per-tap weight grad', 'channels-last'],
  ['auto weight grad', 'auto'],
];

describe.each(formulations)('conv2d gradients match finite differences (%s)', (_name, layout) => {
  let previous: WeightGradLayout;
  beforeAll(() => {
    previous = setConvWeightGradLayout(layout);
  });
  afterAll(() => {
    setConvWeightGradLayout(previous);
  });

  // ORT's Conv is float32-only on CPU. The loss is bilinear in (x, w), so central differences have
  // no truncation error; eps 1e-2 keeps float32 rounding small. Tolerance 1e-3.
  it.each(cases)('%s', async (_name, xShape, wShape, opts, bias) => {
    const inputs = [{ shape: xShape, dtype: 'float32' as const }, { shape: wShape, dtype: 'float32' as const }];
    if (bias) inputs.push({ shape: [wShape[0]], dtype: 'float32' });
    const res = await checkGradient((_g, [x, w, b]) => conv2d(x, w, b, opts), inputs, { eps: 1e-2, directions: 2 });
    expect(res.maxRelErr).toBeLessThan(1e-3);
  });
});

// The forward never materialises im2col columns: kept for the weight gradient they dominated peak
// memory (SimCLR R18 step at width 64, batch 128: peak RSS 3.50 -> 1.82 GB without them).
it('emits the forward as one ONNX Conv at every size, never im2col columns', () => {
  for (const [hw, c] of [[4, 512], [8, 256], [32, 16]]) {
    const g = new Graph('t');
    g.output('y', conv2d(g.input('x', [2, c, hw, hw]), g.input('w', [c, c, 3, 3]), undefined, { pad: 1 }));
    expect(toModelProto(g).graph!.node.map((n) => n.opType)).toEqual(['Conv']);
  }
});

describe('NCHWc conv emission (opt-in, block size of this CPU)', () => {
  const block = nchwcBlockSizeOfThisCpu();
  const itOnX86 = block > 0 ? it : it.skip;
  const nchwcCases: ConvCase[] = [
    ['3x3 stride 1 pad 1 with bias', [2, 16, 6, 6], [16, 16, 3, 3], { pad: 1 }, true],
    ['3x3 stride 2 pad 1, 16 -> 32 channels', [2, 16, 7, 7], [32, 16, 3, 3], { stride: 2, pad: 1 }, false],
    ['1x1 stride 2', [2, 16, 5, 5], [32, 16, 1, 1], { stride: 2 }, false],
  ];
  let previous: number;
  beforeAll(() => {
    previous = setConvNchwcBlockSize(block);
  });
  afterAll(() => {
    setConvNchwcBlockSize(previous);
  });

  itOnX86('emits ReorderInput / com.microsoft.nchwc Conv / ReorderOutput for channel multiples of the block only', () => {
    const domains = (c: number) => {
      const g = new Graph('t');
      g.output('y', conv2d(g.input('x', [1, c, 5, 5]), g.input('w', [c, c, 3, 3]), undefined, { pad: 1 }));
      const m = toModelProto(g);
      return [m.graph!.node.map((n) => `${n.domain}:${n.opType}`), m.opsetImport.map((o) => o.domain)];
    };
    const [nodes, imports] = domains(block);
    expect(nodes).toEqual(expect.arrayContaining(['com.microsoft.nchwc:ReorderInput', 'com.microsoft.nchwc:Conv', 'com.microsoft.nchwc:ReorderOutput']));
    expect(imports).toContain('com.microsoft.nchwc');
    const [plain, plainImports] = domains(block + 1);
    expect(plain).toEqual([':Conv']);
    expect(plainImports).toEqual(['']);
  });

  itOnX86.each(nchwcCases)('%s: gradients match finite differences', async (_name, xShape, wShape, opts, bias) => {
    const inputs = [{ shape: xShape, dtype: 'float32' as const }, { shape: wShape, dtype: 'float32' as const }];
    if (bias) inputs.push({ shape: [wShape[0]], dtype: 'float32' });
    const res = await checkGradient((_g, [x, w, b]) => conv2d(x, w, b, opts), inputs, { eps: 1e-2, directions: 2 });
    expect(res.maxRelErr).toBeLessThan(1e-3);
  });

  itOnX86('forward equals ONNX Conv to float32 rounding', async () => {
    const build = () => {
      const g = new Graph('t');
      g.output('y', conv2d(g.input('x', [2, 16, 6, 6]), g.input('w', [32, 16, 3, 3]), g.input('b', [32]), { pad: 1 }));
      return g;
    };
    const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
    const feeds = { x: { data: wave(2 * 16 * 36, 0.7), shape: [2, 16, 6, 6] }, w: { data: wave(32 * 144, 1.3), shape: [32, 16, 3, 3] }, b: { data: wave(32, 0.3), shape: [32] } };
    const nchwc = (await runGraph(build(), feeds)).y.data as Float32Array;
    setConvNchwcBlockSize(0);
    const plain = (await runGraph(build(), feeds)).y.data as Float32Array;
    setConvNchwcBlockSize(block);
    let worst = 0;
    for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(nchwc[i] - plain[i]) / (1 + Math.abs(plain[i])));
    expect(worst).toBeLessThan(1e-5);
    expect(nchwc.length).toBe(2 * 32 * 36);
  });
});
