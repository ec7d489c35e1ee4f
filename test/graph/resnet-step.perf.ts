/**
 * Times one ResNet-18-CIFAR training step built directly on graph/ (forward with batch-norm
 * statistics, backward, SGD momentum in the graph), batch 128, 32x32 — the shape of DESIGN.md's
 * probe (ORT 3.52 s vs PyTorch 2.54 s there). Not part of the suite; run with
 *   npx jest --testMatch '**\/test/graph/resnet-step.perf.ts' --testTimeout 900000
 */
import * as ort from 'onnxruntime-node';
import { Graph, add, batchNormTrain, conv2d, crossEntropy, globalAvgPool, grad, linear, mul, relu, sub, toOnnx, type Tensor } from '../../src/graph';

const BATCH = Number(process.env.BATCH ?? 128);
const STEPS = Number(process.env.STEPS ?? 3);

function buildStep(): Graph {
  const g = new Graph('resnet18-cifar-step');
  const x = g.input('images', [BATCH, 3, 32, 32]);
  const labels = g.input('labels', [BATCH], 'int64');
  const params: Tensor[] = [];
  const param = (name: string, shape: number[]) => {
    const t = g.input(name, shape);
    params.push(t);
    return t;
  };
  const convBn = (name: string, h: Tensor, cin: number, cout: number, k: number, stride: number) => g.scope(name, () => {
    const y = conv2d(h, param(`${name}.conv.weight`, [cout, cin, k, k]), undefined, { stride, pad: (k - 1) / 2 });
    return batchNormTrain(y, param(`${name}.bn.weight`, [cout]), param(`${name}.bn.bias`, [cout])).y;
  });
  const logits = g.scope('resnet18-cifar', () => {
    let h = relu(convBn('stem', x, 3, 64, 3, 1));
    let cin = 64;
    [64, 128, 256, 512].forEach((width, li) => {
      for (let b = 0; b < 2; b++) {
        const stride = b === 0 && li > 0 ? 2 : 1;
        const name = `layer${li + 1}.${b}`;
        const out = convBn(`${name}.b`, relu(convBn(`${name}.a`, h, cin, width, 3, stride)), width, width, 3, 1);
        const shortcut = stride !== 1 || cin !== width ? convBn(`${name}.downsample`, h, cin, width, 1, stride) : h;
        h = relu(add(out, shortcut));
        cin = width;
      }
    });
    return linear(globalAvgPool(h), param('fc.weight', [10, 512]), param('fc.bias', [10]));
  });
  const loss = crossEntropy(logits, labels);
  const grads = grad(loss, params);
  g.output('loss', loss);
  params.forEach((p, i) => {
    const m = g.input(`${p.name}.momentum`, p.shape);
    const m2 = add(mul(m, 0.9), grads[i]);
    g.output(`${p.name}.next`, sub(p, mul(m2, 0.1)));
    g.output(`${p.name}.momentum.next`, m2);
  });
  return g;
}

async function prepare(label: string, sessionOptions: ort.InferenceSession.SessionOptions = {}) {
  const t0 = performance.now();
  const g = buildStep();
  const bytes = toOnnx(g);
  const buildMs = performance.now() - t0;
  // PROFILE=1 writes ORT's per-node profile (JSON) to /tmp/resnet-step-*.json.
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    enableProfiling: process.env.PROFILE === '1',
    profileFilePrefix: `/tmp/resnet-step-${label}`,
    ...sessionOptions,
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of g.inputs) {
    const dims = t.shape as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    const isGamma = t.name.endsWith('bn.weight');
    feeds[t.name] = t.dtype === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)), dims)
      : new ort.Tensor('float32', new Float32Array(n).map(() => (isGamma ? 1 : (Math.random() - 0.5) * 0.1)), dims);
  }
  await session.run(feeds);
  return { label, g, bytes, buildMs, session, feeds, times: [] as number[] };
}

// Variants run alternately (the machine is shared) and report median and minimum.
it('times a ResNet-18-CIFAR training step', async () => {
  const variants = [
    await prepare('sequential executor'),
    await prepare('parallel executor', { executionMode: 'parallel', interOpNumThreads: 2, intraOpNumThreads: 2 }),
  ].filter((v) => !process.env.ONLY || v.label.includes(process.env.ONLY));
  for (let s = 0; s < STEPS; s++) {
    for (const v of variants) {
      const t1 = performance.now();
      await v.session.run(v.feeds);
      v.times.push(performance.now() - t1);
    }
  }
  for (const v of variants) {
    if (process.env.PROFILE === '1') v.session.endProfiling();
    const t = [...v.times].sort((a, b) => a - b);
    process.stdout.write(`${v.label}: graph nodes ${v.g.nodes.length}, model ${(v.bytes.length / 1e3).toFixed(0)} kB, build+serialise ${v.buildMs.toFixed(0)} ms; step batch ${BATCH}: median ${t[Math.floor(t.length / 2)].toFixed(0)} ms, min ${t[0].toFixed(0)} ms\n`);
  }
});
