import { UserError } from '../errors';
import type { ResolvedConfig } from '../config';

export interface RunOptions {
  /** Continue from the run directory's last checkpoint instead of starting over. */
  resume: boolean;
  /** Run even though the run directory holds a finished result. */
  force: boolean;
}

/**
 * Trains and evaluates one resolved config inside `runDir`, which already holds
 * `config.resolved.yaml`. This build has no training engine yet, so it says so as a failed run.
 */
export async function runExperiment(config: ResolvedConfig, runDir: string, options: RunOptions): Promise<void> {
  void config;
  void options;
  throw new UserError(`run: training engine not available yet in this build (config validated, run directory ${runDir} prepared)`, 1);
}
