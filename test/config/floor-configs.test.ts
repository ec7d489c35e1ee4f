import * as path from 'node:path';
import { loadConfig } from '../../src/config';

/**
 * The Fashion-MNIST suite's floor rows resolve like its method configs: base.yaml's data, subset,
 * evaluation and backbone (the random-init floor), with method none and zero epochs.
 */
const SUITE = path.resolve(__dirname, '..', '..', 'configs', 'fashion-mnist');
const load = (name: string) => loadConfig(path.join(SUITE, name), { env: {} });

test('floor-raw-pixels and floor-random-init: method none, 0 epochs, the suite base data and kNN', () => {
  const base = load('simclr.yaml');
  const pixels = load('floor-raw-pixels.yaml');
  const random = load('floor-random-init.yaml');
  expect(pixels.method).toEqual({ name: 'none', label: 'Raw pixels (floor)', marker: '', params: {} });
  expect(random.method).toEqual({ name: 'none', label: 'Random init (floor)', marker: '', params: {} });
  expect(pixels.backbone.name).toBe('pixels');
  expect(random.backbone).toEqual(base.backbone);
  for (const floor of [pixels, random]) {
    expect(floor.train.epochs).toBe(0);
    expect(floor.data).toEqual(base.data);
    expect(floor.eval).toEqual(base.eval);
    expect(floor.seed).toBe(base.seed);
    expect(floor.output).toBe(base.output);
    expect(floor.augmentation.input_size).toBe(base.augmentation.input_size);
    expect(floor.augmentation.eval_transform).toBe(base.augmentation.eval_transform);
  }
});
