import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { UserError } from '../errors';
import { loadConfig, configHash, resolvedConfigYaml, displayPath, expandConfigArgs } from '../config';
import type { ResolvedConfig } from '../config';
import { addSetOption } from '../config/set-option';
import { writeFileAtomic } from '../util/atomic';
import { runExperiment } from '../runner';
import { CONV_LAYOUT_PREFERENCES, setConvLayoutPreference, type ConvLayoutPreference } from '../engine/conv-layout';
import { removeIfNeverTrained } from '../runner/run-dir';

interface RunCliOptions {
  output?: string;
  set?: string[];
  resume?: boolean;
  force?: boolean;
  maxSteps?: number;
  threads?: number;
  nchwc?: ConvLayoutPreference;
}

interface PlannedRun {
  file: string;
  config: ResolvedConfig;
  runDir: string;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

/**
 * --threads: at most this machine's cores. More intra-op threads than cores only measure contention
 * (a quickstart ran at 1.8 img/s with them).
 */
function threadCount(value: string): number {
  const n = positiveInteger(value);
  const cores = os.availableParallelism();
  if (n > cores) throw new InvalidArgumentError(`${n} is more than this machine's ${cores} cores; use at most ${cores}`);
  return n;
}

function convLayoutPreference(value: string): ConvLayoutPreference {
  if (!(CONV_LAYOUT_PREFERENCES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${CONV_LAYOUT_PREFERENCES.join(' or ')}`);
  return value as ConvLayoutPreference;
}

/** Whether `runDir` already holds a completed run (summary.json with status "finished", or "smoke" for a --max-steps run). */
function finishedSummary(runDir: string): string | null {
  const file = path.join(runDir, 'summary.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${displayPath(file)}: cannot read summary: ${(err as Error).message}`);
  }
  let summary: unknown;
  try {
    summary = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${displayPath(file)}: malformed summary.json (${(err as Error).message}); delete it or rerun with --force`);
  }
  const status = (summary as { status?: unknown } | null)?.status;
  return status === 'finished' || status === 'smoke' ? file : null;
}

/**
 * `ssl-bench run <configs...>`: resolves and validates every config before starting any, prepares
 * `<output>/<name>-<hash>/config.resolved.yaml` and hands each run to the training engine.
 */
export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('train and evaluate configs; each run writes to <output>/<name>-<hash>/')
    .argument('<configs...>', 'config files (YAML) or folders of them; files marked `abstract: true` (a suite\'s base.yaml) are skipped')
    .option('--output <dir>', 'folder that receives run directories (overrides the config\'s output)')
    .option('--resume', 'continue unfinished runs from their last checkpoint')
    .option('--force', 'rerun even when a finished result exists')
    .option('--max-steps <n>', 'stop each run after n optimizer steps (sets train.max_steps)', positiveInteger)
    .option('--threads <n>', 'intra-op threads per ONNX Runtime session (default: every core). CPU results are reproducible for a config, seed and thread count; conv weight gradients are computed so that the count does not change them (the CI ResNet run is bitwise equal at 1 and 4 threads), other layers are not checked for every shape, so the count is recorded in summary.json and --resume must use the same one; at most the core count', threadCount)
    .option('--nchwc <auto|off>', 'convolutions on the CPU: auto (default) runs ONNX Runtime\'s NCHWc convolutions at this CPU\'s channel block (16 AVX-512, 8 AVX2) after a self-check against plain Conv, off runs plain ONNX Conv; results differ at float-rounding level, like --threads; summary.json records conv_layout; GPU devices and backbone.onnx always use plain Conv', convLayoutPreference, 'auto');
  addSetOption(cmd).action(async (files: string[], opts: RunCliOptions) => {
    setConvLayoutPreference(opts.nchwc ?? 'auto');
    const set = opts.maxSteps !== undefined ? [...(opts.set ?? []), `train.max_steps=${opts.maxSteps}`] : opts.set ?? [];
    const expanded = expandConfigArgs(files);
    const runnable = expanded.filter((f) => !f.abstract).map((f) => f.file);
    const abstract = expanded.filter((f) => f.abstract).map((f) => f.file);
    if (runnable.length === 0) {
      throw new UserError(`run: ${abstract.join(', ')} ${abstract.length === 1 ? 'is' : 'are'} abstract (only meant to be extended); run a config that extends ${abstract.length === 1 ? 'it' : 'them'}`);
    }
    for (const file of abstract) process.stdout.write(`${file}: abstract (only meant to be extended), skipped\n`);
    const plans: PlannedRun[] = [];
    for (const file of runnable) {
      const config = loadConfig(file, { set });
      if (opts.output !== undefined) config.output = opts.output;
      const runDir = path.join(config.output, `${config.name}-${configHash(config)}`);
      // Same name and hash: the same experiment (e.g. configs/cifar10/simclr.yaml, the alias of the
      // suite's default SimCLR row, next to that row), so it runs once.
      const twin = plans.find((p) => p.runDir === runDir);
      if (twin) {
        process.stdout.write(`${file}: same experiment as ${twin.file} (${runDir}), run once\n`);
        continue;
      }
      plans.push({ file, config, runDir });
    }
    for (const { file, config, runDir } of plans) {
      const finished = finishedSummary(runDir);
      if (finished && !opts.force) {
        process.stdout.write(`${file}: already finished, results in ${finished} (use --force to rerun)\n`);
        continue;
      }
      fs.mkdirSync(runDir, { recursive: true });
      writeFileAtomic(path.join(runDir, 'config.resolved.yaml'), resolvedConfigYaml(config));
      process.stdout.write(`${file}: run directory ${runDir}\n`);
      try {
        await runExperiment(config, runDir, { resume: opts.resume === true, force: opts.force === true, configFile: file, threads: opts.threads });
      } catch (err) {
        // A run that failed before its first step (e.g. data not found) leaves no directory behind.
        if (removeIfNeverTrained(runDir)) process.stdout.write(`${file}: nothing was trained; removed ${runDir}\n`);
        throw err;
      }
    }
  });
}
