import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';
import { createSession, type Device, type ResolvedDevice, type SessionOptions } from './session';
import { DeviceStateStore, residentOutputLocations } from './device-state';
import { StateStore, type HostData } from './state-store';
import { SCALAR, nextName, type TrainStepModel } from './train-step';

export interface StepScalars {
  lr: number;
  weightDecay: number;
  /** Required when the model has EMA pairs. */
  emaMomentum?: number;
  /** Every other scalar input of the model (groups' 'group.<name>.*', the spec's own scalars), by name. */
  values?: Readonly<Record<string, number>>;
}

export interface StepResult {
  loss: number;
  metrics: Record<string, number>;
  /** Parameter gradients by parameter name, when the model was built with exposeGradients. */
  gradients?: Map<string, Float32Array>;
}

/**
 * How next-state values come back. 'fresh': ORT allocates the outputs and the runner keeps the
 * returned tensors. 'pingpong': two tensors per updated entry; each run writes into the one not
 * being read (passing an input's own tensor as its output is unsafe: ORT may run an update before
 * the last read of the old value). onnxruntime-node 1.30 copies every output into a new JS buffer
 * even when it was pre-allocated, so 'pingpong' only adds a write. Measured (2 shared cores):
 * 4M-float elementwise model 3.0-4.9 ms fresh vs 3.5-3.6 ms pre-allocated; SimCLR ResNet-18 step
 * at batch 64, interleaved A/B under load, median 13.6 s fresh vs 13.8 s ping-pong. Default fresh.
 */
export type OutputMode = 'fresh' | 'pingpong';

export interface RunnerOptions extends SessionOptions {
  device?: Device;
  outputs?: OutputMode;
  /**
   * On WebGPU, keep parameters and optimizer state in GPU buffers between steps (device-state.ts;
   * default true, with outputs 'fresh'); reads (checkpoints, export, evaluation) download on demand.
   */
  resident?: boolean;
}

/** Runs a TrainStepModel: one session.run per step, state kept in a StateStore. */
export class TrainStepRunner {
  private readonly scalarTensors: Record<string, ort.Tensor> = {};
  private readonly spare = new Map<string, ort.Tensor>();

  private constructor(
    readonly model: TrainStepModel,
    readonly session: ort.InferenceSession,
    readonly device: ResolvedDevice,
    readonly state: StateStore,
    readonly outputs: OutputMode,
  ) {
    for (const s of model.scalarNames) this.scalarTensors[s] = new ort.Tensor('float32', new Float32Array(1), []);
    if (outputs === 'pingpong') {
      for (const name of model.updatedNames) {
        const t = state.get(name);
        const data = t.type === 'int64' ? new BigInt64Array(t.size) : new Float32Array(t.size);
        this.spare.set(name, new ort.Tensor(t.type as 'float32', data as never, t.dims));
      }
    }
  }

  static async create(model: TrainStepModel, initial: ReadonlyMap<string, HostData>, opts: RunnerOptions = {}): Promise<TrainStepRunner> {
    const outputs = opts.outputs ?? 'fresh';
    const resident = opts.resident !== false && outputs === 'fresh';
    const host = new StateStore(model.state, initial);
    const sessionOpts = resident ? { ...opts, webgpu: { ...opts.webgpu, outputLocations: residentOutputLocations(model) } } : opts;
    const { session, device } = await createSession(model.modelBytes, opts.device ?? 'cpu', sessionOpts);
    const state = resident && device === 'webgpu' ? DeviceStateStore.fromHost(host) : host;
    return new TrainStepRunner(model, session, device, state, outputs);
  }

  /** One optimizer step: feeds data + scalars + state, swaps the next state in, returns loss and metrics. */
  async step(data: Record<string, ort.Tensor>, scalars: StepScalars): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = { ...data };
    for (const d of this.model.dataInputs) {
      if (!feeds[d.name]) throw new UserError(`training step '${d.name}': no data fed; the model needs ${this.model.dataInputs.map((x) => x.name).join(', ')}`);
    }
    (this.scalarTensors[SCALAR.lr].data as Float32Array)[0] = scalars.lr;
    (this.scalarTensors[SCALAR.weightDecay].data as Float32Array)[0] = scalars.weightDecay;
    for (const name of this.model.scalarNames) {
      if (name === SCALAR.lr || name === SCALAR.weightDecay) continue;
      const value = name === SCALAR.emaMomentum ? scalars.emaMomentum ?? scalars.values?.[name] : scalars.values?.[name];
      if (value === undefined) throw new Error(`training step: no value for scalar input '${name}'`);
      (this.scalarTensors[name].data as Float32Array)[0] = value;
    }
    Object.assign(feeds, this.scalarTensors);
    this.state.feedInto(feeds);
    let out: ort.InferenceSession.OnnxValueMapType;
    if (this.outputs === 'pingpong') {
      const fetches: Record<string, ort.Tensor | null> = { loss: null };
      for (const m of [...this.model.metricNames, ...this.model.gradientNames]) fetches[m] = null;
      for (const [name, t] of this.spare) fetches[nextName(name)] = t;
      out = await this.session.run(feeds, fetches);
      for (const name of this.model.updatedNames) {
        const written = this.spare.get(name)!;
        this.spare.set(name, this.state.get(name));
        this.state.set(name, written);
      }
    } else {
      out = await this.session.run(feeds);
      for (const name of this.model.updatedNames) this.state.set(name, out[nextName(name)] as ort.Tensor);
    }
    const metrics: Record<string, number> = {};
    for (const m of this.model.metricNames) metrics[m] = scalarOf(out[m] as ort.Tensor);
    const result: StepResult = { loss: scalarOf(out.loss as ort.Tensor), metrics };
    if (this.model.gradientNames.length) {
      result.gradients = new Map(this.model.gradientNames.map((n) => [n.slice('grad:'.length), (out[n] as ort.Tensor).data as Float32Array]));
    }
    return result;
  }

  async release(): Promise<void> {
    if (this.state instanceof DeviceStateStore) this.state.release();
    await this.session.release();
  }
}

function scalarOf(t: ort.Tensor): number {
  return Number((t.data as Float32Array)[0]);
}
