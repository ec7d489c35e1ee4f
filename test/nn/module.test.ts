import { Graph, GraphError } from '../../src/graph';
import { BatchNorm1d, GraphForwardContext, Linear, Sequential, createBackbone } from '../../src/nn';

describe('Module names and kinds', () => {
  it('own entries first, then children depth first, as torch named_parameters()/named_buffers()', () => {
    const net = new Sequential([new Linear(4, 3, { bias: false }), new BatchNorm1d(3), new Linear(3, 2)]);
    expect(net.parameters('head').map((p) => [p.name, p.kind, p.decay])).toEqual([
      ['head.0.weight', 'weight', true],
      ['head.1.weight', 'norm', false],
      ['head.1.bias', 'norm', false],
      ['head.2.weight', 'weight', true],
      ['head.2.bias', 'bias', false],
    ]);
    expect(net.buffers().map((b) => [b.name, b.shape, b.dtype])).toEqual([['1.running_mean', [3], 'float32'], ['1.running_var', [3], 'float32']]);
    expect(net.parameterCount()).toBe(12 + 6 + 8);
  });
});

describe('GraphForwardContext', () => {
  it('makes one graph input per used parameter/buffer, named by the full dotted name, reused across passes', () => {
    const net = new Sequential([new Linear(4, 3, { bias: false }), new BatchNorm1d(3)]);
    const g = new Graph('m');
    const ctx = new GraphForwardContext(g, net, { training: true, prefix: 'proj' });
    const x = g.input('x', [5, 4]);
    net.forward(ctx, x);
    net.forward(ctx, x);
    expect(g.inputs.map((t) => [t.name, t.shape])).toEqual([
      ['x', [5, 4]], ['proj.0.weight', [3, 4]], ['proj.1.weight', [3]], ['proj.1.bias', [3]], ['proj.1.running_mean', [3]], ['proj.1.running_var', [3]],
    ]);
    expect([...ctx.parameterTensors.keys()]).toEqual(['proj.0.weight', 'proj.1.weight', 'proj.1.bias']);
    expect([...ctx.bufferUpdates.keys()]).toEqual(['proj.1.running_mean', 'proj.1.running_var']);
    // The second pass read the first pass's update, not the input.
    expect(ctx.bufferUpdates.get('proj.1.running_mean')).not.toBe(ctx.bufferInputs.get('proj.1.running_mean'));
    expect(ctx.path).toBe('proj');
  });

  it('eval mode sets no buffers; withTraining shares inputs and updates', () => {
    const bn = new BatchNorm1d(3);
    const g = new Graph('m');
    const ctx = new GraphForwardContext(g, bn, { training: false });
    const x = g.input('x', [5, 3]);
    bn.forward(ctx, x);
    expect(ctx.bufferUpdates.size).toBe(0);
    const train = ctx.withTraining(true);
    bn.forward(train, x);
    expect(train.training).toBe(true);
    expect(ctx.bufferUpdates.size).toBe(2);
    expect(g.inputs.filter((t) => t.name === 'weight')).toHaveLength(1);
  });

  it('names the scope path in graph node names and fails on undeclared names', () => {
    const { module } = createBackbone('resnet18-cifar', { width: 1 / 64 });
    const g = new Graph('resnet18-cifar');
    const ctx = g.scope('model', () => new GraphForwardContext(g, module, { training: false }));
    module.forward(ctx, g.input('images', [1, 3, 8, 8]));
    expect(g.nodes.some((n) => n.scope === 'model/layer2.0.shortcut.0')).toBe(true);
    const wrongChannels = new GraphForwardContext(g, module, { training: false, prefix: 'backbone' });
    expect(() => module.forward(wrongChannels, g.input('gray', [1, 1, 8, 8]))).toThrow(/^backbone\.conv1: conv2d: .*\[1,1,8,8\]/);
    expect(() => ctx.scope('layer1', () => ctx.param('nope'))).toThrow(GraphError);
    expect(() => ctx.scope('layer1', () => ctx.param('nope'))).toThrow(/no parameter 'layer1.nope' is declared/);
    expect(() => ctx.setBuffer('bn1.running_mean', g.input('v', [2]))).toThrow(/setBuffer 'bn1.running_mean': value \[2\] vs buffer \[1\]/);
  });

  it('a source hook replaces graph inputs (e.g. initializers for an exported model)', () => {
    const lin = new Linear(2, 2);
    const g = new Graph('m');
    const ctx = new GraphForwardContext(g, lin, { training: false, source: (spec) => g.constant(new Float32Array(spec.shape.reduce((a, d) => a * d, 1)), spec.shape) });
    lin.forward(ctx, g.input('x', [1, 2]));
    expect(g.inputs.map((t) => t.name)).toEqual(['x']);
  });
});
