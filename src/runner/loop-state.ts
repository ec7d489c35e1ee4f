import type { MemoryKind } from '../report/summary';
import type { EpochRow } from './metrics-csv';
import type { JsonValue, Position } from './training';

/**
 * What the run loop itself must remember to continue exactly where it stopped. It travels inside
 * the training checkpoint (Training.saveCheckpoint's runnerState), so model state and loop state
 * are written by one atomic rename and can never disagree after a crash.
 */

export const LOOP_STATE_FORMAT = 'ssl-bench-loop-state/1';

/** Accumulators of an epoch interrupted by SIGINT/SIGTERM (a mid-epoch checkpoint). */
export interface PartialEpoch {
  steps: number;
  lossSum: number;
  lr: number;
  images: number;
  dataSeconds: number;
  /** Wall-clock seconds of the steps so far. */
  stepWallSeconds: number;
}

export interface LoopState {
  format: typeof LOOP_STATE_FORMAT;
  configHash: string;
  seed: number;
  /** Position the training is at when this state was saved (checked against the restored training). */
  next: Position;
  /** Completed epochs, in order. */
  rows: EpochRow[];
  partial: PartialEpoch | null;
  /** Training wall-clock seconds accumulated over all sessions up to this checkpoint. */
  elapsedSeconds: number;
  peakMemoryBytes: number | null;
  memoryKind: MemoryKind;
  startedAt: string;
  /**
   * Every pretraining step and epoch-end evaluation is done (set in the last epoch's checkpoint);
   * what remains are the post-training evaluations, which a resume reruns from this state.
   * Checkpoints written before the field existed read as false.
   */
  pretrainingComplete: boolean;
  /**
   * ONNX Runtime intra-op threads the run trained with; CPU results depend on it (MLAS GEMM
   * blocking), so a resume must use the same count. Null in checkpoints written before the field existed.
   */
  threads: number | null;
  /**
   * How the training step's convolutions ran in the session that wrote the checkpoint
   * (Training.describe convLayout: NCHWc at a block or plain); null in older checkpoints and
   * trainings without a step.
   */
  convLayout: string | null;
}

export function emptyPartial(): PartialEpoch {
  return { steps: 0, lossSum: 0, lr: 0, images: 0, dataSeconds: 0, stepWallSeconds: 0 };
}

export function loopStateToJson(state: LoopState): JsonValue {
  // Every field is plain JSON (numbers are finite: a non-finite loss never reaches the state).
  return JSON.parse(JSON.stringify(state)) as JsonValue;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isPosition(v: unknown): v is Position {
  return isObject(v) && Number.isInteger(v.epoch) && Number.isInteger(v.step) && Number.isInteger(v.globalStep);
}

function isRow(v: unknown): v is EpochRow {
  const numberOrNull = (x: unknown): boolean => x === null || isNumber(x);
  return isObject(v) && Number.isInteger(v.epoch) && Number.isInteger(v.steps) && numberOrNull(v.loss) && numberOrNull(v.lr)
    && isObject(v.eval) && Object.values(v.eval).every(isNumber)
    && isNumber(v.epoch_seconds) && isNumber(v.data_seconds) && isNumber(v.eval_seconds) && isNumber(v.images_per_second);
}

function isPartial(v: unknown): v is PartialEpoch {
  return isObject(v) && ['steps', 'lossSum', 'lr', 'images', 'dataSeconds', 'stepWallSeconds'].every((k) => isNumber(v[k]));
}

/**
 * Checks the runner state read back from `file`; a checkpoint from another tool version or a
 * corrupted header is a UserError-worthy condition the caller reports with the file name.
 */
export function parseLoopState(value: JsonValue): LoopState | string {
  if (!isObject(value)) return 'no runner state in the checkpoint';
  if (value.format !== LOOP_STATE_FORMAT) return `runner state format ${JSON.stringify(value.format)}; expected "${LOOP_STATE_FORMAT}"`;
  if (typeof value.configHash !== 'string' || !Number.isInteger(value.seed)) return 'runner state lacks configHash/seed';
  if (!isPosition(value.next)) return 'runner state has no valid position';
  if (!Array.isArray(value.rows) || !value.rows.every(isRow)) return 'runner state has malformed epoch rows';
  if (value.partial !== null && !isPartial(value.partial)) return 'runner state has a malformed partial epoch';
  if (!isNumber(value.elapsedSeconds) || value.elapsedSeconds < 0) return 'runner state has no valid elapsedSeconds';
  if (value.peakMemoryBytes !== null && !isNumber(value.peakMemoryBytes)) return 'runner state has no valid peakMemoryBytes';
  if (value.memoryKind !== 'device' && value.memoryKind !== 'process-rss') return 'runner state has no valid memoryKind';
  if (typeof value.startedAt !== 'string') return 'runner state has no startedAt';
  if (value.pretrainingComplete !== undefined && typeof value.pretrainingComplete !== 'boolean') return 'runner state has a non-boolean pretrainingComplete';
  if (value.threads !== undefined && value.threads !== null && !(Number.isInteger(value.threads) && (value.threads as number) >= 1)) return 'runner state has an invalid threads count';
  if (value.convLayout !== undefined && value.convLayout !== null && typeof value.convLayout !== 'string') return 'runner state has a non-string convLayout';
  return {
    ...(value as unknown as LoopState), pretrainingComplete: value.pretrainingComplete === true, threads: (value.threads as number | undefined) ?? null,
    convLayout: (value.convLayout as string | undefined) ?? null,
  };
}
