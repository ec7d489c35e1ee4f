import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type ResolvedConfig } from '../../src/config';
import { CLAIM_FILE } from '../../src/sweep/claim';
import { writeFileAtomic } from '../../src/util/atomic';
import type { JsonValue, Position, StepResult, Training } from '../../src/runner/training';
import type { ProgressReporter } from '../../src/runner/progress';
import type { MetricValue } from '../../src/report/summary';

/** A clock the fake training advances: runtime numbers become exact. */
export class FakeClock {
  t = 0;
  readonly now = (): number => this.t;
  advance(seconds: number): void {
    this.t += seconds;
  }
}

export const STEP_SECONDS = 1.5;
export const EVAL_SECONDS = 2;
export const BUILD_SECONDS = 100;
export const POST_EVAL_SECONDS = 30;

export interface FakeOptions {
  stepsPerEpoch: number;
  totalEpochs: number;
  seed: number;
  clock: FakeClock;
  /** Called before each step with the step's global index; may throw (a crash) or raise signals. */
  beforeStep?: (globalStep: number) => void | Promise<void>;
  /** Global step whose loss is `badLoss` (default NaN). */
  badStep?: number;
  badLoss?: number;
  devicePeakBytes?: number | null;
  /** Called when the post-training evaluations start; may throw (a crash during them). */
  beforePostEvals?: () => void | Promise<void>;
}

/**
 * A deterministic stand-in for a real training: a scalar "weight" driven by a seeded LCG. Its
 * whole state (position, weight, generator) goes into the checkpoint, like a real one's must.
 */
export class FakeTraining implements Training {
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
  private globalStep = 0;
  private weight = 0;
  private rng: number;
  exported: string | null = null;
  stepsRun = 0;
  postEvalsRun = 0;

  constructor(private readonly opts: FakeOptions) {
    this.stepsPerEpoch = opts.stepsPerEpoch;
    this.totalEpochs = opts.totalEpochs;
    this.rng = (opts.seed * 2654435761 + 12345) >>> 0;
    // Model construction takes time the runtime must not include.
    opts.clock.advance(BUILD_SECONDS);
  }

  private random(): number {
    this.rng = (Math.imul(this.rng, 1664525) + 1013904223) >>> 0;
    return this.rng / 4294967296;
  }

  position(): Position {
    return { epoch: Math.floor(this.globalStep / this.stepsPerEpoch), step: this.globalStep % this.stepsPerEpoch, globalStep: this.globalStep };
  }

  async runStep(): Promise<StepResult> {
    await this.opts.beforeStep?.(this.globalStep);
    const r = this.random();
    this.weight = 0.9 * this.weight + r;
    let loss = 5 * Math.exp(-this.globalStep / 10) + 0.1 * r + 0.01 * this.weight;
    if (this.globalStep === this.opts.badStep) loss = this.opts.badLoss ?? Number.NaN;
    const lr = 0.06 * Math.cos((Math.PI / 2) * (this.globalStep / (this.stepsPerEpoch * this.totalEpochs)));
    this.globalStep += 1;
    this.stepsRun += 1;
    this.opts.clock.advance(STEP_SECONDS);
    return { loss, lr, images: 8, dataSeconds: 0.25 };
  }

  async evaluate(): Promise<Record<string, number>> {
    this.opts.clock.advance(EVAL_SECONDS);
    const top1 = 0.3 + 0.5 * (1 - Math.exp(-this.globalStep / 8)) + 0.05 * Math.sin(this.weight * 7);
    return { knn_top1: top1, knn_top5: Math.min(1, top1 + 0.15) };
  }

  /** A linear probe and a fine-tune whose accuracies depend only on the trained weight and the seed. */
  async postTrainingEvals(log: (line: string) => void): Promise<Record<string, MetricValue>> {
    await this.opts.beforePostEvals?.();
    this.postEvalsRun += 1;
    this.opts.clock.advance(POST_EVAL_SECONDS);
    log('fake linear probe epoch 1/1');
    const linear = 0.5 + 0.3 * Math.abs(Math.sin(this.weight * 3 + this.opts.seed));
    const finetune = Math.min(1, linear + 0.1);
    return {
      linear_top1: { value: linear, protocol: 'fake linear probe, top1, max over epochs' },
      linear_top5: { value: Math.min(1, linear + 0.2), protocol: 'fake linear probe, top5, max over epochs' },
      finetune_top1: { value: finetune, protocol: 'fake fine-tune, top1, max over epochs' },
    };
  }

  async saveCheckpoint(file: string, runnerState: JsonValue): Promise<void> {
    writeFileAtomic(file, JSON.stringify({ globalStep: this.globalStep, weight: this.weight, rng: this.rng, runnerState }));
  }

  async loadCheckpoint(file: string): Promise<JsonValue> {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { globalStep: number; weight: number; rng: number; runnerState: JsonValue };
    this.globalStep = saved.globalStep;
    this.weight = saved.weight;
    this.rng = saved.rng;
    return saved.runnerState;
  }

  async exportBackbone(file: string): Promise<void> {
    writeFileAtomic(file, `fake backbone, weight ${this.weight}\n`);
    this.exported = file;
  }

  deviceMemoryPeakBytes(): number | null {
    return this.opts.devicePeakBytes ?? null;
  }

  describe(): { device: string; ortVersion: string; params: number } {
    return { device: 'cpu', ortVersion: '1.30.0', params: 1 };
  }
}

/** A progress reporter that records what the loop told it. */
export class RecordingProgress implements ProgressReporter {
  readonly events: string[] = [];
  start(): void { this.events.push('start'); }
  step(): void { this.events.push('step'); }
  epochEnd(row: { epoch: number }): void { this.events.push(`epoch ${row.epoch}`); }
  log(line: string): void { this.events.push(line); }
  stop(): void { this.events.push('stop'); }
}

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-runner-'));
}

/**
 * Copies a live run directory as a SIGKILL at this moment would leave it. The killed holder's
 * claim would be stale (its pid gone); here the holder is this test process, still alive, so the
 * copy's claim file is dropped instead.
 */
export function snapshotAsKilled(liveDir: string, snapshot: string): void {
  fs.cpSync(liveDir, snapshot, { recursive: true });
  fs.rmSync(path.join(snapshot, CLAIM_FILE), { force: true });
}

/** A resolved config for a tiny run; `set` entries are `--set` style overrides. */
export function makeConfig(dir: string, set: string[] = []): ResolvedConfig {
  const file = path.join(dir, 'fake.yaml');
  fs.writeFileSync(file, 'name: fake\nmethod: {name: simclr}\ntrain: {epochs: 4, batch_size: 8}\n');
  return loadConfig(file, { set });
}

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}
