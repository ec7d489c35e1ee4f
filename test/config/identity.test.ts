import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, configHash } from '../../src/config';
import { IDENTITY_V1_FIELDS } from '../../src/config/identity-v1-fields';

const ROOT = path.join(__dirname, '..', '..');

describe('run identity across schema versions', () => {
  // The committed Fashion-MNIST runs were made before fields such as backbone.patch_size or DCL's
  // `negatives` existed; their configs must still name those run directories.
  test.each(['simclr', 'dcl', 'dclw', 'tico', 'barlowtwins', 'moco', 'byol'])('configs/fashion-mnist/%s.yaml keeps the hash of its committed run', (m) => {
    const hash = configHash(loadConfig(path.join(ROOT, 'configs', 'fashion-mnist', `${m}.yaml`), { env: {} }));
    const dirs = fs.readdirSync(path.join(ROOT, 'results', 'fashion-mnist')).filter((d) => new RegExp(`^${m}-[0-9a-f]{12}$`).test(d));
    expect(dirs).toEqual([`${m}-${hash}`]);
  });

  test('a field added later counts once it is set away from its default', () => {
    const file = path.join(ROOT, 'configs', 'fashion-mnist', 'dcl.yaml');
    const base = configHash(loadConfig(file, { env: {} }));
    expect(IDENTITY_V1_FIELDS.has('method.params@dcl.negatives')).toBe(false);
    expect(configHash(loadConfig(file, { env: {}, set: ['method.params.negatives=joint'] }))).toBe(base);
    expect(configHash(loadConfig(file, { env: {}, set: ['method.params.negatives=separate'] }))).not.toBe(base);
  });

  test('a field of the first published schema counts even at its default', () => {
    const file = path.join(ROOT, 'configs', 'fashion-mnist', 'simclr.yaml');
    expect(IDENTITY_V1_FIELDS.has('method.params@simclr.temperature')).toBe(true);
    const c = loadConfig(file, { env: {} });
    const other = loadConfig(file, { env: {}, set: [`method.params.temperature=${(c.method.params.temperature as number) * 2}`] });
    expect(configHash(other)).not.toBe(configHash(c));
  });
});
