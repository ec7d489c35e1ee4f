import { Rng } from '../../src/data/rng';
import type { Graph, Tensor } from '../../src/graph';
import { GraphForwardContext, createBackbone, initParameters, type Module, type ParamSpec, type BufferSpec, type VisionTransformer } from '../../src/nn';
import { checkGradient } from '../support/graph-harness';

/**
 * A forward context whose chosen parameters are the gradient-check inputs and whose other
 * parameters/buffers are constants holding their initial values.
 */
function contextWith(g: Graph, module: Module, wrt: Record<string, Tensor>, training: boolean): GraphForwardContext {
  const values = initParameters([...module.parameters(), ...module.buffers()], new Rng(11));
  return new GraphForwardContext(g, module, {
    training,
    source: (spec: ParamSpec | BufferSpec) => wrt[spec.name] ?? g.constant(values.get(spec.name)!, spec.shape),
  });
}

describe('gradients through the ViT token paths match finite differences (float32, eps 1e-3)', () => {
  it('tiny ViT with keep indices and a mask token: images, cls_token, qkv weight, mask token', async () => {
    const vit = createBackbone('vit-s16', { width: 1 / 6, imageSize: 32, depth: 1 }).module as VisionTransformer;
    const res = await checkGradient((g, [images, cls, qkv, maskToken]) => {
      const ctx = contextWith(g, vit, { cls_token: cls, 'blocks.0.attn.qkv.weight': qkv }, true);
      const keep = g.constant(BigInt64Array.from([0n, 2n, 3n, 0n, 1n, 4n]), [2, 3], 'int64');
      const mask = g.constant(BigInt64Array.from([3n, 4n]), [2, 1], 'int64');
      return vit.forwardTokens(ctx, images, { keepIndices: keep, maskIndices: mask, maskToken }).tokens;
    }, [
      { shape: [2, 3, 32, 32], dtype: 'float32' }, { shape: [1, 1, 64], dtype: 'float32' },
      { shape: [192, 64], dtype: 'float32' }, { shape: [1, 1, 64], dtype: 'float32' },
    ], { eps: 1e-3, directions: 2 });
    // Measured 4.4e-4 here; at eps 1e-2 the O(eps²) truncation error of the attention softmax reached 6e-2.
    expect(res.maxRelErr).toBeLessThan(5e-3);
  });
});
