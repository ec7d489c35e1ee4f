/**
 * `ssl-bench validate` rejects a config the run would reject at the preset / backbone / method
 * stage — without loading data — with the same one-line message the run gives (prepareMethod is
 * the code both run), prefixed by the file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { UserError } from '../../src/errors';
import { Pretraining } from '../../src/runner/pretrain';
import { checkRunnable } from '../../src/runner/prepare-method';

const TINY = path.join(__dirname, '..', 'e2e', 'tiny-simclr.yaml');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-validate-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The tiny run config under another name, without its SimCLR params and view overrides (cases set their own). */
function configFile(name: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  const lines = fs.readFileSync(TINY, 'utf8').replace(/^name: .*$/m, `name: ${name}`).replace(/^  params: .*$/m, '  params: {}').replace(/^  overrides: .*\n/m, '');
  fs.writeFileSync(file, lines);
  return file;
}

async function validate(file: string, set: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'ssl-bench', 'validate', file, ...set.flatMap((s) => ['--set', s])]);
    return { code, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const CASES: { what: string; set: string[]; message: RegExp }[] = [
  { what: 'preset view count vs the method\'s views', set: ['method.name=fastsiam', 'augmentation.preset=simclr'], message: /augmentation\.preset: simclr gives 2 views, method fastsiam consumes 4/ },
  { what: 'a ViT-only method on a ResNet', set: ['method.name=mae', 'augmentation.preset=mae'], message: /backbone\.name: method mae .* needs a ViT backbone/ },
  { what: 'a ViT input size that is not a multiple of the patch', set: ['method.name=simclr', 'backbone.name=vit-s16', 'backbone.width=0.1', 'backbone.depth=1'], message: /image size 28 .* must be a positive multiple of the patch size 16/ },
  { what: 'a batch larger than the per-class subset holds', set: ['train.batch_size=96'], message: /train\.batch_size: 96 is larger than the at most 80 training images/ },
  { what: 'a ViT-only backbone field on a ResNet', set: ['backbone.patch_size=4'], message: /backbone\.patch_size: 4 applies to ViT backbones only, not resnet18-cifar/ },
  { what: 'a split the dataset format does not have', set: ['data.test_split=val'], message: /data\.test_split: "val" is not a split of embedded-fashion-mnist; allowed: test/ },
];

describe('validate: run checks without data', () => {
  test.each(CASES)('$what', async ({ set, message }) => {
    const file = configFile('case');
    const config = loadConfig(file, { set });
    expect(() => checkRunnable(config)).toThrow(UserError);
    expect(() => checkRunnable(config)).toThrow(message);
    const r = await validate(file, set);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(r.stderr).toMatch(message);
  });

  test('the run rejects the same config with the same message', async () => {
    const { set, message } = CASES[0];
    const config = loadConfig(configFile('run'), { set });
    await expect(Pretraining.create(config, tmp, { dataSeed: config.seed, threads: 1 })).rejects.toThrow(message);
  });

  test('a runnable config passes', async () => {
    const file = configFile('fine');
    expect(() => checkRunnable(loadConfig(file, {}))).not.toThrow();
    expect((await validate(file, [])).code).toBe(0);
  });
});
