import { conv2d, setConvWeightGradLayout, type Conv2dOptions, type WeightGradLayout } from '../../src/graph';
import { checkGradient } from '../support/graph-harness';

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

describe.each<WeightGradLayout>(['gemm', 'batched'])('conv2d gradients match finite differences (weight-grad layout %s)', (layout) => {
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
