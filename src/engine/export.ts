import * as path from 'node:path';
import { withConvNchwcBlockSize } from '../graph';
import type { Module } from '../nn/module';
import { writeFileAtomic } from '../util/atomic';
import { buildInferenceModel } from './inference';
import { encodeSafetensors } from './safetensors';
import type { HostData } from './state-store';
import { torchStateDict } from './torch-state-dict';

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
 *
 * Next to it, `backbone.safetensors` (same base name) holds the weights under the names of the
 * torchvision / timm model they load into (torch-state-dict.ts); a backbone without parameters
 * (pixels) gets none.
 */
export function exportBackbone(file: string, backbone: Module, values: { get(name: string): HostData | undefined }, opts: ExportOptions): { featureDim: number; bytes: number } {
  const weights = new Map<string, HostData>();
  for (const spec of [...backbone.parameters(opts.prefix), ...backbone.buffers(opts.prefix)]) {
    const v = values.get(spec.name);
    if (!v) throw new Error(`exportBackbone: no value for '${spec.name}'`);
    weights.set(spec.name, v);
  }
  // Plain ONNX Conv whatever the emission setting: com.microsoft.nchwc ops run only on ORT's x86 CPU EP.
  const model = withConvNchwcBlockSize(0, () => buildInferenceModel(backbone, {
    name: 'backbone',
    prefix: opts.prefix,
    input: { format: 'float32-nchw', channels: opts.channels, height: opts.imageSize, width: opts.imageSize },
    weights,
  }));
  writeFileAtomic(file, model.modelBytes);
  if (backbone.parameters().length > 0) {
    const { tensors, metadata } = torchStateDict(backbone, values, opts.prefix);
    writeFileAtomic(path.join(path.dirname(file), `${path.basename(file, '.onnx')}.safetensors`), encodeSafetensors(tensors, metadata));
  }
  return { featureDim: model.featureDim, bytes: model.modelBytes.length };
}
