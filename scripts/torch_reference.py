"""PyTorch reference for ssl-bench's step benchmark and gradient cross-check.

Builds the same ResNet-18-CIFAR (docs/methods.md §2.1: 3x3 stem, no stem ReLU, no max-pool) with a
SimCLR projection head and NT-Xent loss that `scripts/bench-step.js` builds in ssl-bench.

  bench      time a two-view SGD-momentum training step, print JSON (median seconds, peak RSS)
  embed      time eval-mode backbone inference (uint8 NHWC images in, features out), print JSON
  crosscheck load weights + inputs written by ssl-bench, print loss and gradients as JSON files

Run with Debian's interpreter (/usr/bin/python3) after `apt-get install python3-torch
libopenblas0-pthread`: the default reference BLAS makes torch's Linear layers ~25x slower.
"""
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def basic_block(cin, cout, stride):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    return Block()


class ResNet18Cifar(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.conv1 = nn.Conv2d(3, w[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        layers, cin = [], w[0]
        for i, cout in enumerate(w):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(basic_block(cin, cout, stride), basic_block(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.out_dim = cin

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class SimCLR(nn.Module):
    def __init__(self, width=64, hidden=512, out=128):
        super().__init__()
        self.backbone = ResNet18Cifar(width)
        d = self.backbone.out_dim
        self.head = nn.Sequential(nn.Linear(d, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
                                  nn.Linear(hidden, out, bias=False), nn.BatchNorm1d(out))

    def forward(self, x):
        return self.head(self.backbone(x))


def nt_xent(z0, z1, temperature=0.5):
    z0, z1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
    n = z0.shape[0]
    logits_00 = z0 @ z0.T / temperature
    logits_01 = z0 @ z1.T / temperature
    logits_10 = z1 @ z0.T / temperature
    logits_11 = z1 @ z1.T / temperature
    eye = torch.eye(n, dtype=torch.bool)
    logits_00 = logits_00[~eye].view(n, -1)
    logits_11 = logits_11[~eye].view(n, -1)
    logits = torch.cat([torch.cat([logits_01, logits_00], 1), torch.cat([logits_10, logits_11], 1)], 0)
    labels = torch.arange(n).repeat(2)
    return F.cross_entropy(logits, labels)


def blas_in_use():
    """The BLAS library this process loaded (from /proc/self/maps) and a measured SGEMM rate.

    Debian's torch links the system libblas.so.3, which the alternatives system points at either
    the reference BLAS (unthreaded, unblocked) or OpenBLAS; torch's Linear layers go through it.
    """
    a = torch.randn(512, 512)
    a @ a  # loads the BLAS
    libs = set()
    with open('/proc/self/maps') as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ''
            if 'blas' in path.lower() or 'lapack' in path.lower() or 'mkl' in path.lower():
                libs.add(path)
    real = sorted(os.path.realpath(p) for p in libs)
    if any('openblas' in p for p in real):
        kind = 'openblas'
    elif any('mkl' in p for p in real):
        kind = 'mkl'
    elif any('/blas/libblas' in p for p in real):
        kind = 'reference'
    else:
        kind = 'unknown'
    n, reps = 512, 5
    t = time.perf_counter()
    for _ in range(reps):
        a @ a
    gflops = 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9
    return {'kind': kind, 'libraries': real, 'sgemm_gflops': gflops}


def bench(args):
    """args.device 'cuda': model and inputs on the GPU, torch.cuda.synchronize() before and after
    each timed step (kernels run asynchronously), peak memory from torch.cuda.max_memory_allocated."""
    torch.set_num_threads(args.get('threads', 2))
    torch.manual_seed(0)
    device = torch.device(args.get('device', 'cpu'))
    cuda = device.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    batch, size, steps = args['batch'], args['size'], args['steps']
    model = SimCLR(args.get('width', 64)).to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
    x0 = torch.randn(batch, 3, size, size).to(device)
    x1 = torch.randn(batch, 3, size, size).to(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(steps + args.get('warmup', 2)):
        sync()
        t = time.perf_counter()
        loss = nt_xent(model(x0), model(x1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= args.get('warmup', 2):
            times.append(time.perf_counter() - t)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {'median_s': statistics.median(times), 'times_s': times, 'loss': float(loss),
           'peak_rss_gb': peak_kib / 1024 ** 2, 'threads': torch.get_num_threads(),
           'torch': torch.__version__, 'device': device.type}
    if cuda:
        out.update({'gpu': torch.cuda.get_device_name(device),
                    'peak_cuda_gb': torch.cuda.max_memory_allocated(device) / 1024 ** 3,
                    'cudnn_benchmark': torch.backends.cudnn.benchmark,
                    'tf32_conv': torch.backends.cudnn.allow_tf32,
                    'tf32_matmul': getattr(torch.backends.cuda.matmul, 'allow_tf32', None)})
    else:
        out['blas'] = blas_in_use()
    print(json.dumps(out))


def embed(args):
    """Eval-mode ResNet18Cifar(width) features of `images` random uint8 NHWC images, `batch` at a
    time, as the kNN evaluation embeds: scale to [0, 1], normalise, forward under no_grad. Prints
    the images per second of each of `rounds` passes."""
    torch.set_num_threads(args.get('threads', 2))
    torch.manual_seed(0)
    size, count, batch = args['size'], args['images'], args['batch']
    model = ResNet18Cifar(args.get('width', 64)).eval()
    images = torch.randint(0, 256, (count, size, size, 3), dtype=torch.uint8)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.247, 0.243, 0.261]).view(1, 3, 1, 1)
    rates = []
    with torch.no_grad():
        for r in range(args.get('rounds', 1) + 1):
            t = time.perf_counter()
            for start in range(0, count, batch):
                x = images[start:start + batch].permute(0, 3, 1, 2).float().div(255)
                model((x - mean) / std)
            if r > 0:
                rates.append(count / (time.perf_counter() - t))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'images_per_s': rates, 'peak_rss_gb': peak_kib / 1024 ** 2, 'threads': torch.get_num_threads(),
                      'torch': torch.__version__, 'blas': blas_in_use()}))


def crosscheck(args):
    """Loads named float32 tensors (raw little-endian files listed in a JSON manifest), computes
    the loss of the two-view SimCLR step in training mode, and writes the loss and every
    parameter gradient back as raw float32 files next to a JSON manifest."""
    import numpy as np
    torch.set_num_threads(args.get('threads', 2))
    with open(args['manifest']) as f:
        manifest = json.load(f)
    model = SimCLR(args.get('width', 64), args.get('hidden', 512), args.get('out', 128)).double()
    params = dict(model.named_parameters())
    folder = args['folder']
    def load(entry):
        a = np.fromfile(f"{folder}/{entry['file']}", dtype=np.float32).reshape(entry['shape'])
        return torch.from_numpy(a.astype(np.float64))
    with torch.no_grad():
        for name, entry in manifest['params'].items():
            params[name].copy_(load(entry))
    x0, x1 = load(manifest['inputs']['x0']), load(manifest['inputs']['x1'])
    loss = nt_xent(model(x0), model(x1), manifest.get('temperature', 0.5))
    loss.backward()
    out = {'loss': float(loss), 'grads': {}}
    for name, p in params.items():
        fname = f"grad.{name}.f32"
        p.grad.detach().numpy().astype(np.float32).tofile(f"{folder}/{fname}")
        out['grads'][name] = {'file': fname, 'shape': list(p.grad.shape)}
    print(json.dumps(out))


def forward(args):
    """Loads named float32 parameters and buffers of ResNet18Cifar(width) (raw little-endian files
    listed in a JSON manifest: {"tensors": {name: {file, shape}}, "inputs": {"x": ...},
    "training": bool, "cotangent": optional {file, shape}}), runs the input through the backbone
    in float64 and writes the features, every running statistic after the pass and, with a
    cotangent w, the gradients of sum(features * w) w.r.t. every parameter and x, as raw float32
    files listed in the JSON it prints. `split_bn` k > 1 swaps every BatchNorm2d for Lightly's
    SplitBatchNorm (sample n in split n mod k, running stats of shape [C*k], eval averages them)."""
    import numpy as np
    torch.set_num_threads(args.get('threads', 2))
    with open(args['manifest']) as f:
        manifest = json.load(f)

    class SplitBatchNorm(nn.BatchNorm2d):
        def __init__(self, num_features, num_splits):
            super().__init__(num_features)
            self.num_splits = num_splits
            self.register_buffer('running_mean', torch.zeros(num_features * num_splits))
            self.register_buffer('running_var', torch.ones(num_features * num_splits))

        def forward(self, x):
            n, c, h, w = x.shape
            if self.training:
                return F.batch_norm(x.view(-1, c * self.num_splits, h, w), self.running_mean, self.running_var,
                                    self.weight.repeat(self.num_splits), self.bias.repeat(self.num_splits),
                                    True, self.momentum, self.eps).view(n, c, h, w)
            mean = self.running_mean.view(self.num_splits, c).mean(0)
            var = self.running_var.view(self.num_splits, c).mean(0)
            return F.batch_norm(x, mean, var, self.weight, self.bias, False, self.momentum, self.eps)

    model = ResNet18Cifar(args.get('width', 64))
    splits = args.get('split_bn', 1)
    if splits > 1:
        for name, module in list(model.named_modules()):
            if isinstance(module, nn.BatchNorm2d):
                parent = model.get_submodule(name.rsplit('.', 1)[0]) if '.' in name else model
                setattr(parent, name.rsplit('.', 1)[-1], SplitBatchNorm(module.num_features, splits))
    model = model.double()
    params = dict(model.named_parameters())
    named = dict(params)
    named.update((k, v) for k, v in model.named_buffers() if not k.endswith('num_batches_tracked'))
    folder = args['folder']
    def load(entry):
        a = np.fromfile(f"{folder}/{entry['file']}", dtype=np.float32).reshape(entry['shape'])
        return torch.from_numpy(a.astype(np.float64))
    missing = sorted(set(named) - set(manifest['tensors']))
    unknown = sorted(set(manifest['tensors']) - set(named))
    if missing or unknown:
        raise SystemExit(f"name mismatch: missing {missing[:5]}, unknown {unknown[:5]}")
    with torch.no_grad():
        for name, entry in manifest['tensors'].items():
            named[name].copy_(load(entry))
    model.train(bool(manifest.get('training', False)))
    x = load(manifest['inputs']['x']).requires_grad_(True)
    features = model(x)
    results = {'features': features.detach()}
    results.update((k, v) for k, v in model.named_buffers() if not k.endswith('num_batches_tracked'))
    if manifest.get('cotangent'):
        (features * load(manifest['cotangent'])).sum().backward()
        results['grad.x'] = x.grad
        results.update((f"grad.{k}", p.grad) for k, p in params.items())
    out = {'names': list(named), 'outputs': {}}
    for name, t in results.items():
        fname = f"out.{name}.f32"
        t.detach().numpy().astype(np.float32).tofile(f"{folder}/{fname}")
        out['outputs'][name] = {'file': fname, 'shape': list(t.shape)}
    print(json.dumps(out))

if __name__ == '__main__':
    command, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    {'bench': bench, 'embed': embed, 'crosscheck': crosscheck, 'forward': forward}[command](args)
