/**
 * Training state that stays in WebGPU buffers between steps.
 *
 * The training session (device webgpu) is opened with `preferredOutputLocation: 'gpu-buffer'` for
 * every next-state output, so ORT leaves the updated parameters and optimizer state on the device;
 * the runner feeds them back as the next step's inputs. Loss, metrics and exposed gradients come
 * back to the host as before. Facts about onnxruntime-node 1.30 this module works around (measured
 * on Mesa lavapipe, checked against js/node/src of onnxruntime):
 *  - `tensor.getData()` / `download` of a 'gpu-buffer' output aborts the process (the binding throws
 *    a bare C string from its unimplemented download path, which ends in std::terminate). Reading back goes through a tiny
 *    identity session on the same WebGPU device instead (the EP shares one device across sessions).
 *  - A 'gpu-buffer' output is freed only by `tensor.dispose()`; garbage collection does not free it
 *    (4M floats per step: RSS +16 MB a step without dispose, flat with it).
 *  - A 'gpu-buffer' tensor fed to a session without the WebGPU EP is read as host memory: garbage,
 *    no error. `get`/`data` therefore only ever hand out host tensors.
 *  - The binding's `run` is synchronous (the async wrapper only defers it with setImmediate), so
 *    the copy sessions run on the binding directly and `get`/`data` stay synchronous for callers
 *    (checkpoints, export, evaluation, method host hooks).
 *  - The binding binds 'gpu-buffer' outputs to the "WebGPU_Buf" allocator only: there is no CUDA
 *    equivalent from Node ('ml-tensor' is WebNN, browser-only).
 *
 * An entry lives in exactly one place: reading it moves it to the host (the device copy is freed),
 * so writes into the returned view (restoreState, host hooks) reach the next step, which uploads
 * the host entries again. Frozen entries are uploaded once and stay.
 *
 * Measured on lavapipe only (scripts/bench-webgpu-resident.js, R18-CIFAR SimCLR, widths 4/8/16,
 * batch 8-16, interleaved): resident steps took 0.94-1.01x the time of steps that move the whole
 * state (1-7 MB) both ways, i.e. no difference beyond noise; reading the whole state back takes
 * 11-29 ms against 2.4-3.7 s steps. Lavapipe's "device" is host memory, so this says nothing about
 * the PCIe copies and map/sync round trips a real GPU saves; that is not measured yet.
 */
import * as ort from 'onnxruntime-node';
import { Graph, toOnnx, type DType } from '../graph';
import { StateStore, type HostData } from './state-store';
import { nextName, type StateEntry, type TrainStepModel } from './train-step';

/** The part of onnxruntime-node's native session this module uses (dist/binding.d.ts, 1.30). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, ort.Tensor>;
  dispose(): void;
}

function nativeSessionClass(): new () => NativeSession {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { binding, initOrt } = require('onnxruntime-node/dist/binding') as { binding: { InferenceSession: new () => NativeSession }; initOrt(): void };
  initOrt();
  return binding.InferenceSession;
}

export function isOnDevice(t: ort.Tensor): boolean {
  return t.location === 'gpu-buffer';
}

/** Output locations for a training step whose next state stays on the device. */
export function residentOutputLocations(model: TrainStepModel): Record<string, 'gpu-buffer'> {
  return Object.fromEntries(model.updatedNames.map((name) => [nextName(name), 'gpu-buffer' as const]));
}

/** Host <-> WebGPU copies through identity sessions, one per direction and dtype. */
export class DeviceCopier {
  private readonly sessions = new Map<string, NativeSession>();

  toHost(t: ort.Tensor): ort.Tensor {
    return this.copy('host', t);
  }

  toDevice(t: ort.Tensor): ort.Tensor {
    return this.copy('device', t);
  }

  release(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }

  private copy(to: 'host' | 'device', t: ort.Tensor): ort.Tensor {
    // The copy models take a flat [n] tensor (the graph allows one symbolic dim); the binding reads
    // only location, type, dims and gpuBuffer of a device input, so a flat view is a plain object.
    const flat = isOnDevice(t)
      ? { location: 'gpu-buffer', type: t.type, dims: [t.size], gpuBuffer: t.gpuBuffer }
      : new ort.Tensor(t.type as 'float32', t.data as Float32Array, [t.size]);
    const out = this.session(to, t.type as DType).run({ x: flat }, { y: null }, {});
    if (out instanceof Promise) throw new Error('onnxruntime-node: the native session run is asynchronous in this version; device-resident state needs the synchronous run of 1.30');
    const y = out.y;
    if (isOnDevice(y) !== (to === 'device')) throw new Error(`device state: copy to ${to} returned a tensor at '${y.location}'`);
    const dims = [...t.dims];
    if (to === 'host') return new ort.Tensor(y.type as 'float32', y.data as Float32Array, dims);
    return ort.Tensor.fromGpuBuffer(y.gpuBuffer, { dataType: y.type as 'float32', dims, dispose: () => y.dispose() });
  }

  private session(to: 'host' | 'device', dtype: DType): NativeSession {
    const key = `${to}/${dtype}`;
    let s = this.sessions.get(key);
    if (!s) {
      const g = new Graph(`copy-to-${to}`);
      g.output('y', g.input('x', ['n'], dtype));
      const bytes = toOnnx(g);
      s = new (nativeSessionClass())();
      s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
        executionProviders: [{ name: 'webgpu' }, { name: 'cpu' }],
        logSeverityLevel: 3,
        intraOpNumThreads: 1,
        ...(to === 'device' ? { preferredOutputLocation: { y: 'gpu-buffer' } } : {}),
      });
      this.sessions.set(key, s);
    }
    return s;
  }
}

/**
 * A StateStore whose entries may live in WebGPU buffers. `get`/`data` return host tensors
 * (downloading and keeping the entry on the host), `feedInto` uploads host entries and feeds
 * device tensors, `set` frees the device tensor it replaces.
 */
export class DeviceStateStore extends StateStore {
  private readonly copier = new DeviceCopier();

  constructor(entries: readonly StateEntry[], initial: ReadonlyMap<string, HostData>) {
    super(entries, initial);
  }

  /** A device store starting from a host store's values (the same arrays, not copies). */
  static fromHost(store: StateStore): DeviceStateStore {
    return new DeviceStateStore(store.entries, new Map(store.entries.map((e) => [e.name, store.data(e.name)])));
  }

  override get(name: string): ort.Tensor {
    const t = super.get(name);
    if (!isOnDevice(t)) return t;
    const host = this.copier.toHost(t);
    this.set(name, host);
    return host;
  }

  override set(name: string, tensor: ort.Tensor): void {
    // Runs from StateStore's constructor too, before this class's fields exist: use none here.
    const before = this.has(name) ? super.get(name) : undefined;
    super.set(name, tensor);
    if (before && before !== tensor && isOnDevice(before)) before.dispose();
  }

  override feedInto(feeds: Record<string, ort.Tensor>): void {
    for (const e of this.entries) {
      let t = super.get(e.name);
      if (!isOnDevice(t)) {
        t = this.copier.toDevice(t);
        this.set(e.name, t);
      }
      feeds[e.name] = t;
    }
  }

  /** How many entries are on the device now. */
  deviceCount(): number {
    return this.entries.filter((e) => isOnDevice(super.get(e.name))).length;
  }

  /** Brings every entry to the host and closes the copy sessions (the store stays readable). */
  release(): void {
    for (const e of this.entries) this.get(e.name);
    this.copier.release();
  }
}
