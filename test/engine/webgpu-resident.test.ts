/**
 * Training state kept in WebGPU buffers between steps (src/engine/device-state.ts), checked on
 * Mesa's lavapipe (Vulkan on the CPU; .ci/run installs it). The model and tolerances are those of
 * test/engine/webgpu-step.test.ts: a ResNet-18-CIFAR SimCLR step at width 4, batch 8.
 *
 * Residency changes where the state lives, not the arithmetic: resident WebGPU steps must equal
 * WebGPU steps that upload and download the state every step bit for bit, and the CPU steps within
 * the WebGPU test's tolerance. A checkpoint written from the device and restored into a fresh
 * runner must give the same next step as continuing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { TrainStepRunner, saveCheckpoint, loadCheckpoint, restoreState, type HostData, type TrainStepModel } from '../../src/engine';
import { DeviceStateStore } from '../../src/engine/device-state';
import { initParameters } from '../../src/nn';
import { Rng } from '../../src/data/rng';
import { buildSimclrStep, LAVAPIPE_ICD, lavapipe, maxRelDiff } from './support/webgpu';

const skipReason = `WebGPU residency on lavapipe skipped: ${LAVAPIPE_ICD} is missing (apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1; .ci/run does it)`;

const B = 8;

function simclrStep(): { model: TrainStepModel; init: Map<string, HostData> } {
  const { model, params, buffers } = buildSimclrStep({ batch: B, width: 4 });
  return { model, init: initParameters([...params, ...buffers], new Rng(0)) as Map<string, HostData> };
}

function views(seed: number): Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const n = B * 3 * 32 * 32;
  const x = (): ort.Tensor => new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.normal()), [B, 3, 32, 32]);
  return { x0: x(), x1: x() };
}

const SCALARS = { lr: 0.06, weightDecay: 5e-4 };

async function runner(device: 'cpu' | 'webgpu', resident = true): Promise<TrainStepRunner> {
  const { model, init } = simclrStep();
  return TrainStepRunner.create(model, init, { device, threads: 1, executionMode: 'sequential', resident });
}

function snapshot(r: TrainStepRunner): Map<string, Float32Array | BigInt64Array> {
  return new Map(r.model.state.map((e) => [e.name, r.state.data(e.name).slice()]));
}

(lavapipe ? describe : describe.skip)('WebGPU with the training state resident on the device', () => {
  let tmp: string;
  beforeAll(() => {
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webgpu-resident-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('keeps the updated state on the device, equals non-resident WebGPU bitwise and the CPU within tolerance', async () => {
    const cpu = await runner('cpu');
    const plain = await runner('webgpu', false);
    const res = await runner('webgpu');
    expect(cpu.state).not.toBeInstanceOf(DeviceStateStore);
    expect(plain.state).not.toBeInstanceOf(DeviceStateStore);
    expect(res.state).toBeInstanceOf(DeviceStateStore);
    const feeds = views(1);
    const losses: Record<string, number[]> = { cpu: [], plain: [], res: [] };
    for (let i = 0; i < 2; i++) {
      losses.cpu.push((await cpu.step(feeds, SCALARS)).loss);
      losses.plain.push((await plain.step(feeds, SCALARS)).loss);
      losses.res.push((await res.step(feeds, SCALARS)).loss);
      // Every entry is a device buffer between steps: updated ones came back as such, the rest were uploaded once.
      expect((res.state as DeviceStateStore).deviceCount()).toBe(res.model.state.length);
      if (i === 0) {
        // After one step the parameters agree with the CPU's to float rounding (webgpu-step.test.ts's bound);
        // reading them moves them to the host, and the next step uploads them again.
        const c = snapshot(cpu);
        const r = snapshot(res);
        expect((res.state as DeviceStateStore).deviceCount()).toBe(0);
        let worst = 0;
        for (const e of res.model.state) if (e.role === 'param') worst = Math.max(worst, maxRelDiff(c.get(e.name) as Float32Array, r.get(e.name) as Float32Array));
        expect(worst).toBeLessThan(1e-4);
      }
    }
    expect(losses.res).toEqual(losses.plain);
    expect(losses.res[1]).not.toBe(losses.res[0]);
    losses.res.forEach((l, i) => expect(Math.abs(l - losses.cpu[i])).toBeLessThan(1e-4 * Math.abs(losses.cpu[i])));
    const a = snapshot(plain);
    const b = snapshot(res);
    for (const [name, v] of a) expect(Buffer.from(b.get(name)!.buffer).equals(Buffer.from(v.buffer))).toBe(true);
    await Promise.all([cpu.release(), plain.release(), res.release()]);
  });

  it('a checkpoint written from the device and restored gives the same next step as continuing', async () => {
    const feeds = [views(1), views(2), views(3)];
    const cont = await runner('webgpu');
    await cont.step(feeds[0], SCALARS);
    await cont.step(feeds[1], SCALARS);
    const file = path.join(tmp, 'ckpt.bin');
    saveCheckpoint(file, cont.state, { step: 2, epoch: 0, rng: new Rng(0).state(), sampler: null, configHash: 'test' });
    const next = await cont.step(feeds[2], SCALARS);
    const after = snapshot(cont);

    const resumed = await runner('webgpu');
    await resumed.step(feeds[0], SCALARS); // state on the device, then replaced by the restore
    restoreState(resumed.state, loadCheckpoint(file, {}), file);
    const again = await resumed.step(feeds[2], SCALARS);
    expect(again.loss).toBe(next.loss);
    for (const [name, v] of snapshot(resumed)) expect(Buffer.from(v.buffer).equals(Buffer.from(after.get(name)!.buffer))).toBe(true);
    await Promise.all([cont.release(), resumed.release()]);
  });

  it('reading the state mid-run moves it to the host and the run goes on as without the read', async () => {
    const feeds = views(4);
    const a = await runner('webgpu');
    const b = await runner('webgpu');
    await a.step(feeds, SCALARS);
    await b.step(feeds, SCALARS);
    const name = a.model.updatedNames[0];
    const read = a.state.data(name).slice(); // download
    expect(a.state.get(name).location).toBe('cpu');
    expect(read.length).toBe(a.state.get(name).size);
    // Uploads the read entry again; every replaced device tensor is disposed (onnxruntime-node 1.30
    // frees a 'gpu-buffer' output only on dispose(), garbage collection does not).
    const dispose = jest.spyOn(ort.Tensor.prototype, 'dispose');
    const la = await a.step(feeds, SCALARS);
    // +1: the re-uploaded entry's shaped view disposes the flat upload output behind it.
    expect(dispose).toHaveBeenCalledTimes(a.model.updatedNames.length + 1);
    dispose.mockRestore();
    const lb = await b.step(feeds, SCALARS);
    expect(la.loss).toBe(lb.loss);
    const sa = snapshot(a);
    for (const [n, v] of snapshot(b)) expect(Buffer.from(v.buffer).equals(Buffer.from(sa.get(n)!.buffer))).toBe(true);
    await Promise.all([a.release(), b.release()]);
    // release() brings the state home: still readable afterwards, like a CPU runner's.
    expect(a.state.get(name).location).toBe('cpu');
  });
});

if (!lavapipe) it.skip(skipReason, () => undefined);
