/**
 * backbone.safetensors without PyTorch: the byte layout against a file written out by hand from the
 * format description, and the torch names / shapes / values torchStateDict gives each backbone.
 * (safetensors-torch.test.ts loads real files into torchvision / timm-named modules.)
 */
import { Rng } from '../../src/data/rng';
import { encodeSafetensors } from '../../src/engine/safetensors';
import { torchStateDict } from '../../src/engine/torch-state-dict';
import { createBackbone, initParameters } from '../../src/nn';

function bytesOf(...parts: (string | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'utf8')] : p)));
}

describe('encodeSafetensors', () => {
  it('writes the golden file: u64 LE header length, space-padded JSON header (metadata first), I64 before F32, then by name', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'b', shape: [2], data: Float32Array.of(1, -2) },
        { name: 'a.n', shape: [], data: BigInt64Array.of(7n) },
        { name: 'a', shape: [1, 1], data: Float32Array.of(0.5) },
        { name: '0', shape: [0], data: new Float32Array(0) },
      ],
      { z: 'last', arch: 'x' },
    );
    const header = '{"__metadata__":{"arch":"x","z":"last"},'
      + '"a.n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},'
      + '"0":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},'
      + '"a":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]},'
      + '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}';
    expect(header.length).toBe(258); // padded with 6 spaces to 264 = 33·8
    const expected = bytesOf(
      [8, 1, 0, 0, 0, 0, 0, 0], header, '      ', // 264 = 0x108
      [7, 0, 0, 0, 0, 0, 0, 0], // 7n
      [0x00, 0x00, 0x00, 0x3f], // 0.5f
      [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], // 1f, -2f
    );
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
  });

  it('no metadata: no __metadata__ entry; an already 8-aligned header gets no padding', () => {
    const bytes = encodeSafetensors([{ name: 'wxy', shape: [1], data: Float32Array.of(1) }]);
    const header = '{"wxy":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(header.length % 8).toBe(0);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(bytesOf([header.length, 0, 0, 0, 0, 0, 0, 0], header, [0, 0, 0x80, 0x3f])).toString('hex'));
  });

  it('rejects duplicate names, the reserved name and a size that does not fit the shape', () => {
    const t = { name: 'w', shape: [2], data: Float32Array.of(1, 2) };
    expect(() => encodeSafetensors([t, t])).toThrow("tensor 'w' appears twice");
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }])).toThrow("invalid tensor name '__metadata__'");
    expect(() => encodeSafetensors([{ ...t, shape: [3] }])).toThrow("tensor 'w' has 2 values for shape [3]");
  });
});

function stateDictOf(id: string, opts: Parameters<typeof createBackbone>[1]) {
  const { module } = createBackbone(id, opts);
  const values = initParameters([...module.parameters('backbone'), ...module.buffers('backbone')], new Rng(5));
  return { module, values, sd: torchStateDict(module, values, 'backbone') };
}

describe('torchStateDict', () => {
  it('resnet18-cifar: torchvision resnet18 names (shortcut → downsample), num_batches_tracked per BN, no fc', () => {
    const { values, sd } = stateDictOf('resnet18-cifar', { width: 0.125 });
    const names = sd.tensors.map((t) => t.name);
    expect(names.filter((n) => n.includes('shortcut'))).toEqual([]);
    for (const n of ['conv1.weight', 'bn1.running_var', 'bn1.num_batches_tracked', 'layer1.0.conv2.weight', 'layer2.0.downsample.0.weight',
      'layer2.0.downsample.1.bias', 'layer2.0.downsample.1.num_batches_tracked', 'layer4.1.bn2.weight']) expect(names).toContain(n);
    expect(names.filter((n) => n.startsWith('layer1.') && n.includes('downsample'))).toEqual([]);
    // torchvision resnet18 without fc: 20 BNs × 5 + 20 convs (17 3×3/7×7 + 3 downsample) = 120 entries.
    expect(names).toHaveLength(120);
    expect(new Set(names).size).toBe(120);
    const nbt = sd.tensors.find((t) => t.name === 'layer3.1.bn1.num_batches_tracked')!;
    expect(nbt.shape).toEqual([]);
    expect(nbt.data).toEqual(BigInt64Array.of(0n));
    const w = sd.tensors.find((t) => t.name === 'layer3.0.downsample.0.weight')!;
    expect(w.shape).toEqual([32, 16, 1, 1]);
    expect(w.data).toBe(values.get('backbone.layer3.0.shortcut.0.weight'));
    expect(sd.metadata).toMatchObject({ arch: 'resnet18-cifar', block: 'basic', layers: '2,2,2,2', base_width: '8', in_chans: '3', feature_dim: '64' });
  });

  it('SplitBatchNorm running statistics [k·C] become their mean over the splits, [C]', () => {
    const { module } = createBackbone('resnet18-cifar', { width: 0.125, splitBn: 4 });
    const values = initParameters([...module.parameters('b'), ...module.buffers('b')], new Rng(6));
    const stats = Float32Array.from({ length: 4 * 8 }, (_, i) => i * 0.25);
    values.set('b.bn1.running_mean', stats);
    const sd = torchStateDict(module, values, 'b');
    const mean = sd.tensors.find((t) => t.name === 'bn1.running_mean')!;
    expect(mean.shape).toEqual([8]);
    // channel c: mean of (s·8 + c)·0.25 over s = 0..3 = (12 + c)·0.25
    expect(Array.from(mean.data as Float32Array)).toEqual(Array.from({ length: 8 }, (_, c) => (12 + c) * 0.25));
    expect(sd.tensors.find((t) => t.name === 'bn1.weight')!.shape).toEqual([8]);
  });

  it('resnet50: bottleneck names with conv3/bn3 and downsample in the first block of every stage', () => {
    const { sd } = stateDictOf('resnet50', { width: 1 / 16 });
    const names = sd.tensors.map((t) => t.name);
    // torchvision resnet50 without fc: 53 convs + 53 BNs × 5 = 318 entries.
    expect(names).toHaveLength(318);
    for (const l of [1, 2, 3, 4]) expect(names).toContain(`layer${l}.0.downsample.1.num_batches_tracked`);
    expect(names).toContain('layer3.5.bn3.running_mean');
    expect(sd.metadata).toMatchObject({ arch: 'resnet50', block: 'bottleneck', layers: '3,4,6,3', base_width: '4' });
  });

  it('ViT: timm names, the sin-cos pos_embed buffer included, no num_batches_tracked', () => {
    const { sd } = stateDictOf('vit-s16', { width: 1 / 6, depth: 2, imageSize: 32 });
    const names = sd.tensors.map((t) => t.name).sort();
    const block = (i: number) => ['norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2'].flatMap((m) => [`blocks.${i}.${m}.weight`, `blocks.${i}.${m}.bias`]);
    expect(names).toEqual(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias', ...block(0), ...block(1), 'norm.weight', 'norm.bias'].sort());
    expect(sd.tensors.find((t) => t.name === 'pos_embed')!.shape).toEqual([1, 5, 64]);
    expect(sd.metadata).toMatchObject({ arch: 'vit', patch_size: '16', embed_dim: '64', depth: '2', num_heads: '1', img_size: '32', pos_embed: 'sincos', norm_eps: '0.000001' });
  });

  it('a missing value names the entry', () => {
    const { module } = createBackbone('resnet18-cifar', { width: 0.125 });
    expect(() => torchStateDict(module, { get: () => undefined }, 'backbone')).toThrow("no value for 'backbone.conv1.weight'");
  });
});
