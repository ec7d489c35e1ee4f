/**
 * MAE, SimMIM, MSN and PMSN train real steps: the tiny ViT of vit-tiny.yaml (one block, 64-d,
 * patch 7) on the embedded Fashion-MNIST sample through the real pretraining (in-graph
 * augmentation of the uint8 images, masks drawn by the method, AdamW), and the loss goes down.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pretraining } from '../../src/runner/pretrain';
import { VIT_TINY, vitConfig } from './vit-support';

const MSN_SMALL = ['method.params.prototypes=32', 'method.params.projection_hidden_dim=32', 'method.params.projection_out_dim=16',
  'augmentation.preset=msn', 'augmentation.overrides={focal_size: 14, n_focal_views: 2}'];
const METHODS: [string, string[]][] = [
  ['mae', ['method.params.decoder_dim=32', 'method.params.decoder_heads=2']],
  ['simmim', ['augmentation.preset=simclr']],
  ['msn', MSN_SMALL],
  ['pmsn', MSN_SMALL],
];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-vit-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('masked-image methods train on real images', () => {
  test.each(METHODS)('%s: 30 steps on embedded Fashion-MNIST lower the loss', async (name, set) => {
    expect(fs.existsSync(VIT_TINY)).toBe(true);
    const config = vitConfig([`method.name=${name}`, 'train.epochs=3', ...set]);
    const t = await Pretraining.create(config, path.join(tmp, name), { dataSeed: config.seed, threads: 1, log: () => {} });
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push((await t.runStep()).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-8))).toBeLessThan(mean(losses.slice(0, 8)));
  });
});
