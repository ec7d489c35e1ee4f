import type { Command } from 'commander';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the repeatable `--set key.path=value` override option shared by validate, config and run. */
export function addSetOption(cmd: Command): Command {
  return cmd.option('--set <key.path=value>', 'override a config field (value read as YAML); repeatable', collect);
}
