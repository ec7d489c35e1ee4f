import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';
import type { StateEntry } from './train-step';

export type HostData = Float32Array | BigInt64Array;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * One ORT tensor per state entry (parameter, optimizer state, buffer). ORT reads inputs in place,
 * so feeding these tensors costs nothing; after a step the outputs replace them (`swap`).
 */
export class StateStore {
  private readonly tensors = new Map<string, ort.Tensor>();
  readonly entries: readonly StateEntry[];

  /**
   * `initial` gives parameters and buffers by name (e.g. from nn's initParameters); optimizer state
   * without a value starts at zero. A missing parameter or buffer, or a size mismatch, throws.
   */
  constructor(entries: readonly StateEntry[], initial: ReadonlyMap<string, HostData>) {
    this.entries = entries;
    for (const e of entries) {
      let data = initial.get(e.name);
      if (!data) {
        if (e.role !== 'optim') throw new UserError(`state '${e.name}' (${e.role}): no initial value given`);
        data = e.dtype === 'int64' ? new BigInt64Array(numel(e.shape)) : new Float32Array(numel(e.shape));
      }
      this.set(e.name, new ort.Tensor(e.dtype, data as never, [...e.shape]));
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): ort.Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no state entry '${name}'`);
    return t;
  }

  /** Replaces an entry's tensor (same dtype and size, checked). */
  set(name: string, tensor: ort.Tensor): void {
    const e = this.entries.find((x) => x.name === name);
    if (!e) throw new Error(`no state entry '${name}'`);
    if (tensor.type !== e.dtype || tensor.size !== numel(e.shape)) {
      throw new Error(`state '${name}': ${tensor.type}[${tensor.dims.join(',')}] does not fit ${e.dtype}[${e.shape.join(',')}]`);
    }
    this.tensors.set(name, tensor);
  }

  /** Host data of an entry (a view, not a copy). */
  data(name: string): HostData {
    return this.get(name).data as HostData;
  }

  /** Adds every entry to `feeds` under its name. */
  feedInto(feeds: Record<string, ort.Tensor>): void {
    for (const [name, t] of this.tensors) feeds[name] = t;
  }
}
