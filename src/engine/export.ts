import type { Module } from '../nn/module';
import { writeFileAtomic } from '../util/atomic';
import { buildInferenceModel } from './inference';
import type { HostData } from './state-store';

export interface ExportOptions {
  /** Prefix of the backbone's entries in the training state (e.g. 'backbone'). */
  prefix: string;
  channels: number;
  imageSize: number;
}

/**
 * Writes the trained backbone as a standalone ONNX model (`backbone.onnx`): eval mode, weights as
 * initializers, input `images` float32 [N, C, H, W] already normalised, output `features` [N, D].
 * Parameter names inside are the training names (torch-style, with the prefix).
 */
export function exportBackbone(file: string, backbone: Module, values: { get(name: string): HostData | undefined }, opts: ExportOptions): { featureDim: number; bytes: number } {
  const weights = new Map<string, HostData>();
  for (const spec of [...backbone.parameters(opts.prefix), ...backbone.buffers(opts.prefix)]) {
    const v = values.get(spec.name);
    if (!v) throw new Error(`exportBackbone: no value for '${spec.name}'`);
    weights.set(spec.name, v);
  }
  const model = buildInferenceModel(backbone, {
    name: 'backbone',
    prefix: opts.prefix,
    input: { format: 'float32-nchw', channels: opts.channels, height: opts.imageSize, width: opts.imageSize },
    weights,
  });
  writeFileAtomic(file, model.modelBytes);
  return { featureDim: model.featureDim, bytes: model.modelBytes.length };
}
