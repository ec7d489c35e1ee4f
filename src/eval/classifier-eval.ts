/**
 * Top-1 / top-5 accuracy of a classification head on features, in ONNX Runtime. Shared by the
 * offline linear probe and the online linear classifier (docs/methods.md §5.2, §5.3): the head runs in
 * eval mode (batch norm with running statistics) with its parameters and buffers as model inputs,
 * fed by name from the training state, so one session serves every epoch.
 */
import * as ort from 'onnxruntime-node';
import { Graph, cast, equal, reduceMax, slice, squeeze, toOnnx, topK, unsqueeze } from '../graph';
import { GraphForwardContext, type Module } from '../nn/module';

export interface ClassifierEvalModel {
  modelBytes: Uint8Array;
  /** Parameter and buffer names the model reads (fed from the training state). */
  stateNames: string[];
  featureDim: number;
  numClasses: number;
}

export interface Accuracy {
  top1: number;
  top5: number;
}

/**
 * Inputs: `features` [N, D], `labels` [N] int32 and the head's state; outputs per-sample hit
 * flags `top1_hit`, `top5_hit` (uint8; top-5 means among the min(5, C) highest logits, ties to
 * the lower class index as ORT's TopK).
 */
export function buildClassifierEvalModel(head: Module, prefix: string, featureDim: number, numClasses: number): ClassifierEvalModel {
  const g = new Graph('classifier-eval');
  const features = g.input('features', ['N', featureDim]);
  const labels = g.input('labels', ['N'], 'int32');
  const stateNames: string[] = [];
  const ctx = new GraphForwardContext(g, head, {
    training: false,
    prefix,
    source: (spec) => {
      stateNames.push(spec.name);
      return g.input(spec.name, spec.shape, 'dtype' in spec ? spec.dtype : 'float32');
    },
  });
  const logits = head.forward(ctx, features);
  const ranked = cast(topK(logits, Math.min(5, numClasses), -1).indices, 'int32');
  const top1 = squeeze(slice(ranked, [0], [1], [1]), 1);
  g.output('top1_hit', cast(equal(top1, labels), 'uint8'));
  g.output('top5_hit', cast(reduceMax(cast(equal(ranked, unsqueeze(labels, 1)), 'int32'), [1]), 'uint8'));
  return { modelBytes: toOnnx(g, { keepUnusedInputs: false }), stateNames, featureDim, numClasses };
}

function countOnes(flags: Uint8Array): number {
  let n = 0;
  for (const f of flags) n += f;
  return n;
}

/** Accuracy over all `labels.length` samples, `chunk` rows per run; `state(name)` gives the head's tensors. */
export async function evaluateClassifier(
  session: ort.InferenceSession,
  model: ClassifierEvalModel,
  state: (name: string) => ort.Tensor,
  features: Float32Array,
  labels: Int32Array,
  chunk = 4096,
): Promise<Accuracy> {
  const { featureDim: dim } = model;
  const n = labels.length;
  if (features.length !== n * dim) throw new RangeError(`classifier eval: ${features.length} feature values for ${n} labels x dim ${dim}`);
  if (n === 0) return { top1: 0, top5: 0 };
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of model.stateNames) feeds[name] = state(name);
  let hit1 = 0;
  let hit5 = 0;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    feeds.features = new ort.Tensor('float32', features.subarray(start * dim, (start + m) * dim), [m, dim]);
    feeds.labels = new ort.Tensor('int32', labels.subarray(start, start + m), [m]);
    const out = await session.run(feeds);
    hit1 += countOnes(out.top1_hit.data as Uint8Array);
    hit5 += countOnes(out.top5_hit.data as Uint8Array);
  }
  return { top1: hit1 / n, top5: hit5 / n };
}
