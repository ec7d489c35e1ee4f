import { Rng } from '../../src/data/rng';
import { UserError } from '../../src/errors';
import { Graph, type Tensor } from '../../src/graph';
import { GraphForwardContext, TransformerBlock, createBackbone, initParameters, type Module, type VisionTransformer } from '../../src/nn';
import { randn, runSession, sessionFor } from '../support/graph-harness';
import { maxAbsDiff, runModule } from './support';

const shapeOf = (m: Module, name: string) => [...m.parameters(), ...m.buffers()].find((p) => p.name === name)?.shape;

/** timm ViT parameter count: per block 2 LNs, qkv, proj, fc1, fc2 (all with bias). */
function vitParams(d: number, depth: number, patch: number, tokens: number, learnedPos: boolean): number {
  const block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
  return depth * block + d /* cls */ + (learnedPos ? (tokens + 1) * d : 0) + (3 * patch * patch * d + d) + 2 * d;
}

describe('parameter counts at width 1 (without classifier)', () => {
  it.each([
    ['resnet18-cifar', {}, 11_168_832, 512],
    ['resnet18', {}, 11_176_512, 512],
    ['resnet50', {}, 23_508_032, 2048],
    ['vit-s16', { posEmbed: 'learned' as const }, vitParams(384, 12, 16, 196, true), 384],
    ['vit-s16', {}, vitParams(384, 12, 16, 196, false), 384],
    ['vit-b16', { posEmbed: 'learned' as const }, vitParams(768, 12, 16, 196, true), 768],
    ['vit-b32', {}, vitParams(768, 12, 32, 49, false), 768],
  ])('%s %j: %d', (id, opts, count, dim) => {
    const b = createBackbone(id, opts);
    expect(b.module.parameterCount()).toBe(count);
    expect(b.featureDim).toBe(dim);
  });

  it('vit-s16 with a learned position embedding has timm’s 21 665 664 parameters', () => {
    expect(vitParams(384, 12, 16, 196, true)).toBe(21_665_664);
  });
});

describe('parameter names (torch / torchvision / timm)', () => {
  it('resnet18-cifar: conv1, bn1, layerK.B.{conv1,bn1,conv2,bn2,shortcut.0,shortcut.1}, frameworks’ default init', () => {
    const { module } = createBackbone('resnet18-cifar');
    const names = module.parameters().map((p) => p.name);
    expect(names.slice(0, 9)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.conv2.weight', 'layer1.0.bn2.weight', 'layer1.0.bn2.bias']);
    expect(names.filter((n) => n.includes('shortcut'))).toEqual(['layer2', 'layer3', 'layer4'].flatMap((l) => [`${l}.0.shortcut.0.weight`, `${l}.0.shortcut.1.weight`, `${l}.0.shortcut.1.bias`]));
    expect(shapeOf(module, 'conv1.weight')).toEqual([64, 3, 3, 3]);
    expect(shapeOf(module, 'layer4.1.bn2.running_var')).toEqual([512]);
    expect(module.parameters().find((p) => p.name === 'layer3.0.conv1.weight')!.init).toEqual({ type: 'kaimingUniform', fanIn: 128 * 9, a: Math.sqrt(5) });
  });

  it('resnet18 / resnet50: torchvision names, downsample only where needed, kaiming-normal fan-out convs', () => {
    const r18 = createBackbone('resnet18').module;
    expect(shapeOf(r18, 'conv1.weight')).toEqual([64, 3, 7, 7]);
    expect(shapeOf(r18, 'layer1.0.downsample.0.weight')).toBeUndefined();
    expect(shapeOf(r18, 'layer2.0.downsample.0.weight')).toEqual([128, 64, 1, 1]);
    expect(shapeOf(r18, 'layer2.0.downsample.1.running_mean')).toEqual([128]);
    expect(r18.parameters().find((p) => p.name === 'layer1.1.conv2.weight')!.init).toEqual({ type: 'kaimingNormal', fanOut: 64 * 9 });
    const r50 = createBackbone('resnet50').module;
    expect(shapeOf(r50, 'layer1.0.downsample.0.weight')).toEqual([256, 64, 1, 1]);
    expect(shapeOf(r50, 'layer2.0.conv2.weight')).toEqual([128, 128, 3, 3]);
    expect(shapeOf(r50, 'layer4.2.conv3.weight')).toEqual([2048, 512, 1, 1]);
    expect(shapeOf(r50, 'layer4.2.bn3.bias')).toEqual([2048]);
    expect(r50.parameters().filter((p) => p.kind === 'norm')).toHaveLength(2 * 53);
  });

  it('ViT: timm names; sin-cos pos_embed is a buffer, learned one a parameter', () => {
    const vit = createBackbone('vit-s16').module;
    const names = vit.parameters().map((p) => p.name);
    expect(names.slice(0, 5)).toEqual(['cls_token', 'patch_embed.proj.weight', 'patch_embed.proj.bias', 'blocks.0.norm1.weight', 'blocks.0.norm1.bias']);
    expect(names.slice(-6)).toEqual(['blocks.11.mlp.fc1.weight', 'blocks.11.mlp.fc1.bias', 'blocks.11.mlp.fc2.weight', 'blocks.11.mlp.fc2.bias', 'norm.weight', 'norm.bias']);
    expect(shapeOf(vit, 'blocks.3.attn.qkv.weight')).toEqual([1152, 384]);
    expect(vit.buffers().map((b) => [b.name, b.shape])).toEqual([['pos_embed', [1, 197, 384]]]);
    const learned = createBackbone('vit-b32', { posEmbed: 'learned', imageSize: 128 }).module;
    expect(learned.parameters()[1].name).toBe('pos_embed');
    expect(shapeOf(learned, 'pos_embed')).toEqual([1, 17, 768]);
    expect(learned.parameters().find((p) => p.name === 'blocks.0.attn.proj.bias')).toMatchObject({ kind: 'bias', decay: false });
  });

  it('TransformerBlock (an MAE decoder block) has timm block names', () => {
    const block = new TransformerBlock(512, 16, 2048);
    expect(block.parameters('decoder_blocks.0').map((p) => p.name)).toEqual([
      'norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias',
      'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
    ].map((n) => `decoder_blocks.0.${n}`));
    expect(block.parameters().find((p) => p.name === 'attn.qkv.weight')!.init).toEqual({ type: 'xavierUniform', fanIn: 512, fanOut: 1536 });
  });

  it('splitBn swaps every BN for SplitBatchNorm with [C·k] running statistics', () => {
    const { module } = createBackbone('resnet18-cifar', { splitBn: 8, width: 0.125 });
    expect(shapeOf(module, 'bn1.running_mean')).toEqual([64]);
    expect(shapeOf(module, 'layer2.0.shortcut.1.running_var')).toEqual([16 * 8]);
    expect(shapeOf(module, 'layer2.0.shortcut.1.weight')).toEqual([16]);
  });
});

describe('output shapes', () => {
  const build = (id: string, opts: object, input: number[]) => {
    const b = createBackbone(id, opts);
    const g = new Graph(id);
    const y = b.module.forward(new GraphForwardContext(g, b.module, { training: true }), g.input('images', input));
    return { y, featureDim: b.featureDim };
  };
  it.each([
    ['resnet18-cifar', { width: 0.25 }, [4, 3, 32, 32], [4, 128]],
    ['resnet18-cifar', { width: 0.3 }, [2, 1, 28, 28], [2, 152]],
    ['resnet18', { width: 0.125 }, [2, 3, 64, 64], [2, 64]],
    ['resnet50', { width: 1 / 16 }, [2, 3, 64, 64], [2, 128]],
    ['vit-s16', { width: 1 / 6, imageSize: 64 }, [2, 3, 64, 64], [2, 64]],
    ['vit-b32', { width: 0.25, imageSize: 96, depth: 2 }, [3, 3, 96, 96], [3, 192]],
  ])('%s %j on %j → %j', (id, opts, input, out) => {
    const inChannels = input[1];
    const { y, featureDim } = build(id, { ...opts, inChannels }, input);
    expect(y.shape).toEqual(out);
    expect(featureDim).toBe(out[1]);
  });

  it('resnet featureMap keeps the layer4 map (VICRegL)', () => {
    const b = createBackbone('resnet18', { width: 0.125 });
    const g = new Graph('r18');
    const map = (b.module as unknown as { featureMap(c: GraphForwardContext, x: Tensor): Tensor }).featureMap(new GraphForwardContext(g, b.module, { training: false }), g.input('x', [2, 3, 128, 128]));
    expect(map.shape).toEqual([2, 64, 4, 4]);
  });

  it('user errors name the backbone and what is allowed', () => {
    expect(() => createBackbone('resnet34')).toThrow(UserError);
    expect(() => createBackbone('resnet34')).toThrow(/backbone 'resnet34' is unknown; allowed: resnet18-cifar, resnet18, resnet50, vit-s16, vit-b16, vit-b32/);
    expect(() => createBackbone('vit-s16', { splitBn: 8 })).toThrow(/splitBn applies to ResNets only/);
    expect(() => createBackbone('vit-b32', { imageSize: 100 })).toThrow(/backbone 'vit-b32': image size 100 \(augmentation.input_size\) must be a positive multiple of the patch size 32/);
    expect(() => createBackbone('resnet18', { width: 0 })).toThrow(/width 0 must be a number > 0/);
  });
});

describe('resnet18-cifar at width 0.125 through ORT', () => {
  const { module } = createBackbone('resnet18-cifar', { width: 0.125 });
  const x = Float32Array.from(randn(2 * 3 * 32 * 32, 77));
  const specs = [...module.parameters(), ...module.buffers()];
  const values = initParameters(specs, new Rng(2024));
  // Non-trivial running statistics so eval mode is not an identity-like normalisation.
  for (const s of module.buffers()) values.set(s.name, Float32Array.from(randn(s.shape[0], s.name.length, 0.1), (v) => (s.name.endsWith('running_var') ? 1 + Math.abs(v) : v)));

  let train: Awaited<ReturnType<typeof runModule>>;
  let evalRun: Awaited<ReturnType<typeof runModule>>;
  beforeAll(async () => {
    train = await runModule(module, { shape: [2, 3, 32, 32], data: x }, { training: true, values });
    evalRun = await runModule(module, { shape: [2, 3, 32, 32], data: x }, { training: false, values });
  });

  it('gives finite [2, 64] features in both modes and updates all 40 BN buffers in training', () => {
    expect(train.dims).toEqual([2, 64]);
    expect(evalRun.dims).toEqual([2, 64]);
    expect(Array.from(train.output).every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(train.output, evalRun.output)).toBeGreaterThan(1e-3);
    expect(train.buffers.size).toBe(40);
    expect(evalRun.buffers.size).toBe(0);
  });
});

describe('ViT token paths (tiny: 1 head of 64, depth 2, 32 px, patch 16 → 4 patches)', () => {
  const b = createBackbone('vit-s16', { width: 1 / 6, imageSize: 32, depth: 2 });
  const vit = b.module as VisionTransformer;
  const images = Float32Array.from(randn(2 * 3 * 32 * 32, 5));
  const values = initParameters([...vit.parameters(), ...vit.buffers()], new Rng(8));

  const runTokens = async (data: Float32Array, opts: { keep?: number[][]; mask?: number[][] }) => {
    let maskToken: Float32Array | null = null;
    return runModule(vit, { shape: [2, 3, 32, 32], data }, {
      training: true,
      values,
      forward: (ctx, x) => {
        const g = ctx.graph;
        const keepIndices = opts.keep ? g.constant(BigInt64Array.from(opts.keep.flat().map(BigInt)), [2, opts.keep[0].length], 'int64') : undefined;
        const maskIndices = opts.mask ? g.constant(BigInt64Array.from(opts.mask.flat().map(BigInt)), [2, opts.mask[0].length], 'int64') : undefined;
        maskToken = Float32Array.from(randn(64, 3));
        const mt = opts.mask ? g.constant(maskToken, [1, 1, 64]) : undefined;
        return vit.forwardTokens(ctx, x, { keepIndices, maskIndices, maskToken: mt }).tokens;
      },
    });
  };

  it('class token output is token 0 of the sequence after the final LN', async () => {
    const tokens = await runTokens(images, {});
    expect(tokens.dims).toEqual([2, 5, 64]);
    const cls = await runModule(vit, { shape: [2, 3, 32, 32], data: images }, { training: true, values });
    expect(cls.dims).toEqual([2, 64]);
    for (let s = 0; s < 2; s++) expect(maxAbsDiff(cls.output.slice(s * 64, s * 64 + 64), tokens.output.slice(s * 5 * 64, s * 5 * 64 + 64))).toBeLessThan(1e-6);
  });

  it('keepIndices gather tokens after the position embedding: a permuted keep set permutes the outputs', async () => {
    const full = await runTokens(images, {});
    const kept = await runTokens(images, { keep: [[0, 3, 1], [0, 2, 4]] });
    const reordered = await runTokens(images, { keep: [[1, 0, 3], [4, 0, 2]] });
    expect(kept.dims).toEqual([2, 3, 64]);
    const tok = (r: { output: Float32Array }, s: number, t: number, len: number) => r.output.slice((s * len + t) * 64, (s * len + t + 1) * 64);
    expect(maxAbsDiff(tok(kept, 0, 1, 3), tok(reordered, 0, 2, 3))).toBeLessThan(1e-5);
    expect(maxAbsDiff(tok(kept, 1, 2, 3), tok(reordered, 1, 0, 3))).toBeLessThan(1e-5);
    // Dropping tokens changes what attention sees.
    expect(maxAbsDiff(tok(kept, 0, 0, 3), tok(full, 0, 0, 5))).toBeGreaterThan(1e-4);
  });

  it('maskIndices replace patch tokens by the mask token: with every patch masked the image no longer matters', async () => {
    const allPatches = { mask: [[1, 2, 3, 4], [4, 3, 2, 1]] };
    const other = Float32Array.from(randn(images.length, 6));
    const a = await runTokens(images, allPatches);
    const c = await runTokens(other, allPatches);
    expect(maxAbsDiff(a.output, c.output)).toBeLessThan(1e-5);
    const partly = await runTokens(images, { mask: [[1, 2], [3, 4]] });
    const partlyOther = await runTokens(other, { mask: [[1, 2], [3, 4]] });
    expect(maxAbsDiff(partly.output, partlyOther.output)).toBeGreaterThan(1e-3);
  });
});

describe('eval graphs with a symbolic batch (inference / export)', () => {
  it.each([
    ['resnet18-cifar', { width: 1 / 16 }, 32],
    ['resnet50', { width: 1 / 32 }, 32],
    ['vit-b32', { width: 1 / 12, imageSize: 64, depth: 1 }, 64],
  ])('%s %j runs batches of 1 and 3 from one model with weights as initializers', async (id, opts, size) => {
    const b = createBackbone(id, opts);
    const values = initParameters([...b.module.parameters(), ...b.module.buffers()], new Rng(4));
    const g = new Graph(id);
    const ctx = new GraphForwardContext(g, b.module, { training: false, source: (spec) => g.constant(values.get(spec.name)!, spec.shape, 'float32', spec.name) });
    g.output('features', b.module.forward(ctx, g.input('images', ['N', 3, size, size])));
    const session = await sessionFor(g);
    const images = Float32Array.from(randn(3 * 3 * size * size, 12));
    const three = await runSession(session, g, { images: { data: images, shape: [3, 3, size, size] } });
    const one = await runSession(session, g, { images: { data: images.slice(3 * size * size * 2), shape: [1, 3, size, size] } });
    expect(three.features.dims).toEqual([3, b.featureDim]);
    expect(maxAbsDiff((three.features.data as Float32Array).slice(2 * b.featureDim), one.features.data as Float32Array)).toBeLessThan(1e-5);
  });
});
