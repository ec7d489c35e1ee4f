/**
 * Micro-benchmark of the conv gradient formulations on ResNet-18-CIFAR layer shapes (batch 128).
 * Not part of the test suite; run with
 *   npx jest --testMatch '**\/test/graph/conv-grad.perf.ts' --testTimeout 600000
 * Prints the fastest session.run time of each formulation (2 intra-op threads, CPU EP).
 */
import * as ort from 'onnxruntime-node';
import { Graph, add, conv2d, grad, pad, reduceSum, reshape, setConvWeightGradLayout, slice, toOnnx, transpose, unsqueeze, type Tensor, type WeightGradLayout } from '../../src/graph';

interface Layer { name: string; cin: number; cout: number; hw: number; k: number; stride: number }
const layers: Layer[] = [
  { name: 'layer1 3x3 64->64 32x32 s1', cin: 64, cout: 64, hw: 32, k: 3, stride: 1 },
  { name: 'layer2.0 3x3 64->128 32->16 s2', cin: 64, cout: 128, hw: 32, k: 3, stride: 2 },
  { name: 'layer2 3x3 128->128 16x16 s1', cin: 128, cout: 128, hw: 16, k: 3, stride: 1 },
  { name: 'layer3 3x3 256->256 8x8 s1', cin: 256, cout: 256, hw: 8, k: 3, stride: 1 },
  { name: 'layer4 3x3 512->512 4x4 s1', cin: 512, cout: 512, hw: 4, k: 3, stride: 1 },
  { name: 'shortcut 1x1 64->128 32->16 s2', cin: 64, cout: 128, hw: 32, k: 1, stride: 2 },
];
const N = 128;
const REPS = Number(process.env.REPS ?? 3);

function inputs(g: Graph, l: Layer) {
  const pd = (l.k - 1) / 2;
  const x = g.input('x', [N, l.cin, l.hw, l.hw]);
  const w = g.input('w', [l.cout, l.cin, l.k, l.k]);
  const ho = Math.floor((l.hw + 2 * pd - l.k) / l.stride) + 1;
  const gy = g.input('gy', [N, l.cout, ho, ho]);
  return { x, w, gy, pd };
}

/** dL/dx for stride > 1 by inserting zeros between g's pixels, then a stride-1 flipped conv. */
function zeroInsertionInputGrad(gy: Tensor, w: Tensor, l: Layer, pd: number): Tensor {
  const s = l.stride;
  let d = gy;
  for (const axis of [2, 3]) {
    const u = unsqueeze(d, axis + 1);
    const pads = u.shape.map(() => [0, 0] as [number, number]);
    pads[axis + 1] = [0, s - 1];
    const merged = reshape(pad(u, pads), d.shape.map((v, i) => (i === axis ? (v as number) * s : v)));
    d = slice(merged, [0], [((d.shape[axis] as number) - 1) * s + 1], [axis]);
  }
  const wf = slice(transpose(w, [1, 0, 2, 3]), [-1, -1], [-l.k - 1, -l.k - 1], [2, 3], [-1, -1]);
  const reach = l.k - 1;
  const extra = l.hw - (((gy.shape[2] as number) - 1) * s - 2 * pd + reach + 1);
  return conv2d(d, wf, undefined, { pad: [reach - pd, reach - pd, reach - pd + extra, reach - pd + extra] });
}

type Variant = { name: string; build: (g: Graph, l: Layer) => Tensor };
const variants: Variant[] = [
  { name: 'forward Conv', build: (g, l) => { const { x, w, pd } = inputs(g, l); return conv2d(x, w, undefined, { stride: l.stride, pad: pd }); } },
  ...(['gemm', 'batched', 'auto'] as WeightGradLayout[]).map((layout): Variant => ({
    name: `dW im2col ${layout}`,
    build: (g, l) => {
      const { x, w, gy, pd } = inputs(g, l);
      const prev = setConvWeightGradLayout(layout);
      try {
        return grad(conv2d(x, w, undefined, { stride: l.stride, pad: pd }), [w], { seed: gy })[0];
      } finally {
        setConvWeightGradLayout(prev);
      }
    },
  })),
  { name: 'dX (flipped Conv / ConvTranspose)', build: (g, l) => { const { x, w, gy, pd } = inputs(g, l); return grad(conv2d(x, w, undefined, { stride: l.stride, pad: pd }), [x], { seed: gy })[0]; } },
  {
    name: 'fwd+dX+dW',
    build: (g, l) => {
      const { x, w, gy, pd } = inputs(g, l);
      const y = conv2d(x, w, undefined, { stride: l.stride, pad: pd });
      const [dx, dw] = grad(y, [x, w], { seed: gy });
      return add(add(reduceSum(y), reduceSum(dx)), reduceSum(dw));
    },
  },
  { name: 'dX zero-insertion + Conv', build: (g, l) => { const { w, gy, pd } = inputs(g, l); return l.stride === 1 ? gy : zeroInsertionInputGrad(gy, w, l, pd); } },
];

interface Prepared { name: string; session: ort.InferenceSession; feeds: Record<string, ort.Tensor>; times: number[] }

async function prepare(v: Variant, l: Layer): Promise<Prepared | null> {
  const g = new Graph('bench');
  const out = v.build(g, l);
  if (out.name === 'gy') return null;
  g.output('out', out);
  const session = await ort.InferenceSession.create(toOnnx(g), { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of g.inputs) {
    const dims = t.shape as number[];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() - 0.5);
    feeds[t.name] = new ort.Tensor('float32', data, dims);
  }
  await session.run(feeds);
  return { name: v.name, session, feeds, times: [] };
}

// The machine is shared: variants run round-robin and the minimum is reported, the figure least
// disturbed by other processes.
it('times conv gradient formulations', async () => {
  const lines: string[] = [];
  for (const l of layers.filter((x) => !process.env.LAYERS || x.name.includes(process.env.LAYERS))) {
    const prepared = (await Promise.all(variants.filter((v) => !process.env.ONLY || v.name.includes(process.env.ONLY)).map((v) => prepare(v, l)))).filter((p): p is Prepared => p !== null);
    for (let r = 0; r < REPS; r++) {
      for (const p of prepared) {
        const t0 = performance.now();
        await p.session.run(p.feeds);
        p.times.push(performance.now() - t0);
      }
    }
    lines.push(`${l.name}: ${prepared.map((p) => `${p.name} ${Math.min(...p.times).toFixed(0)} ms`).join(' | ')}`);
    await Promise.all(prepared.map((p) => p.session.release()));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
});
