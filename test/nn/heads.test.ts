import { Rng } from '../../src/data/rng';
import {
  barlowTwinsProjectionHead, byolPredictionHead, byolProjectionHead, initParameters, mocoProjectionHead, msnProjectionHead, nnclrPredictionHead,
  nnclrProjectionHead, projectionHead, simclrProjectionHead, simsiamPredictionHead, simsiamProjectionHead, smogProjectionHead, swavProjectionHead,
  ticoProjectionHead, vicregProjectionHead, vicreglLocalProjectionHead, type ProjectionHead, type Sequential,
} from '../../src/nn';
import { randn } from '../support/graph-harness';
import { maxAbsDiff, runModule } from './support';

/** Layer layout as "Lin(in→out[, nb])", "BN", "BN*", "LN", "ReLU", "GELU" from the declared names and shapes. */
function layout(head: ProjectionHead): string {
  const params = head.parameters();
  const buffers = head.buffers();
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const at = (suffix: string) => params.find((p) => p.name === `layers.${i}.${suffix}`);
    const weight = at('weight');
    const hasStats = buffers.some((b) => b.name === `layers.${i}.running_mean`);
    if (weight && weight.shape.length === 2) parts.push(`Lin(${weight.shape[1]}→${weight.shape[0]}${at('bias') ? '' : ', nb'})`);
    else if (hasStats) parts.push(weight ? 'BN' : 'BN*');
    else if (weight) parts.push('LN');
    else {
      if (i >= (head.child('layers') as Sequential).length) break;
      parts.push(head.child('layers').child(String(i)).constructor.name);
    }
  }
  return parts.join('–');
}

describe('head builder rule (docs/methods.md §4.0)', () => {
  it.each([
    ['SimCLR', simclrProjectionHead(512, 512, 128), 'Lin(512→512, nb)–BN–ReLU–Lin(512→128, nb)–BN'],
    ['MoCo', mocoProjectionHead(512, 512, 128), 'Lin(512→512)–ReLU–Lin(512→128)'],
    ['BYOL projection', byolProjectionHead(), 'Lin(2048→4096, nb)–BN–ReLU–Lin(4096→256)'],
    ['BYOL prediction', byolPredictionHead(), 'Lin(256→4096, nb)–BN–ReLU–Lin(4096→256)'],
    ['TiCo', ticoProjectionHead(), 'Lin(2048→4096, nb)–BN–ReLU–Lin(4096→256)'],
    ['SwaV', swavProjectionHead(), 'Lin(2048→2048, nb)–BN–ReLU–Lin(2048→128)'],
    ['NNCLR prediction', nnclrPredictionHead(), 'Lin(256→4096, nb)–BN–ReLU–Lin(4096→256)'],
    ['SimSiam prediction', simsiamPredictionHead(), 'Lin(2048→512, nb)–BN–ReLU–Lin(512→2048)'],
    ['BarlowTwins', barlowTwinsProjectionHead(), 'Lin(2048→8192, nb)–BN–ReLU–Lin(8192→8192, nb)–BN–ReLU–Lin(8192→8192)'],
    ['VICReg 2 layers', vicregProjectionHead(2048, 8192, 8192, 2), 'Lin(2048→8192, nb)–BN–ReLU–Lin(8192→8192)'],
    ['NNCLR projection', nnclrProjectionHead(), 'Lin(2048→2048, nb)–BN–ReLU–Lin(2048→2048, nb)–BN–ReLU–Lin(2048→256, nb)–BN'],
    ['SimSiam projection', simsiamProjectionHead(), 'Lin(2048→2048, nb)–BN–ReLU–Lin(2048→2048, nb)–BN–ReLU–Lin(2048→2048, nb)–BN*'],
    ['SMoG projection', smogProjectionHead(), 'Lin(2048→2048, nb)–BN–ReLU–Lin(2048→128, nb)–BN*'],
    ['MSN', msnProjectionHead(), 'Lin(768→2048, nb)–BN–GELU–Lin(2048→2048, nb)–BN–GELU–Lin(2048→256)'],
    ['VICRegL local', vicreglLocalProjectionHead(512, 128, 128), 'Lin(512→128, nb)–LN–ReLU–Lin(128→128, nb)–LN–ReLU–Lin(128→128)'],
  ])('%s', (_name, head, expected) => {
    expect(layout(head)).toBe(expected);
  });

  it('names follow lightly’s ProjectionHead: one Sequential `layers` with a running index', () => {
    const head = simclrProjectionHead(8, 6, 4);
    expect(head.parameters('projection_head').map((p) => p.name)).toEqual([
      'projection_head.layers.0.weight', 'projection_head.layers.1.weight', 'projection_head.layers.1.bias',
      'projection_head.layers.3.weight', 'projection_head.layers.4.weight', 'projection_head.layers.4.bias',
    ]);
    expect(head.buffers().map((b) => b.name)).toEqual(['layers.1.running_mean', 'layers.1.running_var', 'layers.4.running_mean', 'layers.4.running_var']);
  });

  it('an explicit bias overrides the rule; mismatched blocks are rejected', () => {
    expect(layout(projectionHead([{ in: 4, out: 3, norm: 'batch', act: 'relu', bias: true }]))).toBe('Lin(4→3)–BN–ReLU');
    expect(() => projectionHead([{ in: 4, out: 3 }, { in: 5, out: 2 }])).toThrow(/block 1 takes 5 features but block 0 gives 3/);
  });

  it('forward (eval) equals Linear → BN(running stats) → ReLU → Linear computed in JS', async () => {
    const head = byolProjectionHead(5, 4, 3);
    const [n, d] = [6, 5];
    const x = Float32Array.from(randn(n * d, 9));
    const values = initParameters([...head.parameters(), ...head.buffers()], new Rng(3));
    values.set('layers.1.running_mean', Float32Array.from([0.1, -0.2, 0.3, 0]));
    values.set('layers.1.running_var', Float32Array.from([1.5, 0.5, 2, 1]));
    const run = await runModule(head, { shape: [n, d], data: x }, { training: false, values });
    expect(run.dims).toEqual([n, 3]);
    const v = (name: string) => values.get(name)!;
    const expected: number[] = [];
    for (let i = 0; i < n; i++) {
      const h = [0, 1, 2, 3].map((o) => {
        let s = 0;
        for (let k = 0; k < d; k++) s += v('layers.0.weight')[o * d + k] * x[i * d + k];
        const bn = (s - v('layers.1.running_mean')[o]) / Math.sqrt(v('layers.1.running_var')[o] + 1e-5) * v('layers.1.weight')[o] + v('layers.1.bias')[o];
        return Math.max(bn, 0);
      });
      for (let o = 0; o < 3; o++) expected.push(v('layers.3.bias')[o] + h.reduce((s, hv, k) => s + v('layers.3.weight')[o * 4 + k] * hv, 0));
    }
    expect(maxAbsDiff(run.output, expected)).toBeLessThan(1e-5);
  });
});
