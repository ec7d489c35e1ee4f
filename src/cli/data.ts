import type { Command } from 'commander';
import { UserError } from '../errors';
import { DOWNLOADABLE_DATASETS, DownloadableDataset, IMAGENETTE_VARIANTS, ImagenetteVariant, downloadDataset } from '../data/download';

/** `ssl-bench data download <dataset> --root DIR`: fetch, verify and extract a public dataset. */
export function registerData(program: Command): void {
  const data = program.command('data').description('manage datasets (download public ones)');
  data
    .command('download')
    .description('download a public dataset from its official location, verify its checksum and extract it (resumable)')
    .argument('<dataset>', DOWNLOADABLE_DATASETS.join(' | '))
    .requiredOption('--root <dir>', 'folder that receives the dataset (use the same value as data.root in the config)')
    .option('--mirror <url>', 'base URL of a mirror holding the same files (file names and checksums unchanged)')
    .option('--variant <size>', `imagenette resolution: ${IMAGENETTE_VARIANTS.join(' | ')}`, '160')
    .action(async (dataset: string, opts: { root: string; mirror?: string; variant: string }) => {
      if (!(DOWNLOADABLE_DATASETS as readonly string[]).includes(dataset)) {
        throw new UserError(`data download: unknown dataset ${JSON.stringify(dataset)}; allowed ${DOWNLOADABLE_DATASETS.join(', ')}`);
      }
      if (!(IMAGENETTE_VARIANTS as readonly string[]).includes(opts.variant)) {
        throw new UserError(`data download --variant: ${JSON.stringify(opts.variant)} is not an imagenette variant; allowed ${IMAGENETTE_VARIANTS.join(', ')}`);
      }
      if (opts.mirror !== undefined && !/^https?:\/\//.test(opts.mirror)) {
        throw new UserError(`data download --mirror: ${JSON.stringify(opts.mirror)} is not an http(s) URL`);
      }
      const dir = await downloadDataset(dataset as DownloadableDataset, opts.root, {
        mirror: opts.mirror,
        variant: opts.variant as ImagenetteVariant,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${dir}\n`);
    });
}
