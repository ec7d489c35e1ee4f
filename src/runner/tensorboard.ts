/**
 * TensorBoard scalars of a run, next to metrics.csv: `events.out.tfevents.<unix seconds>.<host>`
 * in the run directory, so `tensorboard --logdir results/` lists every run.
 *
 * One scalar per metrics.csv value of each epoch row, under the column's name (loss, lr,
 * knn_top1, knn_top5, online_linear_top1, images_per_second, epoch_seconds, data_seconds,
 * eval_seconds) plus `epoch`, at step = the global training step at the end of that epoch (0 for
 * the floors' epoch-0 evaluation). Float32, as TensorBoard stores simple_value.
 *
 * Like metrics.csv the file is rewritten whole and atomically from the rows the runner keeps, so
 * after `--resume` it holds exactly the resumed run's epochs, each step once (epochs redone after
 * the last checkpoint replace their first attempt). Epochs restored from the checkpoint keep the
 * wall times the file already gave them; the file keeps its name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import type { EpochRow } from './metrics-csv';
import { decodeEventFile, encodeEventFile, FILE_VERSION, type TensorboardEvent } from './tensorboard-events';

export const EVENTS_FILE_PREFIX = 'events.out.tfevents.';

const SKIPPED_COLUMNS = new Set(['epoch', 'steps']);

/** The scalars of one epoch row, in metrics.csv's order of columns (no empty cells). */
export function rowScalars(row: EpochRow): { tag: string; value: number }[] {
  const out: { tag: string; value: number }[] = [{ tag: 'epoch', value: row.epoch }];
  const cells: [string, number | null][] = [
    ['loss', row.loss], ['lr', row.lr], ...Object.entries(row.eval).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ['epoch_seconds', row.epoch_seconds], ['data_seconds', row.data_seconds], ['eval_seconds', row.eval_seconds],
    ['images_per_second', row.images_per_second],
  ];
  for (const [tag, value] of cells) if (!SKIPPED_COLUMNS.has(tag) && value !== null && Number.isFinite(value)) out.push({ tag, value });
  return out;
}

export class TensorboardScalars {
  private readonly wallTimes = new Map<number, number>();
  private fileVersionTime: number;

  private constructor(readonly file: string, private readonly now: () => Date, restored: ReadonlyMap<number, number>, fileVersionTime: number) {
    this.fileVersionTime = fileVersionTime;
    for (const [step, t] of restored) this.wallTimes.set(step, t);
  }

  /**
   * The run's event file: the one already in `runDir` (its name and the wall times of the steps of
   * `keptRows`, the rows restored from the checkpoint), else a new name. Nothing is written yet.
   */
  static open(runDir: string, keptRows: readonly EpochRow[], now: () => Date = () => new Date()): TensorboardScalars {
    const opened = now().getTime() / 1000;
    const existing = fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((n) => n.startsWith(EVENTS_FILE_PREFIX)).sort() : [];
    if (existing.length === 0) {
      const name = `${EVENTS_FILE_PREFIX}${Math.floor(opened)}.${os.hostname()}`;
      return new TensorboardScalars(path.join(runDir, name), now, new Map(), opened);
    }
    const file = path.join(runDir, existing[0]);
    const kept = new Set(globalSteps(keptRows));
    const restored = new Map<number, number>();
    let fileVersionTime: number | null = null;
    let events: TensorboardEvent[] = [];
    try {
      events = decodeEventFile(fs.readFileSync(file));
    } catch {
      // A damaged file is derived data: it is rewritten from the rows with fresh wall times.
    }
    for (const e of events) {
      if ('fileVersion' in e) fileVersionTime ??= keptRows.length > 0 ? e.wallTime : null;
      else if (kept.has(e.step) && !restored.has(e.step)) restored.set(e.step, e.wallTime);
    }
    return new TensorboardScalars(file, now, restored, fileVersionTime ?? opened);
  }

  /** Rewrites the file from `rows` (all of the run's rows so far). */
  write(rows: readonly EpochRow[]): void {
    const steps = globalSteps(rows);
    const events: TensorboardEvent[] = [{ wallTime: this.fileVersionTime, step: 0, fileVersion: FILE_VERSION }];
    rows.forEach((row, i) => {
      let wallTime = this.wallTimes.get(steps[i]);
      if (wallTime === undefined) {
        wallTime = this.now().getTime() / 1000;
        this.wallTimes.set(steps[i], wallTime);
      }
      events.push({ wallTime, step: steps[i], scalars: rowScalars(row) });
    });
    writeFileAtomic(this.file, encodeEventFile(events));
  }
}

/** Global step at the end of each row: the running sum of the rows' steps. */
function globalSteps(rows: readonly EpochRow[]): number[] {
  let total = 0;
  return rows.map((r) => (total += r.steps));
}
