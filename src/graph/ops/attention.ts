import { GraphError, formatShape, type Tensor } from '../graph';
import { mul } from './elementwise';
import { linear, matmul } from './matmul';
import { reshape, split, squeeze, transpose } from './shape';
import { softmax } from './softmax';

export interface SelfAttentionWeights {
  /** Fused q/k/v projection [3D, D] and bias [3D], the timm layout. */
  qkvWeight: Tensor;
  qkvBias?: Tensor;
  /** Output projection [D, D] and bias [D]. */
  projWeight: Tensor;
  projBias?: Tensor;
}

/**
 * Multi-head self-attention over tokens x [B, T, D] as timm's Attention: softmax(q kᵀ / √d_h) v with
 * `heads` heads, built from matmul/softmax so its gradient comes from theirs. B may be symbolic.
 */
export function multiHeadSelfAttention(x: Tensor, w: SelfAttentionWeights, heads: number): Tensor {
  const [b, t, d] = x.shape;
  if (x.rank !== 3 || typeof d !== 'number' || typeof t !== 'number') {
    throw new GraphError(`${x.graph.where()}multiHeadSelfAttention: input ${formatShape(x.shape)} must be [B, T, D] with static T and D`);
  }
  if (!Number.isInteger(heads) || heads < 1 || d % heads !== 0) {
    throw new GraphError(`${x.graph.where()}multiHeadSelfAttention: dim ${d} is not divisible by heads ${heads}`);
  }
  const dh = d / heads;
  const qkv = reshape(linear(x, w.qkvWeight, w.qkvBias), [b, t, 3, heads, dh]);
  const [q, k, v] = split(transpose(qkv, [2, 0, 3, 1, 4]), 3, 0).map((p) => squeeze(p, 0)); // [B, H, T, dh]
  const attn = softmax(matmul(mul(q, 1 / Math.sqrt(dh)), transpose(k, [0, 1, 3, 2])), -1);
  const out = reshape(transpose(matmul(attn, v), [0, 2, 1, 3]), [b, t, d]);
  return linear(out, w.projWeight, w.projBias);
}
