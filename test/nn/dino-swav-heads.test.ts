import { Graph } from '../../src/graph';
import { Rng } from '../../src/data/rng';
import { initParameters } from '../../src/nn';
import { DinoProjectionHead, WeightNormLinear } from '../../src/nn/dino-head';
import { GraphForwardContext } from '../../src/nn/module';
import { SwavPrototypes, normalizePrototypeRows } from '../../src/nn/swav-prototypes';
import { checkGradient, randn, runGraph } from '../support/graph-harness';
import { maxAbsDiff, runModule } from './support';

describe('DINO projection head (lightly DINOProjectionHead)', () => {
  it('CIFAR-10 layout: Lin(512→2048, nb)–BN–GELU–Lin(2048→256) → L2 → weight-normalised Lin(256→2048, no bias); torch names', () => {
    const head = new DinoProjectionHead({ input: 512, hidden: 2048, bottleneck: 256, output: 2048, layers: 2, batchNorm: true, mlpInit: 'torch' });
    expect(head.child('layers').namedChildren().map(([n, m]) => `${n}:${m.constructor.name}`)).toEqual(['0:Linear', '1:BatchNorm1d', '2:GELU', '3:Linear']);
    expect(head.parameters('head').map((p) => `${p.name}[${p.shape.join(',')}]`)).toEqual([
      'head.layers.0.weight[2048,512]', 'head.layers.1.weight[2048]', 'head.layers.1.bias[2048]', 'head.layers.3.weight[256,2048]', 'head.layers.3.bias[256]',
      'head.last_layer.weight_g[2048,1]', 'head.last_layer.weight_v[2048,256]',
    ]);
    const init = new Map(head.parameters().map((p) => [p.name, p.init]));
    expect(init.get('last_layer.weight_g')).toEqual({ type: 'constant', value: 1 });
    expect(init.get('last_layer.weight_v')).toEqual({ type: 'kaimingUniform', fanIn: 256, a: Math.sqrt(5) });
    expect(init.get('layers.0.weight')).toEqual({ type: 'kaimingUniform', fanIn: 512, a: Math.sqrt(5) });
  });

  it('3-layer head with the truncated-normal init (given std, zero bias), no BN (ViT/R50 rows)', () => {
    const head = new DinoProjectionHead({ input: 384, hidden: 64, bottleneck: 16, output: 32, layers: 3, batchNorm: false, mlpInit: { truncNormalStd: 0.02 } });
    expect(head.parameters().map((p) => p.name)).toEqual([
      'layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias', 'layers.4.weight', 'layers.4.bias', 'last_layer.weight_g', 'last_layer.weight_v',
    ]);
    const byName = new Map(head.parameters().map((p) => [p.name, p.init]));
    expect(byName.get('layers.2.weight')).toEqual({ type: 'truncNormal', std: 0.02, lower: -2, upper: 2 });
    expect(byName.get('layers.2.bias')).toEqual({ type: 'constant', value: 0 });
    const old = new DinoProjectionHead({ input: 384, hidden: 64, bottleneck: 16, output: 32, layers: 3, batchNorm: false, mlpInit: { truncNormalStd: 0.2 } });
    expect(old.parameters().find((p) => p.name === 'layers.0.weight')!.init).toEqual({ type: 'truncNormal', std: 0.2, lower: -2, upper: 2 });
  });

  it('3-layer head with BN: separate BNs (today) or one BN shared by both hidden blocks, named once at index 1 (lightly before 2024-11-08)', () => {
    const opts = { input: 8, hidden: 6, bottleneck: 4, output: 5, layers: 3 as const, batchNorm: true, mlpInit: { truncNormalStd: 0.2 } };
    expect(new DinoProjectionHead(opts).parameters().map((p) => p.name)).toEqual([
      'layers.0.weight', 'layers.1.weight', 'layers.1.bias', 'layers.3.weight', 'layers.4.weight', 'layers.4.bias', 'layers.6.weight', 'layers.6.bias',
      'last_layer.weight_g', 'last_layer.weight_v',
    ]);
    const shared = new DinoProjectionHead({ ...opts, sharedBatchNorm: true });
    expect(shared.parameters().map((p) => p.name)).toEqual([
      'layers.0.weight', 'layers.1.weight', 'layers.1.bias', 'layers.3.weight', 'layers.6.weight', 'layers.6.bias', 'last_layer.weight_g', 'last_layer.weight_v',
    ]);
    expect(shared.buffers().map((b) => b.name)).toEqual(['layers.1.running_mean', 'layers.1.running_var']);
  });

  it('shared BN (training): both hidden blocks normalise with batch statistics through the same affine, and the running statistics update twice', async () => {
    const [n, d, h] = [6, 4, 3];
    const head = new DinoProjectionHead({ input: d, hidden: h, bottleneck: 2, output: 3, layers: 3, batchNorm: true, mlpInit: 'torch', sharedBatchNorm: true });
    const values = initParameters([...head.parameters(), ...head.buffers()], new Rng(4));
    values.set('layers.1.weight', Float32Array.from([1.5, 0.5, -1]));
    values.set('layers.1.bias', Float32Array.from([0.1, -0.2, 0.3]));
    const x = Float32Array.from(randn(n * d, 8));
    const run = await runModule(head, { shape: [n, d], data: x }, { training: true, values });
    const v = (name: string) => values.get(name)!;
    const lin = (inp: number[][], w: Float32Array, k: number) => inp.map((r) => Array.from({ length: h }, (_, o) => r.reduce((s, xv, j) => s + w[o * k + j] * xv, 0)));
    const bn = (a: number[][]) => {
      const mean = a[0].map((_, j) => a.reduce((s, r) => s + r[j], 0) / n);
      const varB = a[0].map((_, j) => a.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n);
      return { y: a.map((r) => r.map((t, j) => ((t - mean[j]) / Math.sqrt(varB[j] + 1e-5)) * v('layers.1.weight')[j] + v('layers.1.bias')[j])), mean, varU: varB.map((q) => (q * n) / (n - 1)) };
    };
    const gelu = (t: number) => 0.5 * t * (1 + erf(t / Math.SQRT2));
    const xs = Array.from({ length: n }, (_, i) => Array.from(x.slice(i * d, (i + 1) * d)));
    const b1 = bn(lin(xs, v('layers.0.weight'), d));
    const b2 = bn(lin(b1.y.map((r) => r.map(gelu)), v('layers.3.weight'), h));
    const mean1 = Array.from(v('layers.1.running_mean'), (m, j) => 0.9 * m + 0.1 * b1.mean[j]);
    const mean2 = mean1.map((m, j) => 0.9 * m + 0.1 * b2.mean[j]);
    expect(maxAbsDiff(run.buffers.get('layers.1.running_mean')!, mean2)).toBeLessThan(1e-5);
    const var2 = Array.from(v('layers.1.running_var'), (q, j) => 0.9 * (0.9 * q + 0.1 * b1.varU[j]) + 0.1 * b2.varU[j]);
    expect(maxAbsDiff(run.buffers.get('layers.1.running_var')!, var2)).toBeLessThan(1e-5);
    expect(run.dims).toEqual([n, 3]);
  });

  it('forward (eval) = g·v/‖v‖ applied to the L2-normalised MLP output, computed in JS', async () => {
    const [n, d, h, bott, out] = [4, 5, 6, 3, 7];
    const head = new DinoProjectionHead({ input: d, hidden: h, bottleneck: bott, output: out, layers: 2, batchNorm: false, mlpInit: 'torch' });
    expect(head.child('layers').namedChildren().map(([name]) => name)).toEqual(['0', '1', '2']);
    const values = initParameters(head.parameters(), new Rng(5));
    values.set('last_layer.weight_g', Float32Array.from({ length: out }, (_, i) => 0.5 + i * 0.25)); // g ≠ 1 to see it act
    const x = Float32Array.from(randn(n * d, 3));
    const run = await runModule(head, { shape: [n, d], data: x }, { training: false, values });
    const v = (name: string) => values.get(name)!;
    const expected: number[] = [];
    for (let i = 0; i < n; i++) {
      const hid = Array.from({ length: h }, (_, o) => {
        let s = v('layers.0.bias')[o];
        for (let k = 0; k < d; k++) s += v('layers.0.weight')[o * d + k] * x[i * d + k];
        return 0.5 * s * (1 + erf(s / Math.SQRT2));
      });
      const z = Array.from({ length: bott }, (_, o) => hid.reduce((s, hv, k) => s + v('layers.2.weight')[o * h + k] * hv, v('layers.2.bias')[o]));
      const zn = Math.max(Math.hypot(...z), 1e-12);
      for (let o = 0; o < out; o++) {
        const row = Array.from({ length: bott }, (_, k) => v('last_layer.weight_v')[o * bott + k]);
        const rn = Math.hypot(...row);
        expected.push(row.reduce((s, w, k) => s + (v('last_layer.weight_g')[o] * w / rn) * (z[k] / zn), 0));
      }
    }
    expect(maxAbsDiff(run.output, expected)).toBeLessThan(2e-6);
  });

  it('weight-normalised linear: gradients w.r.t. x, g and v match finite differences', async () => {
    const layer = new WeightNormLinear(3, 4);
    const res = await checkGradient((g, [x, wg, wv]) => {
      const ctx = new GraphForwardContext(g, layer, { training: true, source: (s) => (s.name === 'weight_g' ? wg : wv) });
      return layer.forward(ctx, x);
    }, [{ shape: [2, 3] }, { shape: [4, 1] }, { shape: [4, 3] }], { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });
});

describe('SwaV prototypes (lightly SwaVPrototypes)', () => {
  it('one Linear with bias under heads.0, torch default init', () => {
    const p = new SwavPrototypes(128, 512);
    expect(p.parameters('prototypes').map((s) => `${s.name}[${s.shape.join(',')}]`)).toEqual(['prototypes.heads.0.weight[512,128]', 'prototypes.heads.0.bias[512]']);
  });

  it('normalizePrototypeRows = F.normalize(w, dim=1): unit rows, directions kept, zero row stays 0', async () => {
    const g = new Graph('m');
    const w = g.input('w', [3, 4], 'float64');
    g.output('n', normalizePrototypeRows(w));
    const data = Float64Array.from([3, 0, 4, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    const out = (await runGraph(g, { w: { data, shape: [3, 4] } })).n.data as Float64Array;
    expect(Array.from(out)).toEqual([0.6, 0, 0.8, 0, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
  });
});

/** Abramowitz-Stegun 7.1.26 is too coarse here; a series/continued-fraction erf accurate to ~1e-12. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for large |x|.
  let f = t;
  let c = t;
  let d = 0;
  for (let n = 1; n < 100; n++) {
    const an = n / 2;
    d = t + an * d;
    d = 1 / d;
    c = t + an / c;
    f *= c * d;
  }
  return Math.sign(x) * (1 - Math.exp(-t * t) / (f * Math.sqrt(Math.PI)));
}
