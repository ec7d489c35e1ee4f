import { Command, CommanderError } from 'commander';
import { UserError, EXIT } from './errors';
import { registerCommands } from './cli/index';

/** Builds the `ssl-bench` program; every command lives in its own module under cli/. */
export function buildProgram(): Command {
  const program = new Command('ssl-bench')
    .description('Self-supervised learning benchmarks: train from a YAML config, evaluate, write docs-ready tables.')
    .version(require('../package.json').version as string)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

/** Runs the CLI and resolves to the process exit code (0 ok, 1 failed run/regression, 2 bad input). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
