import * as ort from 'onnxruntime-node';
import { presetFromConfig, type AugmentPreset } from '../augment';
import { configHash, type ResolvedConfig } from '../config';
import type { LoadedDataset } from '../data';
import { Rng } from '../data/rng';
import { exportBackbone, loadCheckpoint, restoreState, saveCheckpoint, StateStore, type HostData, type ResolvedDevice, type StateEntry } from '../engine';
import { UserError } from '../errors';
import { runPostTrainingEvals } from '../eval/probe-protocol';
import { createBackbone, initParameters, type Module } from '../nn';
import type { MetricValue } from '../report/summary';
import { BackboneEvaluation, loadRunData, type EvalImages } from './backbone-evaluation';
import type { PretrainOptions } from './pretrain';
import type { JsonValue, Position, StepResult, Training } from './training';

/**
 * Method `none`: the floor rows of a results table. The backbone is evaluated as initialised, with
 * no training (totalEpochs 0): runLoop evaluates once (kNN, as every run does at its epoch ends,
 * through the same BackboneEvaluation), exports the backbone and runs the configured post-training
 * evaluations on it.
 *
 * Initial values: the backbone alone, under the prefix `backbone`, from `new Rng(seed).fork('init')`.
 * Pretraining draws every tensor from `runRng.fork('init').fork('init:' + name)` with runRng =
 * `new Rng(seed)` (nn/init.ts, assembleState in pretrain.ts), and every method trains its backbone
 * under that prefix, so the random-init floor of seed s is exactly the backbone any method's run of
 * seed s starts from (same backbone, width and input channels). `pixels` has no parameters: its
 * feature is the normalised image.
 *
 * Post-training evaluations: the linear probe runs on the frozen initial backbone (or the pixels);
 * the fine-tune runs from the random initialisation; a fine-tune of `pixels` is refused (nothing
 * to fine-tune but the head, which is the linear probe).
 */

/** The prefix every method trains its backbone under, and the one the floors evaluate. */
const BACKBONE_PREFIX = 'backbone';

interface CheckpointExtra {
  runner: JsonValue;
}

export class NoPretraining implements Training {
  readonly stepsPerEpoch = 0;
  readonly totalEpochs = 0;

  private constructor(
    private readonly config: ResolvedConfig,
    private readonly data: { train: LoadedDataset; test: LoadedDataset; evalImages: EvalImages },
    private readonly preset: AugmentPreset,
    private readonly backboneModule: Module,
    private readonly featureDim: number,
    readonly state: StateStore,
    private readonly evaluation: BackboneEvaluation,
    private readonly device: ResolvedDevice,
    private readonly threads: number | undefined,
  ) {}

  static async create(config: ResolvedConfig, runDir: string, opts: PretrainOptions): Promise<NoPretraining> {
    if (config.method.name !== 'none' || config.train.epochs !== 0) {
      throw new Error(`NoPretraining: method ${config.method.name} with ${config.train.epochs} epochs; it runs method none with 0 epochs (the config rules guarantee it)`);
    }
    const pixels = config.backbone.name === 'pixels';
    if (pixels && config.eval.finetune.enabled) {
      throw new UserError('eval.finetune: the pixels backbone has no parameters to fine-tune (only a head, which is eval.linear); set eval.finetune.enabled: false');
    }
    const data = await loadRunData(config, runDir, opts);
    const preset = presetFromConfig(config, { inputChannels: data.train.channels, singleChannel: 'gray' });
    const inputSize = config.augmentation.input_size;
    const { crop, train: bank } = data.evalImages;
    const [evalHeight, evalWidth] = crop === null ? [bank.height, bank.width] : [crop, crop];
    // Its feature size is C·H·W of what it embeds; the export and the probes assume input_size images.
    if (pixels && (evalHeight !== inputSize || evalWidth !== inputSize)) {
      throw new UserError(`augmentation.input_size: ${inputSize}, but the pixels backbone embeds the eval-transform images, which are ${evalHeight}x${evalWidth} (data.image_size ${config.data.image_size}, eval_transform ${config.augmentation.eval_transform}); set augmentation.input_size: ${evalHeight} or use square images of that size`);
    }
    const backbone = createBackbone(config.backbone.name, {
      width: config.backbone.width, inChannels: preset.outputChannels, imageSize: config.backbone.image_size ?? inputSize,
      splitBn: config.backbone.split_bn > 1 ? config.backbone.split_bn : 1,
      patchSize: config.backbone.patch_size ?? undefined, depth: config.backbone.depth ?? undefined,
    });
    const params = backbone.module.parameters(BACKBONE_PREFIX);
    const buffers = backbone.module.buffers(BACKBONE_PREFIX);
    const entries: StateEntry[] = [
      ...params.map((p) => ({ name: p.name, shape: p.shape, dtype: 'float32' as const, role: 'frozen' as const })),
      ...buffers.map((b) => ({ name: b.name, shape: b.shape, dtype: b.dtype, role: 'buffer' as const })),
    ];
    const state = new StateStore(entries, initParameters([...params, ...buffers], new Rng(config.seed).fork('init')));
    const evaluation = new BackboneEvaluation({
      config, images: data.evalImages, backbone: { module: backbone.module, prefix: BACKBONE_PREFIX, state },
      normalization: preset.normalization, device: config.device, threads: opts.threads,
    });
    const device = await evaluation.open();
    return new NoPretraining(config, data, preset, backbone.module, backbone.featureDim, state, evaluation, device, opts.threads);
  }

  position(): Position {
    return { epoch: 0, step: 0, globalStep: 0 };
  }

  async runStep(): Promise<StepResult> {
    throw new Error('NoPretraining.runStep: method none has no training steps (totalEpochs 0)');
  }

  /** kNN on the test split, backbone as initialised in eval mode, eval transform. */
  evaluate(): Promise<Record<string, number>> {
    return this.evaluation.evaluate();
  }

  /** Linear probe and fine-tune (runPostTrainingEvals) from the initial backbone. */
  async postTrainingEvals(log: (line: string) => void): Promise<Record<string, MetricValue>> {
    const values = new Map<string, HostData>(this.state.entries.map((e) => [e.name, this.state.data(e.name)]));
    return runPostTrainingEvals(this.config, {
      backbone: this.backboneModule, values, prefix: BACKBONE_PREFIX, featureDim: this.featureDim,
      train: this.data.train, test: this.data.test, evalImages: this.data.evalImages,
      device: this.device, seed: this.config.seed, threads: this.threads, log,
    });
  }

  async saveCheckpoint(file: string, runnerState: JsonValue): Promise<void> {
    const extra: CheckpointExtra = { runner: runnerState };
    saveCheckpoint(file, this.state, {
      step: 0, epoch: 0, rng: new Rng(this.config.seed).fork('init').state(), sampler: null,
      configHash: configHash(this.config), extra: extra as unknown as Record<string, unknown>,
    });
  }

  async loadCheckpoint(file: string): Promise<JsonValue> {
    const ckpt = loadCheckpoint(file, { configHash: configHash(this.config) });
    restoreState(this.state, ckpt, file);
    const extra = ckpt.meta.extra as unknown as CheckpointExtra | undefined;
    if (!extra) throw new UserError(`${file}: checkpoint has no run-loop state (written by another tool?); rerun with --force to start over`);
    return extra.runner;
  }

  async exportBackbone(file: string): Promise<void> {
    exportBackbone(file, this.backboneModule, { get: (name) => (this.state.has(name) ? this.state.data(name) : undefined) }, {
      prefix: BACKBONE_PREFIX, channels: this.preset.outputChannels, imageSize: this.config.augmentation.input_size,
    });
  }

  deviceMemoryPeakBytes(): number | null {
    // As Pretraining: ORT exposes no allocator statistics; the runner reports the process's peak RSS.
    return null;
  }

  /** convLayout: the kNN embedding's (a floor has no training step). */
  describe(): { device: string; ortVersion: string; params: number; convLayout?: string } {
    return { device: this.device, ortVersion: ort.env.versions.common ?? 'unknown', params: this.backboneModule.parameterCount(), convLayout: this.evaluation.convLayout() };
  }
}
