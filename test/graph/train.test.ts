import { Graph, batchNormTrain, conv2d, crossEntropy, globalAvgPool, grad, linear, maxPool2d, relu } from '../../src/graph';
import { randn, runSession, sessionFor, type Feed } from '../support/graph-harness';

describe('a tiny conv net trains on a fixed batch', () => {
  it('conv-bn-relu-maxpool-avgpool-linear-CE loss falls over 20 SGD steps', async () => {
    const [n, c, hw, classes] = [8, 3, 8, 4];
    const g = new Graph('tiny-net');
    const x = g.input('x', [n, c, hw, hw]);
    const labels = g.input('labels', [n], 'int64');
    const shapes: Record<string, number[]> = { 'conv.weight': [8, c, 3, 3], 'conv.bias': [8], 'bn.weight': [8], 'bn.bias': [8], 'fc.weight': [classes, 8], 'fc.bias': [classes] };
    const p = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, g.input(k, s)]));
    const logits = g.scope('tiny-net', () => {
      const h = g.scope('conv', () => conv2d(x, p['conv.weight'], p['conv.bias'], { pad: 1 }));
      const bn = g.scope('bn', () => batchNormTrain(h, p['bn.weight'], p['bn.bias']));
      const pooled = globalAvgPool(maxPool2d(relu(bn.y), 3, 2, 1));
      return g.scope('fc', () => linear(pooled, p['fc.weight'], p['fc.bias']));
    });
    const loss = crossEntropy(logits, labels);
    const names = Object.keys(shapes);
    const grads = grad(loss, names.map((k) => p[k]));
    g.output('loss', loss);
    names.forEach((k, i) => g.output(`grad.${k}`, grads[i]));
    const session = await sessionFor(g);

    const params: Record<string, Float32Array> = {};
    names.forEach((k, i) => {
      const size = shapes[k].reduce((a, b) => a * b, 1);
      params[k] = k === 'bn.weight' ? new Float32Array(size).fill(1) : Float32Array.from(randn(size, 100 + i, k.endsWith('bias') ? 0 : 0.3));
    });
    const feeds: Record<string, Feed> = {
      x: { data: Float32Array.from(randn(n * c * hw * hw, 7)), shape: [n, c, hw, hw] },
      labels: { data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % classes)), shape: [n] },
    };
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      for (const k of names) feeds[k] = { data: params[k], shape: shapes[k] };
      const out = await runSession(session, g, feeds);
      losses.push(Number(out.loss.data[0]));
      for (const k of names) {
        const gk = out[`grad.${k}`].data as Float32Array;
        params[k] = params[k].map((v, j) => v - 0.5 * gk[j]);
      }
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[0]).toBeGreaterThan(1);
    expect(losses[19]).toBeLessThan(0.6 * losses[0]);
  });
});
