import type { ResolvedConfig } from '../config';
import type { MetricValue } from '../report/summary';

/**
 * The contract between the run lifecycle (runLoop: epochs, checkpoints, resume, metrics, summary)
 * and one assembled pretraining (networks + loss + augmentation + data + engine). The runner never
 * touches tensors; a Training never touches the run directory except through the files it is given.
 */

/** Where a training stands: the next step it will run (epoch and step are 0-based). */
export interface Position {
  epoch: number;
  /** Step inside `epoch`, 0 ..< stepsPerEpoch. */
  step: number;
  /** epoch * stepsPerEpoch + step. */
  globalStep: number;
}

export interface StepResult {
  /** Training loss of this step; NaN or ±Infinity makes the runner stop the run as diverged. */
  loss: number;
  /** Learning rate the step used (after scaling and schedule). */
  lr: number;
  /** Images consumed by the step (batch size; counts each image once, not once per view). */
  images: number;
  /** Seconds the step waited for data (decode, sampling, augmentation parameters). */
  dataSeconds: number;
}

/** JSON the runner stores inside every checkpoint and gets back verbatim on load. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Training {
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
  /** The next step to run; after the last step of epoch e this is { epoch: e + 1, step: 0 }. */
  position(): Position;
  /** Runs one optimisation step at position() and advances it by one. */
  runStep(): Promise<StepResult>;
  /**
   * Online evaluation at the current state (kNN, online linear classifier): accuracies as
   * fractions in [0, 1], named like summary metrics (`knn_top1`, `knn_top5`, `online_linear_top1`).
   */
  evaluate(): Promise<Record<string, number>>;
  /**
   * The evaluations that follow pretraining (linear probe, fine-tune; docs/methods.md §5.3, §5.4) of
   * the current backbone, as summary metrics with their protocols (none when the config enables
   * none). Leaves the training state unchanged and depends only on it and the seed, so running
   * it again after a crash gives the same metrics. `log` receives one line per finished epoch.
   */
  postTrainingEvals(log: (line: string) => void): Promise<Record<string, MetricValue>>;
  /**
   * Writes everything needed to continue bitwise (parameters, optimizer state, buffers, RNG and
   * sampler state, position) plus `runnerState` to `file` in one atomic write (temp + rename), so
   * the file on disk is always a complete checkpoint, whatever moment the process dies.
   */
  saveCheckpoint(file: string, runnerState: JsonValue): Promise<void>;
  /** Restores the state saved by saveCheckpoint (position included) and returns its runnerState. */
  loadCheckpoint(file: string): Promise<JsonValue>;
  /** Writes the trained backbone as a standalone ONNX model (`images` NCHW float32 -> `features`). */
  exportBackbone(file: string): Promise<void>;
  /** Peak device memory in bytes since the training was built; null where the EP exposes none (CPU). */
  deviceMemoryPeakBytes(): number | null;
  /** convLayout: how the training step's convolutions ran on the CPU EP (engine/conv-layout.ts ConvLayout); absent without a step. */
  describe(): { device: string; ortVersion: string; params: number; convLayout?: string };
  /** Releases what the training holds beyond memory (the batch prefetch thread); called once the run ends. */
  close?(): Promise<void>;
}

/**
 * Builds the training of one run. `config.seed` is already this run's seed (config seed + run
 * index); `runDir` is the directory the run writes to (for caches the training may keep there).
 * Construction time (graph building, session creation, data caches) is not counted as runtime.
 */
export type TrainingFactory = (config: ResolvedConfig, runDir: string) => Promise<Training>;
