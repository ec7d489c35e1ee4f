/**
 * The trained backbone as the `state_dict()` of the PyTorch model a user loads it into, and the
 * architecture description written next to it (`backbone.safetensors` metadata).
 *
 * - resnet18 / resnet50: torchvision's names already (`conv1`, `layer2.0.downsample.0`, ...), fc
 *   removed. Every BatchNorm gains `num_batches_tracked` (int64 scalar), which torchvision's
 *   `load_state_dict(strict=True)` requires. ssl-bench does not count BN batches: the value is 0.
 *   torch reads it only for BatchNorm(momentum=None) (cumulative averaging); at the default
 *   momentum 0.1 it changes nothing.
 * - resnet18-cifar: the CIFAR block's projection shortcut `shortcut.{0,1}` is written as
 *   torchvision's `downsample.{0,1}`, so the file loads into torchvision's resnet18 with a 3×3
 *   stride-1 conv1 and `maxpool` and the stem `relu` replaced by nn.Identity (docs/methods.md §2.1:
 *   the benchmark backbone has no stem ReLU and no max-pool).
 * - SplitBatchNorm (MoCo on CIFAR): the k per-split running statistics [k·C] are averaged to [C], as
 *   torch does when the model switches to eval mode; the result is a plain BatchNorm2d.
 * - ViTs: timm's names already (`cls_token`, `pos_embed`, `patch_embed.proj`, `blocks.i.attn.qkv`,
 *   `norm`); a fixed sin-cos `pos_embed` buffer is written like timm's learned parameter.
 */
import { BatchNorm1d, BatchNorm2d, SplitBatchNorm } from '../nn/batchnorm';
import { Bottleneck, ResNet } from '../nn/backbones/resnet';
import { CifarBasicBlock, ResNet18Cifar } from '../nn/backbones/resnet-cifar';
import { VisionTransformer } from '../nn/backbones/vit';
import type { Module } from '../nn/module';
import type { SafetensorsTensor } from './safetensors';
import type { HostData } from './state-store';

export interface TorchStateDict {
  tensors: SafetensorsTensor[];
  /** String metadata: the architecture, enough to rebuild the module (scripts/torch_backbone.py does). */
  metadata: Record<string, string>;
}

interface Walked {
  /** Our dotted name (no prefix) → the torch name. */
  names: Map<string, string>;
  /** Torch module paths of every batch norm, with the split count (1: plain). */
  batchNorms: { torchPath: string; ourPath: string; splits: number; channels: number }[];
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function walk(module: Module, ourPath: string, torchPath: string, out: Walked): void {
  // A module's own entries are the undotted names; children's come with their path.
  for (const spec of [...module.parameters(), ...module.buffers()]) {
    if (!spec.name.includes('.')) out.names.set(join(ourPath, spec.name), join(torchPath, spec.name));
  }
  if (module instanceof BatchNorm1d || module instanceof BatchNorm2d || module instanceof SplitBatchNorm) {
    out.batchNorms.push({
      torchPath, ourPath, splits: module instanceof SplitBatchNorm ? module.numSplits : 1, channels: module.numFeatures,
    });
  }
  for (const [name, child] of module.namedChildren()) {
    const torchName = module instanceof CifarBasicBlock && name === 'shortcut' ? 'downsample' : name;
    walk(child, join(ourPath, name), join(torchPath, torchName), out);
  }
}

function layerCounts(resnet: Module): number[] {
  return ['layer1', 'layer2', 'layer3', 'layer4'].map((l) => resnet.child(l).namedChildren().length);
}

/** What the module is, in the words a PyTorch user needs to rebuild it (all values strings). */
export function describeBackbone(backbone: Module): Record<string, string> {
  const common = { format: 'pt', producer: 'ssl-bench' };
  if (backbone instanceof ResNet18Cifar || backbone instanceof ResNet) {
    const stemWidth = backbone.child('conv1').parameters()[0].shape[0];
    const inChannels = backbone.child('conv1').parameters()[0].shape[1];
    const counts = layerCounts(backbone);
    const bottleneck = backbone.child('layer1').child('0') instanceof Bottleneck;
    const arch = backbone instanceof ResNet18Cifar ? 'resnet18-cifar' : bottleneck ? 'resnet50' : 'resnet18';
    return {
      ...common, arch, block: bottleneck ? 'bottleneck' : 'basic', layers: counts.join(','), base_width: String(stemWidth),
      in_chans: String(inChannels), feature_dim: String(backbone.featureDim),
      feature: 'global average pool of layer4',
    };
  }
  if (backbone instanceof VisionTransformer) {
    const c = backbone.config;
    return {
      ...common, arch: 'vit', patch_size: String(c.patchSize), embed_dim: String(c.embedDim), depth: String(c.depth),
      num_heads: String(c.heads), mlp_ratio: String(c.mlpRatio), img_size: String(c.imageSize), in_chans: String(c.inChannels),
      norm_eps: String(c.eps), pos_embed: c.posEmbed === 'learned' ? 'learned' : 'sincos', feature_dim: String(backbone.featureDim),
      feature: 'class token after the final LayerNorm',
    };
  }
  return { ...common, arch: backbone.constructor.name };
}

/**
 * The backbone's parameters and buffers under the torch names, read from `values` (keyed by
 * `<prefix>.<our name>`). Throws if a value is missing or has the wrong size.
 */
export function torchStateDict(backbone: Module, values: { get(name: string): HostData | undefined }, prefix: string): TorchStateDict {
  const walked: Walked = { names: new Map(), batchNorms: [] };
  walk(backbone, '', '', walked);
  const read = (name: string, numel: number): HostData => {
    const v = values.get(join(prefix, name));
    if (!v) throw new Error(`torchStateDict: no value for '${join(prefix, name)}'`);
    if (v.length !== numel) throw new Error(`torchStateDict: '${join(prefix, name)}' has ${v.length} values, expected ${numel}`);
    return v;
  };
  const splitOf = new Map(walked.batchNorms.map((b) => [b.ourPath, b]));
  const tensors: SafetensorsTensor[] = [];
  for (const spec of [...backbone.parameters(), ...backbone.buffers()]) {
    const torchName = walked.names.get(spec.name);
    if (torchName === undefined) throw new Error(`torchStateDict: no torch name for '${spec.name}'`);
    const numel = spec.shape.reduce((a, d) => a * d, 1);
    const data = read(spec.name, numel);
    const owner = spec.name.slice(0, Math.max(0, spec.name.lastIndexOf('.')));
    const bn = splitOf.get(owner);
    const isStat = spec.name.endsWith('.running_mean') || spec.name.endsWith('.running_var');
    if (bn && bn.splits > 1 && isStat) {
      tensors.push({ name: torchName, shape: [bn.channels], data: averageSplits(data as Float32Array, bn.splits, bn.channels) });
    } else {
      tensors.push({ name: torchName, shape: [...spec.shape], data });
    }
  }
  for (const bn of walked.batchNorms) tensors.push({ name: join(bn.torchPath, 'num_batches_tracked'), shape: [], data: new BigInt64Array(1) });
  return { tensors, metadata: describeBackbone(backbone) };
}

/** [k·C] per-split statistics (split s at s·C … s·C+C−1) → their mean over the k splits, [C]. */
function averageSplits(stats: Float32Array, splits: number, channels: number): Float32Array {
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let s = 0; s < splits; s++) sum += stats[s * channels + c];
    out[c] = sum / splits;
  }
  return out;
}
