import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { readSummary, type RunSummary } from './summary';
import { experimentIdentity, type ExperimentIdentity } from './experiment';

export const SUMMARY_FILE = 'summary.json';
/** Names `ssl-bench run --force` gives the runs it replaces (`<dir>.replaced-<UTC time>`); collectors skip them. */
export const REPLACED_RUN_NAME = /\.replaced-\d{8}T\d{6}Z(-\d+)?$/;

export interface CollectedRun {
  summary: RunSummary;
  file: string;
  /** Position of the command-line input the run was found under (drives default row order). */
  inputIndex: number;
  /** Which runs are seeds of the same experiment; default: from the summary alone. */
  experiment?: ExperimentIdentity;
}

/**
 * Finds every summary.json under `inputs`: an input may be a summary file, a run directory
 * (holding summary.json) or a folder searched recursively. Symlinked folders are not followed,
 * so a results tree with links cannot make the walk loop.
 */
export function collectRuns(inputs: readonly string[]): CollectedRun[] {
  const runs: CollectedRun[] = [];
  inputs.forEach((input, inputIndex) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      throw new UserError(`${input}: no such file or directory; expected a run directory, a results folder or a summary.json`);
    }
    const files = stat.isFile() ? [input] : findSummaryFiles(input);
    if (files.length === 0) throw new UserError(`${input}: no ${SUMMARY_FILE} found in this folder or below; expected run directories written by \`ssl-bench run\``);
    for (const file of files) {
      const summary = readSummary(file);
      runs.push({ summary, file, inputIndex, experiment: experimentIdentity(summary, file) });
    }
  });
  return runs;
}

function findSummaryFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new UserError(`${dir}: cannot read results folder (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected a readable directory`);
  }
  if (entries.some((e) => e.name === SUMMARY_FILE && e.isFile())) return [path.join(dir, SUMMARY_FILE)];
  const found: string[] = [];
  // `ssl-bench run --force` keeps replaced runs as <dir>.replaced-<time>; they are history, not results.
  const subdirs = entries.filter((e) => e.isDirectory() && !REPLACED_RUN_NAME.test(e.name)).map((e) => e.name).sort();
  for (const name of subdirs) found.push(...findSummaryFiles(path.join(dir, name)));
  return found;
}
