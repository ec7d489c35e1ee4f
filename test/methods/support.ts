/**
 * Builds one method's training step the way src/runner/pretrain.ts assembles it (AssembledMethod:
 * networks, EMA, deep copies, method state, groups, transforms, scalars, beforeStep), but with the views fed directly as
 * float32 inputs instead of augmented images, so a test controls exactly what the networks see.
 * `probe` evaluates the same modules on the same values in a plain forward graph, for comparing
 * the step's loss with a reference computed from the network outputs.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig, type ResolvedConfig } from '../../src/config';
import { Rng } from '../../src/data/rng';
import { TrainStepRunner, buildTrainStep, createSession, type HostData, type TrainStepModel } from '../../src/engine';
import { Graph, toOnnx, type Tensor } from '../../src/graph';
import { methodFor, type MethodInstance, type SchedulePoint } from '../../src/methods';
import { createBackbone, type Backbone, type Module } from '../../src/nn';
import { AssembledMethod } from '../../src/runner/assembled-method';
import { GraphForwardContext } from '../../src/nn/module';
import { createOptimizer } from '../../src/optim';
import { randn, runSession, type Feed } from '../support/graph-harness';

const FIXTURE = path.join(__dirname, 'tiny.yaml');
export const CHANNELS = 3;

export interface StepOptions {
  /** `--set` style overrides, e.g. ['method.params.memory_bank_size=64']. */
  set?: string[];
  batch?: number;
  size?: number;
  splitBn?: number;
}

export interface MethodStep {
  config: ResolvedConfig;
  method: MethodInstance;
  backbone: Backbone;
  model: TrainStepModel;
  runner: TrainStepRunner;
  initial: Map<string, HostData>;
  batch: number;
  size: number;
  /** One step with views drawn from `seed`; returns the loss and the fed view data. */
  step(seed: number, at?: Partial<SchedulePoint>): Promise<{ loss: number; metrics: Record<string, number>; views: Float32Array[]; sampled: Record<string, ort.Tensor> }>;
  /** A copy of a state entry's current value. */
  value(name: string): Float32Array | BigInt64Array;
}

/** The method instance of the fixture config with `opts` applied (no step built). */
export function createMethod(methodName: string, opts: StepOptions = {}): { config: ResolvedConfig; backbone: Backbone; method: MethodInstance } {
  const batch = opts.batch ?? 8;
  const config = loadConfig(FIXTURE, {
    set: [`method.name=${methodName}`, `train.batch_size=${batch}`, `backbone.split_bn=${opts.splitBn ?? 0}`, ...(opts.set ?? [])],
    env: {},
  });
  const backbone = createBackbone(config.backbone.name, {
    width: config.backbone.width, inChannels: CHANNELS, imageSize: opts.size ?? 16, splitBn: config.backbone.split_bn > 1 ? config.backbone.split_bn : 1,
  });
  const method = methodFor(methodName).create({ config, params: config.method.params, backbone, batchSize: batch });
  return { config, backbone, method };
}

export async function buildMethodStep(methodName: string, opts: StepOptions = {}): Promise<MethodStep> {
  const batch = opts.batch ?? 8;
  const size = opts.size ?? 16;
  const { config, backbone, method } = createMethod(methodName, opts);

  const assembled = new AssembledMethod(method, new Rng(0));
  const initial = assembled.initial;
  const model = buildTrainStep({
    name: `${methodName}-test`,
    trainable: assembled.trainable, frozen: assembled.frozen, buffers: assembled.buffers, emaPairs: assembled.emaPairs, teachers: assembled.teachers,
    groups: assembled.groups, transforms: assembled.transforms, scalars: assembled.scalars,
    optimizer: createOptimizer(config.train.optimizer),
    build(step) {
      const views = Array.from({ length: method.views }, (_, k) => step.input(`view${k}`, [batch, CHANNELS, size, size]));
      return method.buildLoss(step, views);
    },
  });
  const runner = await TrainStepRunner.create(model, new Map([...initial].map(([k, v]) => [k, v.slice()])), { threads: 1, executionMode: 'sequential' });
  const methodRng = new Rng(0).fork('method');
  let globalStep = 0;
  return {
    config, method, backbone, model, runner, initial, batch, size,
    async step(seed, at = {}) {
      const views = Array.from({ length: method.views }, (_, k) => Float32Array.from(randn(batch * CHANNELS * size * size, seed * 31 + k)));
      const feeds: Record<string, ort.Tensor> = {};
      views.forEach((v, k) => { feeds[`view${k}`] = new ort.Tensor('float32', v, [batch, CHANNELS, size, size]); });
      const point: SchedulePoint = { epoch: 0, totalEpochs: config.train.epochs, globalStep, totalSteps: 10, ...at };
      await assembled.beforeStep(point, runner.state, methodRng);
      const sampled: Record<string, ort.Tensor> = {};
      for (const [name, s] of Object.entries(method.sampleInputs?.(methodRng, batch, point) ?? {})) sampled[name] = new ort.Tensor(s.dtype, s.data as never, s.dims);
      const { loss, metrics } = await runner.step({ ...feeds, ...sampled }, assembled.stepScalars(point, { lr: config.train.optimizer.lr, weightDecay: config.train.optimizer.weight_decay }));
      globalStep += 1;
      return { loss, metrics, views, sampled };
    },
    value: (name) => runner.state.data(name).slice(),
  };
}

/**
 * Runs `build` as a plain training-mode forward graph: `net(module, prefix)` gives a context whose
 * parameters and buffers are fed from `values`; `view(k)` is the k-th view. Returns the outputs.
 */
export async function probe(
  values: ReadonlyMap<string, HostData>, views: Float32Array[], shape: number[],
  build: (net: (module: Module, prefix: string) => GraphForwardContext, view: (k: number) => Tensor, g: Graph) => Record<string, Tensor>,
): Promise<Record<string, Float32Array>> {
  const g = new Graph('probe');
  const viewInputs = new Map<number, Tensor>();
  const view = (k: number): Tensor => {
    if (!viewInputs.has(k)) viewInputs.set(k, g.input(`view${k}`, shape));
    return viewInputs.get(k)!;
  };
  const outputs = build((module, prefix) => new GraphForwardContext(g, module, { training: true, prefix }), view, g);
  for (const [name, t] of Object.entries(outputs)) g.output(name, t);
  const feeds: Record<string, Feed> = {};
  for (const t of g.inputs) {
    const m = /^view(\d+)$/.exec(t.name);
    if (m) feeds[t.name] = { data: views[Number(m[1])], shape };
    else {
      const v = values.get(t.name);
      if (!v) throw new Error(`probe: no value for '${t.name}'`);
      feeds[t.name] = { data: v, shape: t.shape as number[] };
    }
  }
  // Opened like the step's session (createSession, CPU EP), so both run the same conv kernels (ORT's
  // NCHWc ones on x86) and differ only where their graphs do.
  const { session } = await createSession(toOnnx(g), 'cpu', { threads: 1 });
  const r = await runSession(session, g, feeds);
  await session.release();
  const out: Record<string, Float32Array> = {};
  for (const name of Object.keys(outputs)) out[name] = r[name].data as Float32Array;
  return out;
}

/** Rows of a flat [rows, cols] array as number arrays (for the reference loops). */
export function rows(data: ArrayLike<number | bigint>, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < data.length / cols; r++) out.push(Array.from({ length: cols }, (_, c) => Number(data[r * cols + c])));
  return out;
}

export function maxAbsDiff(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
  return d;
}

/** Every parameter pair (target, online) of the method's EMA networks. */
export function emaPairs(s: MethodStep): { target: string; source: string }[] {
  return s.model.state.filter((e) => e.role === 'ema').map((e) => {
    const net = s.method.networks.find((n) => e.name.startsWith(`${n.prefix}.`) && n.role === 'ema')!;
    return { target: e.name, source: `${net.emaOf}${e.name.slice(net.prefix.length)}` };
  });
}
