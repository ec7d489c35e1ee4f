import * as ort from 'onnxruntime-node';
import type { Rng } from '../data/rng';
import {
  SCALAR, groupScalarName, type HostData, type ParamGroupInputs, type StateStore, type StateTransform, type StepScalars,
} from '../engine';
import type { HostStepAccess, MethodInstance, SchedulePoint } from '../methods';
import { initParameters, type BufferSpec, type ParamSpec } from '../nn';

/**
 * A method instance turned into the pieces of a training step (engine/train-step.ts) and the
 * per-step host work: state entries with their initial values, EMA pairs, parameter groups,
 * transforms and scalar inputs, then every step the scalar values at the step's SchedulePoint and
 * the method's beforeStep hook. src/runner/pretrain.ts and the method tests assemble methods
 * through this one module, so a test exercises exactly what a run does.
 *
 * Initial values: every tensor draws from `runRng.fork('init').fork('init:' + name)` (nn/init.ts),
 * so the backbone a method trains starts from the same values whatever heads the method adds
 * (NoPretraining relies on it); method state from `runRng.fork('state:' + name)`.
 */
export class AssembledMethod {
  readonly trainable: ParamSpec[] = [];
  readonly frozen: ParamSpec[] = [];
  /** Teacher parameters that follow an online parameter by EMA. */
  readonly emaPairs: { target: ParamSpec; source: string }[] = [];
  /** Parameters of role-'ema' networks without `emaOf` (changed by transforms and hooks only). */
  readonly teachers: ParamSpec[] = [];
  readonly buffers: BufferSpec[] = [];
  readonly groups: ParamGroupInputs[] = [];
  readonly transforms: StateTransform[] = [];
  /** The method's own scalar inputs (not the groups'). */
  readonly scalars: string[];
  readonly initial = new Map<string, HostData>();

  constructor(readonly method: MethodInstance, runRng: Rng) {
    const initRng = runRng.fork('init');
    const prefixes = new Set<string>();
    const transformable: string[] = [];
    for (const net of method.networks) {
      if (prefixes.has(net.prefix)) throw new Error(`method networks: prefix '${net.prefix}' is used twice`);
      const params = net.module.parameters(net.prefix);
      const bufs = net.module.buffers(net.prefix);
      const rename = (name: string, from: string) => `${from}${name.slice(net.prefix.length)}`;
      if (net.role === 'trained') this.trainable.push(...params);
      else if (net.role === 'frozen') this.frozen.push(...params);
      else if (net.emaOf === undefined) this.teachers.push(...params);
      else {
        if (!prefixes.has(net.emaOf)) throw new Error(`method network '${net.prefix}': emaOf must name a network declared before it`);
        for (const p of params) this.emaPairs.push({ target: p, source: rename(p.name, net.emaOf) });
      }
      if (net.role !== 'frozen') transformable.push(...params.map((p) => p.name));
      transformable.push(...bufs.map((b) => b.name));
      this.buffers.push(...bufs);
      prefixes.add(net.prefix);
      if (net.initFrom !== undefined) {
        const from = net.initFrom;
        if (!prefixes.has(from)) throw new Error(`method network '${net.prefix}': initFrom must name a network declared before it`);
        for (const s of [...params, ...bufs]) {
          const source = this.initial.get(rename(s.name, from));
          if (!source) throw new Error(`method network '${net.prefix}': '${s.name}' has no counterpart in '${from}'`);
          this.initial.set(s.name, source.slice());
        }
      } else {
        for (const [name, value] of initParameters([...params, ...bufs], initRng)) this.initial.set(name, value);
      }
    }
    if (this.emaPairs.length && !method.emaMomentum) throw new Error('method: a network follows another by EMA but there is no emaMomentum schedule');
    for (const s of method.state ?? []) {
      this.buffers.push({ name: s.name, shape: s.shape, dtype: s.dtype, init: { type: 'constant', value: 0 } });
      this.initial.set(s.name, s.initial(runRng.fork(`state:${s.name}`)));
      transformable.push(s.name);
    }

    const trainableNames = this.trainable.map((p) => p.name);
    const grouped = new Set<string>();
    for (const group of method.paramGroups ?? []) {
      if (this.groups.some((g) => g.name === group.name)) throw new Error(`method paramGroups: '${group.name}' is declared twice`);
      const params = trainableNames.filter((n) => !grouped.has(n) && group.params(n));
      if (params.length === 0) throw new Error(`method paramGroups: '${group.name}' holds no trained parameter`);
      params.forEach((n) => grouped.add(n));
      this.groups.push({
        name: group.name, params,
        lr: group.lrScale !== undefined, weightDecay: group.weightDecay !== undefined, update: group.trains !== undefined,
        clippedWhileFrozen: group.clippedWhileFrozen ?? false,
      });
    }
    for (const t of method.transforms ?? []) {
      const targets = transformable.filter((n) => t.targets(n));
      if (targets.length === 0) throw new Error(`method transforms: '${t.name}' matches no parameter or state entry`);
      this.transforms.push({ name: t.name, stage: t.stage, targets, apply: t.apply });
    }
    this.scalars = Object.keys(method.scalars ?? {});
    for (const name of this.scalars) {
      if (name === SCALAR.lr || name === SCALAR.weightDecay || name === SCALAR.emaMomentum || name.startsWith('group.')) {
        throw new Error(`method scalars: '${name}' is a name the training step reserves`);
      }
    }
  }

  /** The scalar inputs of the step at `at`: the run's LR and weight decay, EMA momentum, groups', method's. */
  stepScalars(at: SchedulePoint, run: { lr: number; weightDecay: number }): StepScalars {
    const values: Record<string, number> = {};
    for (const group of this.method.paramGroups ?? []) {
      const { lrScale, weightDecay, trains } = group;
      if (lrScale !== undefined) values[groupScalarName(group.name, 'lr')] = run.lr * (typeof lrScale === 'number' ? lrScale : lrScale(at));
      if (weightDecay !== undefined) values[groupScalarName(group.name, 'weight_decay')] = typeof weightDecay === 'number' ? weightDecay : weightDecay(at, run.weightDecay);
      if (trains !== undefined) values[groupScalarName(group.name, 'update')] = trains.call(group, at) ? 1 : 0;
    }
    for (const [name, f] of Object.entries(this.method.scalars ?? {})) values[name] = f(at);
    return { lr: run.lr, weightDecay: run.weightDecay, emaMomentum: this.method.emaMomentum?.(at), values };
  }

  /** Runs the method's beforeStep hook (if any) on the runner's state. */
  async beforeStep(at: SchedulePoint, store: StateStore, rng: Rng): Promise<void> {
    if (!this.method.beforeStep) return;
    await this.method.beforeStep(at, hostAccess(store, rng));
  }
}

/** Read/write access to a StateStore for host hooks: reads are copies, writes replace the tensor. */
export function hostAccess(store: StateStore, rng: Rng): HostStepAccess {
  return {
    names: store.entries.map((e) => e.name),
    rng,
    read: (name) => store.data(name).slice(),
    write(name, data) {
      const e = store.entries.find((x) => x.name === name);
      if (!e) throw new Error(`beforeStep: no state entry '${name}'`);
      const dtype = data instanceof BigInt64Array ? 'int64' : 'float32';
      if (dtype !== e.dtype) throw new Error(`beforeStep: '${name}' is ${e.dtype}, got ${dtype} data`);
      store.set(name, new ort.Tensor(e.dtype, data.slice() as never, [...e.shape]));
    },
  };
}
