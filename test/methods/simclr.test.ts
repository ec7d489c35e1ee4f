/**
 * SimCLR's networks as docs/methods.md §4.12 lays them out, named like lightly's SimCLR model
 * (`backbone.*`, `projection_head.layers.*`) so weights exchange with PyTorch by name.
 */
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { buildTrainStep } from '../../src/engine';
import { methodFor } from '../../src/methods';
import { createBackbone } from '../../src/nn';
import { sgd } from '../../src/optim';

const config = loadConfig(path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml'), { set: [] });

describe('simclr', () => {
  const backbone = createBackbone('resnet18-cifar', { width: 0.0625, inChannels: 1 });
  const method = methodFor('simclr').create({
    config, backbone, batchSize: 4,
    params: { temperature: 0.5, projection_hidden_dim: 512, projection_out_dim: 128, view_batches: 'separate' },
  });

  test('backbone and SimCLRProjectionHead(D, 512, 128): Lin(nb)–BN–ReLU–Lin(nb)–BN, both trained, kNN on the backbone', () => {
    expect(method.views).toBe(2);
    expect(method.evalBackbone).toBe('backbone');
    expect(method.networks.map((n) => [n.prefix, n.role])).toEqual([['backbone', 'trained'], ['projection_head', 'trained']]);
    const head = method.networks[1].module;
    expect(head.parameters('projection_head').map((p) => [p.name, p.shape])).toEqual([
      ['projection_head.layers.0.weight', [512, backbone.featureDim]],
      ['projection_head.layers.1.weight', [512]],
      ['projection_head.layers.1.bias', [512]],
      ['projection_head.layers.3.weight', [128, 512]],
      ['projection_head.layers.4.weight', [128]],
      ['projection_head.layers.4.bias', [128]],
    ]);
    expect(head.buffers('projection_head').map((b) => b.name)).toEqual([
      'projection_head.layers.1.running_mean', 'projection_head.layers.1.running_var',
      'projection_head.layers.4.running_mean', 'projection_head.layers.4.running_var',
    ]);
  });

  test('its loss graph reads both views through the same parameters and updates BN statistics', () => {
    const nets = method.networks;
    const model = buildTrainStep({
      name: 'simclr-names',
      trainable: nets.flatMap((n) => n.module.parameters(n.prefix)),
      buffers: nets.flatMap((n) => n.module.buffers(n.prefix)),
      optimizer: sgd({ momentum: 0.9, nesterov: false }),
      build(step) {
        const views = [0, 1].map((k) => step.input(`view${k}`, [4, 1, 28, 28]));
        return method.buildLoss(step, views);
      },
    });
    expect(model.dataInputs.map((d) => d.name)).toEqual(['view0', 'view1']);
    // Every parameter and running statistic gets a next value; no parameter is duplicated per view.
    const entries = model.state.filter((e) => e.role !== 'optim');
    expect(model.updatedNames).toEqual(expect.arrayContaining(entries.map((e) => e.name)));
    expect(new Set(model.inputNames).size).toBe(model.inputNames.length);
  });
});
