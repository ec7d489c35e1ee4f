import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-extends-null-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('null in a file that extends a base', () => {
  test('removes the inherited key, so the field takes its default', () => {
    write('base.yaml', 'augmentation:\n  preset: simclr\n  overrides: {scale: [0.5, 1.0], blur_prob: 0.0, cj_strength: 0.8}\ntrain:\n  grad_clip_norm: 3.0\n');
    // The multi-crop presets have no `scale`/`blur_prob`: the child drops them.
    const child = write('child.yaml', 'extends: base.yaml\naugmentation:\n  preset: swav\n  overrides: {scale: null, blur_prob: null}\ntrain:\n  grad_clip_norm: null\n');
    const c = loadConfig(child, { env: {} });
    expect(c.augmentation.preset).toBe('swav');
    expect(c.augmentation.overrides).not.toHaveProperty('scale');
    expect(c.augmentation.overrides.blur_prob).toBe(0.5); // SwaVTransform's default, not the base's 0.0
    expect(c.augmentation.overrides.cj_strength).toBe(0.8);
    expect(c.train.grad_clip_norm).toBeNull();
  });

  test('without the null the inherited key stays and the preset rejects it', () => {
    write('base2.yaml', 'augmentation:\n  preset: simclr\n  overrides: {scale: [0.5, 1.0]}\n');
    const child = write('child2.yaml', 'extends: base2.yaml\naugmentation:\n  preset: swav\n');
    expect(() => loadConfig(child, { env: {} })).toThrow(/augmentation\.overrides\.scale/);
  });

  test('--set key=null removes a key too', () => {
    const file = write('plain.yaml', 'augmentation:\n  preset: simclr\n  overrides: {scale: [0.5, 1.0], cj_strength: 0.5}\n');
    const c = loadConfig(file, { env: {}, set: ['augmentation.overrides.scale=null'] });
    expect(c.augmentation.overrides.scale).toEqual([0.08, 1.0]); // SimCLRTransform's default
    expect(c.augmentation.overrides.cj_strength).toBe(0.5);
  });
});
