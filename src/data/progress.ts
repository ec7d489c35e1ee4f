import * as cliProgress from 'cli-progress';

/** Counts finished work items; a bar on a terminal, a few plain lines otherwise (logs, CI). */
export interface Progress {
  increment(count?: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Where plain lines go when not drawing a bar (default: stderr). */
  log?: (line: string) => void;
  /** Draw a bar; default: whether stderr is a terminal. */
  tty?: boolean;
}

export function startProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        // The caller chose a bar (opts.tty), so draw it even when stderr is not a terminal.
        noTTYOutput: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { increment: (count = 1) => bar.increment(count), stop: () => bar.stop() };
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  let done = 0;
  let nextReport = Math.ceil(total / 10);
  log(`${label}: 0/${total}`);
  return {
    increment(count = 1) {
      done += count;
      if (done >= nextReport && done < total) {
        log(`${label}: ${done}/${total} (${Math.floor((100 * done) / total)}%)`);
        while (nextReport <= done) nextReport += Math.ceil(total / 10);
      }
    },
    stop() {
      log(`${label}: ${done}/${total} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  };
}
