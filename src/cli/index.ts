import type { Command } from 'commander';

/** Each command module exports one `register*` function; add new commands here. */
export function registerCommands(program: Command): void {
  void program;
}
