import * as ort from 'onnxruntime-node';
import { Graph, cast, div, sub, toOnnx, transpose, type Tensor } from '../graph';
import { GraphForwardContext, type Module } from '../nn/module';
import type { HostData } from './state-store';

export const BATCH_DIM = 'N';

export interface ImageInput {
  /** 'uint8-nhwc': raw HWC pixels, scaled to [0,1] and normalised in the graph; 'float32-nchw': fed ready. */
  format: 'uint8-nhwc' | 'float32-nchw';
  channels: number;
  height: number;
  width: number;
  /** Per-channel mean and std applied after scaling to [0,1] (uint8-nhwc only). */
  mean?: readonly number[];
  std?: readonly number[];
}

export interface InferenceModelOptions {
  name?: string;
  /** Name prefix of the module's parameters in the training state (e.g. 'backbone'). */
  prefix?: string;
  input: ImageInput;
  /**
   * Parameter and buffer values to bake in as initializers (a standalone model). Without them every
   * parameter and buffer is a model input named like the training state, fed from the StateStore.
   */
  weights?: ReadonlyMap<string, HostData>;
}

export interface InferenceModel {
  modelBytes: Uint8Array;
  /** 'images' [N, ...] */
  inputName: string;
  /** 'features' [N, D] */
  outputName: string;
  /** State entries to feed (empty when weights are initializers). */
  stateNames: string[];
  featureDim: number;
}

/** `module` in eval mode (BN running statistics) with a dynamic batch dim 'N': input `images`, output `features`. */
export function buildInferenceModel(module: Module, opts: InferenceModelOptions): InferenceModel {
  const g = new Graph(opts.name ?? 'inference');
  const { input } = opts;
  let x: Tensor;
  if (input.format === 'uint8-nhwc') {
    const raw = g.input('images', [BATCH_DIM, input.height, input.width, input.channels], 'uint8');
    x = div(transpose(cast(raw, 'float32'), [0, 3, 1, 2]), 255);
    if (input.mean && input.std) {
      const c = input.channels;
      x = div(sub(x, g.constant(Float32Array.from(input.mean), [1, c, 1, 1])), g.constant(Float32Array.from(input.std), [1, c, 1, 1]));
    }
  } else {
    x = g.input('images', [BATCH_DIM, input.channels, input.height, input.width]);
  }
  const weights = opts.weights;
  const stateNames: string[] = [];
  const ctx = new GraphForwardContext(g, module, {
    training: false,
    prefix: opts.prefix,
    source: (spec) => {
      if (weights) {
        const data = weights.get(spec.name);
        if (!data) throw new Error(`inference model: no value for '${spec.name}'`);
        return g.constant(data as Float32Array, spec.shape, 'dtype' in spec ? spec.dtype : 'float32', spec.name);
      }
      stateNames.push(spec.name);
      return g.input(spec.name, spec.shape, 'dtype' in spec ? spec.dtype : 'float32');
    },
  });
  const features = module.forward(ctx, x);
  g.output('features', features);
  const featureDim = features.shape[features.shape.length - 1] as number;
  return { modelBytes: toOnnx(g, { keepUnusedInputs: false }), inputName: 'images', outputName: 'features', stateNames, featureDim };
}

/**
 * Embeds `count` images in chunks of `batchSize` (the last chunk may be smaller: the batch dim is
 * dynamic). `images` holds them back to back in the model's input layout; `state` feeds the
 * parameters when the model takes them as inputs. Returns [count, featureDim] row-major.
 */
export async function embed(
  session: ort.InferenceSession,
  model: InferenceModel,
  images: Uint8Array | Float32Array,
  count: number,
  batchSize: number,
  imageShape: readonly number[],
  state?: { get(name: string): ort.Tensor },
): Promise<Float32Array> {
  const per = imageShape.reduce((a, b) => a * b, 1);
  if (images.length !== count * per) throw new RangeError(`embed: ${images.length} values for ${count} images of [${imageShape.join(',')}]`);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of model.stateNames) {
    if (!state) throw new Error('embed: this inference model takes its weights as inputs; pass the state');
    feeds[name] = state.get(name);
  }
  const out = new Float32Array(count * model.featureDim);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const chunk = images.subarray(start * per, (start + n) * per);
    feeds[model.inputName] = new ort.Tensor(images instanceof Uint8Array ? 'uint8' : 'float32', chunk, [n, ...imageShape]);
    const r = await session.run(feeds);
    out.set(r[model.outputName].data as Float32Array, start * model.featureDim);
  }
  return out;
}
