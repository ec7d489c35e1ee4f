import * as cliProgress from 'cli-progress';
import type { EpochRow } from './metrics-csv';
import type { Position } from './training';

/**
 * Training progress for people watching: two cli-progress bars (epochs; steps with loss, lr,
 * images/s, ETA, last kNN top-1) on a terminal, plain lines every few seconds and at every epoch
 * end elsewhere (CI logs, `nohup`, Slurm output files).
 */

export interface ProgressStart {
  /** Shown in front of every plain line, e.g. "simclr-bs128-ep200 seed 0". */
  title: string;
  totalEpochs: number;
  stepsPerEpoch: number;
  /** Steps the run will do in total (train.max_steps may cut it short). */
  totalSteps: number;
  /** Where the run starts (not 0 after --resume). */
  start: Position;
}

export interface StepUpdate {
  /** The next step (after the one just run). */
  position: Position;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  /** Estimated seconds left, or null before it can be estimated. */
  etaSeconds: number | null;
  /** Top-1 of the latest kNN evaluation, or null before the first. */
  lastKnnTop1: number | null;
}

export interface ProgressReporter {
  start(info: ProgressStart): void;
  step(update: StepUpdate): void;
  epochEnd(row: EpochRow): void;
  /** A message that must not be torn by a bar redraw. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Draw bars; default: whether `stream` is a terminal. */
  tty?: boolean;
  /** Seconds between plain step lines (non-TTY). */
  intervalSeconds?: number;
  /** Monotonic clock in seconds (tests inject one). */
  clock?: () => number;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

const fixed = (value: number | null, digits: number): string => (value === null ? '-' : value.toFixed(digits));
const lrText = (lr: number): string => (lr === 0 ? '0' : lr >= 1e-3 ? lr.toPrecision(4) : lr.toExponential(3));

function epochLine(row: EpochRow, totalEpochs: number): string {
  const evals = Object.entries(row.eval).map(([name, value]) => ` ${name} ${value.toFixed(4)}`).join('');
  if (row.epoch === 0) return `evaluated as initialised (no pretraining):${evals} (eval ${row.eval_seconds.toFixed(1)} s)`;
  return `epoch ${row.epoch}/${totalEpochs} done: loss ${fixed(row.loss, 4)} lr ${row.lr === null ? '-' : lrText(row.lr)}${evals}`
    + ` (${row.epoch_seconds.toFixed(1)} s, data ${row.data_seconds.toFixed(1)} s, eval ${row.eval_seconds.toFixed(1)} s, ${row.images_per_second.toFixed(1)} img/s)`;
}

/** Plain lines: one every `intervalSeconds` while stepping, one per epoch end. */
class PlainProgress implements ProgressReporter {
  private info: ProgressStart | null = null;
  private lastLine = 0;

  constructor(private readonly write: (text: string) => void, private readonly intervalSeconds: number, private readonly clock: () => number) {}

  start(info: ProgressStart): void {
    this.info = info;
    this.lastLine = this.clock();
    const where = info.start.globalStep === 0 ? 'starting' : `resuming at epoch ${info.start.epoch + 1} step ${info.start.step + 1}`;
    this.log(`${where}: ${info.totalEpochs} epochs x ${info.stepsPerEpoch} steps (${info.totalSteps} steps to run in total)`);
  }

  step(u: StepUpdate): void {
    const now = this.clock();
    if (now - this.lastLine < this.intervalSeconds || this.info === null) return;
    this.lastLine = now;
    const { epoch, step, globalStep } = u.position;
    // The position is the next step; the one just finished is step - 1 (or the previous epoch's last).
    const doneEpoch = step === 0 ? epoch : epoch + 1;
    const doneStep = step === 0 ? this.info.stepsPerEpoch : step;
    this.log(`epoch ${doneEpoch}/${this.info.totalEpochs} step ${doneStep}/${this.info.stepsPerEpoch}`
      + ` (${globalStep}/${this.info.totalSteps}) loss ${u.loss.toFixed(4)} lr ${lrText(u.lr)} ${u.imagesPerSecond.toFixed(1)} img/s`
      + ` eta ${u.etaSeconds === null ? '-' : formatDuration(u.etaSeconds)} knn_top1 ${fixed(u.lastKnnTop1, 4)}`);
  }

  epochEnd(row: EpochRow): void {
    this.lastLine = this.clock();
    this.log(epochLine(row, this.info?.totalEpochs ?? row.epoch));
  }

  log(line: string): void {
    const title = this.info?.title;
    this.write(`${title ? `[${title}] ` : ''}${line}\n`);
  }

  stop(): void {
    this.info = null;
  }
}

/** Two bars on a terminal; epoch summaries are logged above them. */
class BarProgress implements ProgressReporter {
  private multibar: cliProgress.MultiBar | null = null;
  private epochBar: cliProgress.SingleBar | null = null;
  private stepBar: cliProgress.SingleBar | null = null;
  private info: ProgressStart | null = null;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  start(info: ProgressStart): void {
    this.info = info;
    this.multibar = new cliProgress.MultiBar({
      stream: this.stream as NodeJS.WriteStream,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      format: '{name} [{bar}] {value}/{total} {details}',
      barsize: 24,
    }, cliProgress.Presets.shades_classic);
    this.epochBar = this.multibar.create(info.totalEpochs, info.start.epoch, { name: 'epoch', details: `knn_top1 -  ${info.title}` });
    this.stepBar = this.multibar.create(info.stepsPerEpoch, info.start.step, { name: 'step ', details: '' });
  }

  step(u: StepUpdate): void {
    if (!this.info || !this.epochBar || !this.stepBar) return;
    const epochDone = u.position.step === 0;
    this.stepBar.update(epochDone ? this.info.stepsPerEpoch : u.position.step, {
      details: `loss ${u.loss.toFixed(4)} lr ${lrText(u.lr)} ${u.imagesPerSecond.toFixed(1)} img/s eta ${u.etaSeconds === null ? '-' : formatDuration(u.etaSeconds)}`,
    });
    this.epochBar.update(u.position.epoch, { details: `knn_top1 ${fixed(u.lastKnnTop1, 4)}  ${this.info.title}` });
  }

  epochEnd(row: EpochRow): void {
    this.log(epochLine(row, this.info?.totalEpochs ?? row.epoch));
    // The step bar restarts only for an epoch that follows: after the last one it stays full,
    // rather than an empty bar redrawn under the post-training logs and left on the screen.
    if (this.info !== null && row.epoch < this.info.totalEpochs) this.stepBar?.update(0);
  }

  log(line: string): void {
    if (this.multibar) {
      this.multibar.log(`${line}\n`);
      // Logged lines only reach the terminal on a redraw; draw now so they are never lost at stop().
      this.multibar.update();
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  stop(): void {
    this.multibar?.stop();
    this.multibar = null;
    this.epochBar = null;
    this.stepBar = null;
  }
}

/** A reporter writing to `stream` (default stderr, so stdout stays for results). */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, options: ProgressOptions = {}): ProgressReporter {
  const tty = options.tty ?? Boolean(stream.isTTY);
  if (tty) return new BarProgress(stream);
  const clock = options.clock ?? (() => performance.now() / 1000);
  return new PlainProgress((text) => stream.write(text), options.intervalSeconds ?? 30, clock);
}
