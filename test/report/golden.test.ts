import * as fs from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_ROWS, CHECKPOINT_BUCKET, IMAGENET100_ROWS, IMAGENET1K_ROWS, IMAGENETTE_ROWS } from './published';
import { imagenetRowSummary, listFiles, makeTempDir, runCli, smallRowSummary, writeRun } from './fixtures';

/**
 * Golden tests: summaries carrying the published numbers, rendered by `ssl-bench table`, must
 * equal the csv-table blocks of the benchmarks page (copied verbatim into golden/*.rst).
 */

const golden = (name: string): string => fs.readFileSync(path.join(__dirname, 'golden', name), 'utf8');

/** The page's footnote paragraphs follow the table after one empty line; pass them through --footnote. */
function splitFootnotes(block: string): { table: string; footnotes: string[] } {
  const [table, ...footnotes] = block.replace(/\n$/, '').split(/\n\n(?! {2})/);
  return { table: `${table}\n`, footnotes };
}

let root: string;
beforeEach(() => { root = makeTempDir(); });
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

test('CIFAR-10: 36 rows in three input folders, page order via --order, memory-bank footnote', async () => {
  const groups = [[128, 200], [512, 200], [512, 800]];
  const inputs = groups.map(([batch, epochs]) => {
    const dir = path.join(root, `bs${batch}-ep${epochs}`);
    // Written in reverse so the row order provably comes from --order, not from the file system.
    for (const row of [...CIFAR10_ROWS].reverse().filter((r) => r[3] === batch && r[4] === epochs)) {
      writeRun(dir, `${row[0].toLowerCase()}`, smallRowSummary(row, 'cifar10'));
    }
    return dir;
  });
  const expected = golden('cifar10.rst');
  const { footnotes } = splitFootnotes(expected);
  expect(footnotes).toHaveLength(1);
  const order = 'BarlowTwins,BYOL,DCL,DCLW,DINO,FastSiam,Moco,NNCLR,SimCLR,SimSiam,SwaV,SMoG';
  const out = path.join(root, 'table.rst');
  const result = await runCli(['table', ...inputs, '--order', order, '--footnote', footnotes[0], '--out', out]);
  expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  expect(fs.readFileSync(out, 'utf8')).toBe(expected);
  expect(listFiles(root).filter((f) => !f.endsWith('summary.json'))).toEqual(['table.rst']);
});

test('Imagenette: 20 rows, hand-made order from an --order file (MSN before Moco, SMoG after SwaVQueue)', async () => {
  for (const row of IMAGENETTE_ROWS) writeRun(root, `runs/${row[0]}`, smallRowSummary(row, 'imagenette'));
  const orderFile = path.join(root, 'order.txt');
  fs.writeFileSync(orderFile, `# page order\n${IMAGENETTE_ROWS.map((r) => r[0]).join('\n')}\n`);
  const result = await runCli(['table', path.join(root, 'runs'), '--order', orderFile]);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(golden('imagenette.rst'));
});

test('ImageNet100: 9 rows in the default order (alphabetical by label, case-insensitive)', async () => {
  for (const row of [...IMAGENET100_ROWS].reverse()) writeRun(root, row[0], smallRowSummary(row, 'imagenet100'));
  const result = await runCli(['table', root, '--format', 'rst']);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(golden('imagenet100.rst'));
});

test('ImageNet1k: the page\'s 11 rows, percent cells, link cells, "\\-" placeholders and the footnote', async () => {
  for (const row of IMAGENET1K_ROWS.filter((r) => r.pageTensorboard !== undefined)) {
    writeRun(root, `${row.runFolder}`, imagenetRowSummary(row, row.pageTensorboard));
  }
  const expected = golden('imagenet1k.rst');
  const { footnotes } = splitFootnotes(expected);
  const args = ['table', root, ...footnotes.flatMap((f) => ['--footnote', f])];
  const result = await runCli(args);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(expected);
});

test('ImageNet1k: all 14 METHODS.md rows with §6.3 link texts ("tensorboard <Name>", markers stripped)', async () => {
  for (const row of IMAGENET1K_ROWS) {
    const tensorboard = `${CHECKPOINT_BUCKET}${row.runFolder}/pretrain/version_0/${row.tensorboardFile}`;
    writeRun(root, row.runFolder, imagenetRowSummary(row, tensorboard));
  }
  const order = IMAGENET1K_ROWS.map((r) => `${r.label}${r.marker}`).filter((v, i, all) => all.indexOf(v) === i).join(',');
  const result = await runCli(['table', root, '--preset', 'imagenet1k', '--link-text', '{kind} {name}', '--order', order]);
  expect(result.code).toBe(0);
  const rows = result.stdout.split('\n').filter((l) => l.startsWith('  "'));
  expect(rows).toHaveLength(14);
  const lejepa = IMAGENET1K_ROWS[5];
  expect(rows[5]).toBe(
    '  "LeJEPA\\*\\*", "ViT-S/16", "512", "100", "64.0", "85.8", "78.7", "94.5", "47.1", "74.3", '
    + `"\`tensorboard LeJEPA <${CHECKPOINT_BUCKET}${lejepa.runFolder}/pretrain/version_0/metrics_plot.png>\`_", `
    + `"\`checkpoint LeJEPA <${CHECKPOINT_BUCKET}${lejepa.runFolder}/pretrain/version_0/checkpoints/epoch%3D099-val_online_cls_top1%3D0.5623.ckpt>\`_"`,
  );
  expect(rows[9]).toContain('"SimCLR* + DCL", "Res50", "256", "100", "65.1", "86.2", "73.5", "91.7", "49.6", "77.5", "`tensorboard SimCLR + DCL <');
  expect(rows[3]).toMatch(/^ {2}"DINO", "ViT-S\/16", "128", "100", "73.3", "91.3", "79.8", "95.0", "67.5", "89.7", /);
});

test('CIFAR-10 published results as a CSV baseline: the gate passes on them and catches one 2-point drop', async () => {
  for (const row of CIFAR10_ROWS) writeRun(root, `runs/${row[0]}${row[1] ? '-star' : ''}-${row[3]}-${row[4]}`, smallRowSummary(row, 'cifar10'));
  const baseline = path.join(root, 'baseline.csv');
  expect((await runCli(['table', path.join(root, 'runs'), '--format', 'csv', '--out', baseline])).code).toBe(0);
  const csv = fs.readFileSync(baseline, 'utf8').split('\n');
  expect(csv).toHaveLength(38);
  expect(csv).toContain('Moco*,Res18,512,800,cifar10,0.8990,0.0000,417.80,5.40,1');
  expect((await runCli(['compare', path.join(root, 'runs'), baseline])).code).toBe(0);

  const simclr = CIFAR10_ROWS.find((r) => r[0] === 'SimCLR' && r[3] === 512 && r[4] === 800)!;
  writeRun(root, 'runs/SimCLR-512-800', smallRowSummary([...simclr.slice(0, 5), simclr[5] - 0.02, ...simclr.slice(6)] as typeof simclr, 'cifar10'));
  const result = await runCli(['compare', path.join(root, 'runs'), baseline, '--tolerance', '0.01']);
  expect(result.code).toBe(1);
  expect(result.stdout.split('\n').filter((l) => l.includes('REGRESSION') && !l.startsWith('FAIL'))).toEqual([
    'SimCLR       Res18       512     800  cifar10  knn_top1           0.8790   0.8590  -0.0200     0.0100  REGRESSION',
  ]);
});
