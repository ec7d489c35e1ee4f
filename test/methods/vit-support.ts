/**
 * The masked-image methods' training step (MAE, SimMIM, MSN, PMSN) assembled as a run assembles it
 * (AssembledMethod, buildTrainStep) on the tiny ViT of vit-tiny.yaml, with every view fed directly
 * as a 1-channel float32 input of its preset's size (MSN's random and focal views differ), so a
 * test controls the pixels, the masks (the method's own sampleInputs from a seeded stream) and the
 * initial values, and can recompute the loss from the same networks with `probeVit`.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { presetFromConfig } from '../../src/augment/presets';
import { loadConfig, type ResolvedConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { TrainStepRunner, buildTrainStep, type HostData, type TrainStepModel } from '../../src/engine';
import { Graph, type Tensor } from '../../src/graph';
import { methodFor, type MethodInstance, type SchedulePoint } from '../../src/methods';
import { createBackbone, type Backbone, type Module } from '../../src/nn';
import { GraphForwardContext } from '../../src/nn/module';
import { VisionTransformer } from '../../src/nn/backbones/vit';
import { createOptimizer } from '../../src/optim';
import { AssembledMethod } from '../../src/runner/assembled-method';
import { randn, runGraph, type Feed } from '../support/graph-harness';

export const VIT_TINY = path.join(__dirname, 'vit-tiny.yaml');

export interface VitStep {
  config: ResolvedConfig;
  method: MethodInstance;
  vit: VisionTransformer;
  backbone: Backbone;
  model: TrainStepModel;
  runner: TrainStepRunner;
  /** Initial values (after `edit`), as fed to the first step. */
  initial: Map<string, HostData>;
  batch: number;
  /** [B, 1, S, S] shape of every view. */
  shapes: number[][];
  step(seed: number): Promise<{ loss: number; views: Float32Array[]; sampled: Record<string, ort.Tensor> }>;
  value(name: string): Float32Array;
}

export function vitConfig(set: string[] = []): ResolvedConfig {
  return loadConfig(VIT_TINY, { set, env: {} });
}

/** `edit` may change the initial values before the first step; it gets them and the names of the EMA-updated parameters. */
export async function buildVitStep(set: string[], opts: { edit?: (initial: Map<string, HostData>, emaTargets: string[]) => void } = {}): Promise<VitStep> {
  const config = vitConfig(set);
  const batch = config.train.batch_size;
  const backbone = createBackbone(config.backbone.name, {
    width: config.backbone.width, inChannels: 1, imageSize: config.augmentation.input_size,
    patchSize: config.backbone.patch_size ?? undefined, depth: config.backbone.depth ?? undefined,
  });
  const method = methodFor(config.method.name).create({ config, params: config.method.params, backbone, batchSize: batch });
  const shapes = presetFromConfig(config, { inputChannels: 1, singleChannel: 'gray' }).views.map((v) => [batch, 1, v.size, v.size]);
  const assembled = new AssembledMethod(method, new Rng(0));
  opts.edit?.(assembled.initial, assembled.emaPairs.map((p) => p.target.name));
  const model = buildTrainStep({
    name: `${config.method.name}-vit-test`,
    trainable: assembled.trainable, frozen: assembled.frozen, buffers: assembled.buffers, emaPairs: assembled.emaPairs, teachers: assembled.teachers,
    groups: assembled.groups, transforms: assembled.transforms, scalars: assembled.scalars,
    optimizer: createOptimizer(config.train.optimizer),
    build(step) {
      return method.buildLoss(step, shapes.map((s, k) => step.input(`view${k}`, s)));
    },
  });
  const initial = new Map([...assembled.initial].map(([k, v]) => [k, v.slice()]));
  const runner = await TrainStepRunner.create(model, new Map([...initial].map(([k, v]) => [k, v.slice()])), { threads: 1, executionMode: 'sequential' });
  const methodRng = new Rng(0).fork('method');
  let globalStep = 0;
  return {
    config, method, vit: backbone.module as VisionTransformer, backbone, model, runner, initial, batch, shapes,
    async step(seed) {
      const views = shapes.map((s, k) => Float32Array.from(randn(s.reduce((a, d) => a * d, 1), seed * 31 + k)));
      const feeds: Record<string, ort.Tensor> = {};
      views.forEach((v, k) => { feeds[`view${k}`] = new ort.Tensor('float32', v, shapes[k]); });
      const point: SchedulePoint = { epoch: 0, totalEpochs: config.train.epochs, globalStep, totalSteps: 10 };
      await assembled.beforeStep(point, runner.state, methodRng);
      const sampled: Record<string, ort.Tensor> = {};
      for (const [name, s] of Object.entries(method.sampleInputs?.(methodRng, batch, point) ?? {})) sampled[name] = new ort.Tensor(s.dtype, s.data as never, s.dims);
      const { loss } = await runner.step({ ...feeds, ...sampled }, assembled.stepScalars(point, { lr: config.train.optimizer.lr, weightDecay: config.train.optimizer.weight_decay }));
      globalStep += 1;
      return { loss, views, sampled };
    },
    value: (name) => (runner.state.data(name) as Float32Array).slice(),
  };
}

/**
 * A plain training-mode forward graph over `values` (parameters/buffers by name), the views of
 * `shapes` and int64 index inputs: `net(module, prefix)` gives a context, `view(k)` the k-th view,
 * `index(name)` one of `indices`. Returns the named outputs.
 */
export async function probeVit(
  values: ReadonlyMap<string, HostData>, views: Float32Array[], shapes: number[][], indices: Record<string, ort.Tensor>,
  build: (net: (module: Module, prefix: string) => GraphForwardContext, view: (k: number) => Tensor, index: (name: string) => Tensor) => Record<string, Tensor>,
): Promise<Record<string, Float32Array>> {
  const g = new Graph('probe');
  const feeds: Record<string, Feed> = {};
  const inputs = new Map<string, Tensor>();
  const input = (name: string, shape: number[], data: Feed['data'], dtype: 'float32' | 'int64') => {
    if (!inputs.has(name)) {
      inputs.set(name, g.input(name, shape, dtype));
      feeds[name] = { data, shape };
    }
    return inputs.get(name)!;
  };
  const outputs = build(
    (module, prefix) => new GraphForwardContext(g, module, { training: true, prefix }),
    (k) => input(`view${k}`, shapes[k], views[k], 'float32'),
    (name) => input(name, [...indices[name].dims], indices[name].data as BigInt64Array, 'int64'),
  );
  for (const [name, t] of Object.entries(outputs)) g.output(name, t);
  for (const t of g.inputs) {
    if (feeds[t.name]) continue;
    const v = values.get(t.name);
    if (!v) throw new Error(`probeVit: no value for '${t.name}'`);
    feeds[t.name] = { data: v, shape: t.shape as number[] };
  }
  const r = await runGraph(g, feeds);
  return Object.fromEntries(Object.keys(outputs).map((name) => [name, r[name].data as Float32Array]));
}
