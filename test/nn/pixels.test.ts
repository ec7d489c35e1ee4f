import * as ort from 'onnxruntime-node';
import { buildInferenceModel, createSession, embed } from '../../src/engine';
import { createBackbone } from '../../src/nn';

/** The raw-pixel floor's backbone: no parameters, the image flattened in NCHW order. */

test('pixels: C·H·W features, no parameters or buffers, width and split BN ignored', () => {
  const b = createBackbone('pixels', { inChannels: 3, imageSize: 5, width: 0.125, splitBn: 8 });
  expect(b.featureDim).toBe(75);
  expect(b.module.parameters('backbone')).toEqual([]);
  expect(b.module.buffers('backbone')).toEqual([]);
  expect(createBackbone('pixels', { inChannels: 1, imageSize: 28 }).featureDim).toBe(784);
  expect(() => createBackbone('pixels', { imageSize: 0 })).toThrow("backbone 'pixels': imageSize 0 must be an integer >= 1");
});

test('pixels: the standalone model maps float32 [N, C, H, W] to the same values as [N, C·H·W]; uint8 NHWC input is normalised first', async () => {
  const { module } = createBackbone('pixels', { inChannels: 2, imageSize: 3 });
  const nchw = buildInferenceModel(module, { prefix: 'backbone', input: { format: 'float32-nchw', channels: 2, height: 3, width: 3 }, weights: new Map() });
  expect(nchw.featureDim).toBe(18);
  expect(nchw.stateNames).toEqual([]);
  const images = Float32Array.from({ length: 4 * 18 }, (_, i) => Math.sin(i) * 3);
  const { session } = await createSession(nchw.modelBytes, 'cpu');
  const out = await session.run({ images: new ort.Tensor('float32', images, [4, 2, 3, 3]) });
  expect(out.features.dims).toEqual([4, 18]);
  expect(Array.from(out.features.data as Float32Array)).toEqual(Array.from(images));

  const mean = [0.25, 0.5];
  const std = [0.5, 0.2];
  const nhwc = buildInferenceModel(module, { prefix: 'backbone', input: { format: 'uint8-nhwc', channels: 2, height: 3, width: 3, mean, std } });
  const pixels = Uint8Array.from({ length: 3 * 18 }, (_, i) => (i * 37) % 256);
  const { session: s2 } = await createSession(nhwc.modelBytes, 'cpu');
  const features = await embed(s2, nhwc, pixels, 3, 2, [3, 3, 2]);
  for (let n = 0; n < 3; n++) {
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          const expected = (pixels[n * 18 + (y * 3 + x) * 2 + c] / 255 - mean[c]) / std[c];
          expect(features[n * 18 + c * 9 + y * 3 + x]).toBeCloseTo(expected, 5);
        }
      }
    }
  }
});
