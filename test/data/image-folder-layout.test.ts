/**
 * Wrong ImageNet-style layouts fail before any decoding with one line that names the folder and
 * what to do: a split without class folders (ImageNet's val/ left flat), an empty class folder,
 * and train/val splits with different class folders (labels would silently disagree).
 * An undecodable image fails naming the file (test/data/image-folder.test.ts): a benchmark whose
 * data changes silently is not the benchmark, so nothing is skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../src/config';
import { listImageFolder } from '../../src/data/image-folder';
import { loadRunData } from '../../src/runner/backbone-evaluation';
import { tempDir, userErrorOf } from './fixtures';

async function jpeg(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.alloc(16 * 12 * 3, 90), { raw: { width: 16, height: 12, channels: 3 } }).jpeg().toFile(file);
}

test('a split whose images are not sorted into class folders says so', async () => {
  const root = tempDir('layout-flat');
  for (let i = 0; i < 3; i++) await jpeg(path.join(root, 'val', `ILSVRC2012_val_0000000${i}.JPEG`));
  expect(await userErrorOf(() => listImageFolder(path.join(root, 'val')))).toBe(
    `${path.join(root, 'val')}: no class folders; expected ${path.join(root, 'val')}/<class>/<image>.{JPEG,jpg,png} (found 3 images directly in it: sort them into one folder per class, e.g. ImageNet's val/ into <wnid>/ folders)`,
  );
});

test('an empty class folder is refused, not skipped', async () => {
  const root = tempDir('layout-empty');
  await jpeg(path.join(root, 'train', 'n01', 'a.JPEG'));
  fs.mkdirSync(path.join(root, 'train', 'n02'));
  fs.writeFileSync(path.join(root, 'train', 'n02', 'notes.txt'), 'not an image');
  expect(await userErrorOf(() => listImageFolder(path.join(root, 'train')))).toBe(
    `${path.join(root, 'train', 'n02')}: class folder holds no .JPEG/.jpg/.jpeg/.png images; remove the folder or add its images`,
  );
});

test('train and val with different class folders are refused before training', async () => {
  const root = tempDir('layout-classes');
  for (const c of ['n01', 'n02', 'n03', 'n04']) await jpeg(path.join(root, 'train', c, 'a.JPEG'));
  for (const c of ['n01', 'n02', 'n05']) await jpeg(path.join(root, 'val', c, 'a.JPEG'));
  const config = loadConfig(path.join(__dirname, '..', '..', 'configs', 'imagenette', 'simclr.yaml'), {
    set: [`data.root=${root}`, `data.cache_dir=${path.join(root, 'cache')}`, 'data.image_size=16', 'augmentation.input_size=12', 'augmentation.eval_resize=12', 'data.workers=1'],
  });
  const runDir = path.join(root, 'run');
  fs.mkdirSync(runDir);
  expect(await userErrorOf(() => loadRunData(config, runDir, { dataSeed: 0, log: () => undefined }))).toBe(
    'data: imagenette splits train (4 classes) and val (3 classes) must have the same class folders; only in train: "n03", "n04"; only in val: "n05" (ImageNet\'s val images must be sorted into <wnid>/ folders)',
  );
  expect(fs.existsSync(path.join(runDir, 'data.json'))).toBe(false);
});
