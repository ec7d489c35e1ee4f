#!/usr/bin/python3
"""Load an ssl-bench ``backbone.safetensors`` into PyTorch and embed images with it.

    /usr/bin/python3 scripts/torch_backbone.py RUN_DIR/backbone.safetensors
    /usr/bin/python3 scripts/torch_backbone.py W.safetensors --input x.f32 --shape 2,3,32,32 --out f.f32 [--impl reference]

The file holds the weights under torchvision's (ResNets) or timm's (ViTs) parameter names and its
header metadata describes the architecture. ``build_model`` makes the matching module:

- resnet18 / resnet50 at width 1: ``torchvision.models.resnet18()`` / ``resnet50()`` with
  ``fc = nn.Identity()``;
- resnet18-cifar: the same resnet18 with ``conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)``,
  ``maxpool = nn.Identity()`` and the stem ``relu = nn.Identity()`` (the CIFAR benchmark backbone has
  neither, docs/methods.md §2.1);
- ViT: timm's ``VisionTransformer(num_classes=0)`` with the recorded patch size, dims, depth, heads
  and image size; the feature is the class token after the final LayerNorm.

``--impl reference`` (or torchvision / timm not installed, or a width other than 1) uses the
modules below instead, written from torch.nn exactly as torchvision's ``models/resnet.py`` and timm's
``models/vision_transformer.py`` define them (same attribute names, so the same state_dict keys).
Either way the weights load with ``load_state_dict(strict=True)`` and the model runs in eval mode.

The safetensors reader is also written here (8-byte little-endian header length, JSON header,
raw little-endian data), so nothing beyond torch is needed.
"""
import argparse
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {'F32': torch.float32, 'I64': torch.int64, 'F64': torch.float64, 'I32': torch.int32}


def read_safetensors(path):
    """(state_dict, metadata) from a safetensors file."""
    with open(path, 'rb') as f:
        blob = f.read()
    (n,) = struct.unpack('<Q', blob[:8])
    header = json.loads(blob[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', {})
    data = blob[8 + n:]
    state = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        dtype = DTYPES[info['dtype']]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        state[name] = t.reshape(info['shape']).clone()
    return state, metadata


# --- torchvision models/resnet.py, as defined there (no fc) ---------------------------------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, base=64, in_chans=3):
        super().__init__()
        self.inplanes = base
        self.conv1 = nn.Conv2d(in_chans, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], 2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], 2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- timm models/vision_transformer.py, as defined there (class token, no head) ------------------

class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio, eps):
        super().__init__()
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img_size // patch_size) ** 2 + 1, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=eps)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.norm(self.blocks(x))[:, 0]


# --- building the model a file describes ----------------------------------------------------------

def cifar_stem(model, base, in_chans):
    model.conv1 = nn.Conv2d(in_chans, base, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    model.relu = nn.Identity()
    return model


def build_model(meta, impl='auto'):
    """(module, implementation name) for the architecture in `meta` (the file's __metadata__)."""
    arch = meta['arch']
    if arch in ('resnet18', 'resnet50', 'resnet18-cifar'):
        base, in_chans = int(meta['base_width']), int(meta['in_chans'])
        layers = [int(v) for v in meta['layers'].split(',')]
        if impl in ('auto', 'torchvision') and base == 64 and in_chans == 3:
            try:
                import torchvision
                model = torchvision.models.resnet50() if arch == 'resnet50' else torchvision.models.resnet18()
                model.fc = nn.Identity()
                if arch == 'resnet18-cifar':
                    cifar_stem(model, base, in_chans)
                return model, 'torchvision ' + torchvision.__version__
            except ImportError:
                if impl == 'torchvision':
                    raise
        elif impl == 'torchvision':
            raise SystemExit(f'torchvision builds width-1 RGB ResNets only; this one has base width {base}, {in_chans} channels')
        block = Bottleneck if meta['block'] == 'bottleneck' else BasicBlock
        model = ResNet(block, layers, base, in_chans)
        if arch == 'resnet18-cifar':
            cifar_stem(model, base, in_chans)
        return model, 'reference'
    if arch == 'vit':
        kw = dict(img_size=int(meta['img_size']), patch_size=int(meta['patch_size']), in_chans=int(meta['in_chans']),
                  embed_dim=int(meta['embed_dim']), depth=int(meta['depth']), num_heads=int(meta['num_heads']),
                  mlp_ratio=float(meta['mlp_ratio']))
        eps = float(meta['norm_eps'])
        if impl in ('auto', 'timm'):
            try:
                from functools import partial
                import timm
                model = timm.models.vision_transformer.VisionTransformer(
                    **kw, num_classes=0, global_pool='token', norm_layer=partial(nn.LayerNorm, eps=eps))
                return model, 'timm ' + timm.__version__
            except ImportError:
                if impl == 'timm':
                    raise
        return VisionTransformer(**kw, eps=eps), 'reference'
    raise SystemExit(f'unknown arch {arch!r} in the file metadata')


def load(path, impl='auto'):
    """(model in eval mode with the file's weights, metadata, implementation name)."""
    state, meta = read_safetensors(path)
    model, used = build_model(meta, impl)
    model.load_state_dict(state, strict=True)
    return model.eval(), meta, used


def embed_file(weights, impl, input_path, shape, out_path):
    """Report (dict) for one file; with input_path, writes the features of those images to out_path."""
    model, meta, used = load(weights, impl)
    report = {'impl': used, 'arch': meta['arch'], 'feature_dim': int(meta.get('feature_dim', 0)),
              'tensors': len(model.state_dict())}
    if input_path:
        with open(input_path, 'rb') as f:
            x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)
        with torch.no_grad():
            features = model(x).float().contiguous()
        report['features_shape'] = list(features.shape)
        if out_path:
            with open(out_path, 'wb') as f:
                f.write(features.numpy().tobytes())
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('weights', nargs='?')
    ap.add_argument('--impl', choices=['auto', 'torchvision', 'timm', 'reference'], default='auto')
    ap.add_argument('--input', help='raw float32 NCHW images (normalised as for training)')
    ap.add_argument('--shape', help='N,C,H,W of --input')
    ap.add_argument('--out', help='raw float32 [N, feature_dim] features')
    ap.add_argument('--jobs', help='JSON list of {weights, impl, input, shape, out}: one report per job, in one process')
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.jobs:
        with open(args.jobs) as f:
            jobs = json.load(f)
        reports = [embed_file(j['weights'], j.get('impl', 'auto'), j.get('input'), j.get('shape'), j.get('out')) for j in jobs]
        json.dump(reports, sys.stdout)
    else:
        if not args.weights:
            ap.error('give a backbone.safetensors file (or --jobs)')
        shape = [int(v) for v in args.shape.split(',')] if args.shape else None
        json.dump(embed_file(args.weights, args.impl, args.input, shape, args.out), sys.stdout)
    print()


if __name__ == '__main__':
    main()
