import type { Command } from 'commander';
import { loadConfig, configHash, resolvedConfigYaml } from '../config';
import { addSetOption } from '../config/set-option';

/** `ssl-bench config <file>`: prints the resolved config (defaults filled, extends merged) and its hash. */
export function registerConfig(program: Command): void {
  const cmd = program
    .command('config')
    .description('print the resolved config (all defaults filled, extends merged, --set applied) and its hash')
    .argument('<file>', 'config file (YAML)')
    .option('--json', 'print {"hash": ..., "config": {...}} as JSON instead of YAML');
  addSetOption(cmd).action((file: string, opts: { set?: string[]; json?: boolean }) => {
    const config = loadConfig(file, { set: opts.set ?? [] });
    if (opts.json) out(JSON.stringify({ hash: configHash(config), config }, null, 2));
    else out(resolvedConfigYaml(config));
  });
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
