import type { Command } from 'commander';
import { registerTable } from './table';
import { registerCompare } from './compare';
import { registerValidate } from './validate';
import { registerConfig } from './config';
import { registerList } from './list';
import { registerRun } from './run';
import { registerData } from './data';
import { registerAugmentPreview } from './augment-preview';
import { registerPlot } from './plot';
import { registerSweep } from './sweep';

/** Each command module exports one `register*` function; add new commands here. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerValidate(program);
  registerConfig(program);
  registerList(program);
  registerTable(program);
  registerCompare(program);
  registerData(program);
  registerAugmentPreview(program);
  registerPlot(program);
  registerSweep(program);
  void program;
}
