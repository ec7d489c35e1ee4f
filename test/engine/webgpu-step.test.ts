/**
 * The GPU code path without a GPU: ONNX Runtime's WebGPU execution provider (compiled into the
 * Linux onnxruntime-node binary, Dawn over Vulkan) runs on Mesa's lavapipe, a Vulkan driver on the
 * CPU. Bookworm's Mesa 22.3 is rejected by Dawn; Mesa 25 from bookworm-backports works
 * (.ci/run installs mesa-vulkan-drivers, libvulkan1, libdrm2, libdrm-amdgpu1 from there).
 *
 * A ResNet-18-CIFAR SimCLR training step (the bench:step model, narrow and small) runs on WebGPU
 * and on the CPU from the same initial values and inputs: the loss and the updated parameters
 * must agree to float rounding after one step, and the second step's loss too (the difference of
 * one step's rounding grows through BN with a batch of 8 and SGD momentum, ~1e-4 after two steps).
 */
import * as ort from 'onnxruntime-node';
import { TrainStepRunner, type HostData } from '../../src/engine';
import { initParameters } from '../../src/nn';
import { Rng } from '../../src/data/rng';
import { buildSimclrStep, LAVAPIPE_ICD, lavapipe, maxRelDiff, randn } from './support/webgpu';

const skipReason = `WebGPU on lavapipe skipped: ${LAVAPIPE_ICD} is missing (apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1; .ci/run does it)`;

const B = 8;

async function run(device: 'cpu' | 'webgpu', steps: number) {
  const { model, params, buffers } = buildSimclrStep({ batch: B, width: 4 });
  const init = initParameters([...params, ...buffers], new Rng(0)) as Map<string, HostData>;
  const runner = await TrainStepRunner.create(model, init, { device, threads: 1, executionMode: 'sequential' });
  const n = B * 3 * 32 * 32;
  const feeds = { x0: new ort.Tensor('float32', randn(n, 1), [B, 3, 32, 32]), x1: new ort.Tensor('float32', randn(n, 2), [B, 3, 32, 32]) };
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((await runner.step(feeds, { lr: 0.06, weightDecay: 5e-4 })).loss);
  const names = model.stateNames.filter((s) => model.state.find((e) => e.name === s)!.role === 'param');
  const values = new Map(names.map((s) => [s, Float32Array.from(runner.state.data(s) as Float32Array)]));
  const device_ = runner.device;
  await runner.release();
  return { losses, values, device: device_ };
}

(lavapipe ? describe : describe.skip)('WebGPU execution provider on lavapipe', () => {
  beforeAll(() => {
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  });

  it('a training step on WebGPU matches the CPU step', async () => {
    const cpu = await run('cpu', 1);
    const gpu = await run('webgpu', 1);
    expect(gpu.device).toBe('webgpu');
    expect(Math.abs(gpu.losses[0] - cpu.losses[0])).toBeLessThan(1e-5 * Math.abs(cpu.losses[0]));
    let worst = 0;
    for (const [name, v] of cpu.values) worst = Math.max(worst, maxRelDiff(v, gpu.values.get(name)!));
    expect(worst).toBeLessThan(1e-4);
    expect(cpu.values.size).toBeGreaterThan(20);
  });

  it('two steps on WebGPU give the CPU losses', async () => {
    const cpu = await run('cpu', 2);
    const gpu = await run('webgpu', 2);
    expect(gpu.losses[1]).not.toBe(gpu.losses[0]);
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i])).toBeLessThan(1e-4 * Math.abs(cpu.losses[i])));
  });
});

if (!lavapipe) it.skip(skipReason, () => undefined);
