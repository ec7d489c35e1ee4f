import type { Command } from 'commander';
import { UserError } from '../errors';
import { loadConfig, configHash, expandConfigArgs } from '../config';
import { addSetOption } from '../config/set-option';
import { checkRunnable } from '../runner/prepare-method';

interface ValidateResult {
  file: string;
  ok: boolean;
  hash?: string;
  /** Only meant to be extended (`abstract: true`): checked, but not an experiment by itself. */
  abstract?: boolean;
  error?: string;
}

/** `ssl-bench validate <files...>`: resolves every config and reports each one; exit 2 if any is invalid. */
export function registerValidate(program: Command): void {
  const cmd = program
    .command('validate')
    .description('check config files without running them or loading data (config rules, then the preset, backbone and method a run would build): prints "ok <file> (<hash>)" or the error for each')
    .argument('<files...>', 'config files (YAML) or folders of them (abstract files such as base.yaml are checked too)')
    .option('--json', 'print the results as a JSON array');
  addSetOption(cmd).action((files: string[], opts: { set?: string[]; json?: boolean }) => {
    const results: ValidateResult[] = expandConfigArgs(files).map(({ file, abstract }) => {
      try {
        const config = loadConfig(file, { set: opts.set ?? [] });
        const hash = configHash(config);
        // A base file need not be runnable by itself; a row must be (preset, backbone, method, views).
        if (!abstract) {
          try {
            checkRunnable(config);
          } catch (err) {
            if (err instanceof UserError) throw new UserError(`${file}: ${err.message}`);
            throw err;
          }
        }
        return abstract ? { file, ok: true, hash, abstract } : { file, ok: true, hash };
      } catch (err) {
        if (err instanceof UserError) return { file, ok: false, error: err.message };
        throw err;
      }
    });
    if (opts.json) out(JSON.stringify(results, null, 2));
    else for (const r of results) r.ok ? out(`ok ${r.file} (${r.abstract ? 'abstract, only meant to be extended' : r.hash})`) : process.stderr.write(`${r.error}\n`);
    const invalid = results.filter((r) => !r.ok).length;
    if (invalid > 0) throw new UserError(`validate: ${invalid} of ${results.length} config${results.length === 1 ? '' : 's'} invalid`);
  });
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
