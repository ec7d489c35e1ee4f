import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { Graph, conv2d, nchwcBlockSizeOfThisCpu, nchwcRebuildOf, setConvNchwcBlockSize, toOnnx } from '../../src/graph';
import { initParameters } from '../../src/nn/init';
import { Rng } from '../../src/data/rng';
import { TrainStepRunner, createSession, exportBackbone, type HostData } from '../../src/engine';
import { convLayoutOf } from '../../src/engine/session';
import { cpuModelBytes, cpuNchwcBlock, nchwcSelfCheck } from '../../src/engine/conv-layout';
import { randn } from '../support/graph-harness';
import { resnetMeanStep } from './support/resnet-mean-step';

const block = nchwcBlockSizeOfThisCpu();
const onX86 = block > 0 ? it : it.skip;
const NCHWC = 'com.microsoft.nchwc';

function nchwcNodes(bytes: Uint8Array): number {
  return fromBinary(ModelProtoSchema, bytes).graph!.node.filter((n) => n.domain === NCHWC).length;
}

// Base width 16: every conv after the stem has 16..128 channels, multiples of both blocks.
const B = 4;
const S = 8;
const { backbone, specs, model } = resnetMeanStep('conv-layout', 16, B, S);
const initial = initParameters(specs, new Rng(1)) as Map<string, HostData>;

describe('NCHWc self-check', () => {
  onX86('passes at this CPU\'s block', async () => {
    const r = await nchwcSelfCheck(block);
    expect(r.ok).toBe(true);
    expect(r.worst).toBeLessThan(1e-5);
  });

  onX86('detects a wrong block and falls back to plain convolutions with one warning line', async () => {
    const wrong = block === 16 ? 8 : 16;
    const r = await nchwcSelfCheck(wrong);
    expect(r.ok).toBe(false);
    const lines: string[] = [];
    expect(await cpuNchwcBlock({ cpuBlock: wrong, log: (m) => lines.push(m) })).toBe(0);
    // Cached per process: a second call runs no second check and warns no more.
    expect(await cpuNchwcBlock({ cpuBlock: wrong, log: (m) => lines.push(m) })).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^conv layout: ORT's NCHWc convolutions at block ${wrong} disagree with plain Conv on this CPU .*; using plain convolutions$`));
    const { layout, bytes } = await cpuModelBytes(model.modelBytes, { cpuBlock: wrong, log: () => undefined });
    expect([layout, nchwcNodes(bytes)]).toEqual(['plain', 0]);
  });

  it('is skipped when the preference is off or the CPU has no block', async () => {
    expect(await cpuNchwcBlock({ preference: 'off' })).toBe(0);
    expect(await cpuNchwcBlock({ cpuBlock: 0 })).toBe(0);
  });
});

describe('conv layout of sessions', () => {
  it('toOnnx emits plain convs and remembers an NCHWc re-emission only for graphs with eligible convs', () => {
    expect(nchwcNodes(model.modelBytes)).toBe(0);
    expect(nchwcRebuildOf(model.modelBytes)).not.toBeNull();
    const narrow = new Graph('narrow');
    narrow.output('y', conv2d(narrow.input('x', [1, 4, 5, 5]), narrow.input('w', [4, 4, 3, 3]), undefined, { pad: 1 }));
    expect(nchwcRebuildOf(toOnnx(narrow))).toBeNull();
  });

  onX86('a CPU training step opens with NCHWc nodes; device cpu with convLayout off, plain', async () => {
    const { bytes, layout } = await cpuModelBytes(model.modelBytes);
    expect(layout).toBe(`nchwc${block}`);
    // ReorderInput + Conv + ReorderOutput per eligible conv (forward and stride-1 input gradients).
    expect(nchwcNodes(bytes)).toBeGreaterThan(3 * 10);
    const auto = await createSession(model.modelBytes, 'cpu', { threads: 1 });
    const off = await createSession(model.modelBytes, 'cpu', { threads: 1, convLayout: 'off' });
    expect([auto.convLayout, convLayoutOf(auto.session), off.convLayout, convLayoutOf(off.session)]).toEqual([`nchwc${block}`, `nchwc${block}`, 'plain', 'plain']);
    await Promise.all([auto.session.release(), off.session.release()]);
  });

  onX86('backbone.onnx stays plain ONNX even while NCHWc emission is switched on globally', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-conv-layout-'));
    const previous = setConvNchwcBlockSize(block);
    try {
      const file = path.join(dir, 'backbone.onnx');
      exportBackbone(file, backbone, initial, { prefix: 'backbone', channels: 3, imageSize: S });
      const bytes = new Uint8Array(fs.readFileSync(file));
      expect(nchwcNodes(bytes)).toBe(0);
      expect(fromBinary(ModelProtoSchema, bytes).opsetImport.map((o) => o.domain)).toEqual(['']);
    } finally {
      setConvNchwcBlockSize(previous);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  onX86('one training step: NCHWc and plain differ like float32 rounding of the input does (loss and every next state entry)', async () => {
    const copy = () => new Map([...initial].map(([k, v]) => [k, v.slice()])) as Map<string, HostData>;
    const runners = await Promise.all((['auto', 'off', 'off'] as const).map((convLayout) => TrainStepRunner.create(model, copy(), { threads: 1, convLayout })));
    expect(runners.map((r) => convLayoutOf(r.session))).toEqual([`nchwc${block}`, 'plain', 'plain']);
    const x = Float32Array.from(randn(B * 3 * S * S, 4));
    // The control: plain convs on the input moved by about one float32 rounding step per element.
    const nudged = x.map((v, i) => Math.fround(v * (1 + (i % 2 ? 6e-8 : -6e-8))));
    const results = await Promise.all([x, x, nudged].map((data, k) => runners[k].step({ x: new ort.Tensor('float32', data, [B, 3, S, S]) }, { lr: 0.1, weightDecay: 5e-4 })));
    const worstDifference = (k: number): number => {
      let worst = 0;
      for (const name of model.updatedNames) {
        const u = runners[k].state.data(name) as Float32Array;
        const v = runners[1].state.data(name) as Float32Array;
        const scale = v.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
        for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i] - v[i]) / (1e-6 + scale));
      }
      return worst;
    };
    const [nchwc, control] = [worstDifference(0), worstDifference(2)];
    // Measured: 1.0e-4 vs 4.7e-5 (batch-4 BatchNorm over 1x1 maps amplifies any rounding).
    expect(nchwc).toBeGreaterThan(0); // the NCHWc model did run: its sums are in another order
    expect(control).toBeGreaterThan(0);
    expect(nchwc).toBeLessThan(10 * control);
    expect(Math.abs(results[0].loss - results[1].loss)).toBeLessThan(1e-5 * Math.abs(results[1].loss));
    await Promise.all(runners.map((r) => r.release()));
  });

  onX86('an NCHWc training step is bitwise the same at 1, 2, 3 and 4 intra-op threads', async () => {
    const x = Float32Array.from(randn(B * 3 * S * S, 4));
    const stepAt = async (threads: number): Promise<Map<string, Float32Array>> => {
      const runner = await TrainStepRunner.create(model, new Map([...initial].map(([k, v]) => [k, v.slice()])) as Map<string, HostData>, { threads });
      expect(convLayoutOf(runner.session)).toBe(`nchwc${block}`);
      await runner.step({ x: new ort.Tensor('float32', x, [B, 3, S, S]) }, { lr: 0.1, weightDecay: 5e-4 });
      const out = new Map(model.updatedNames.map((n) => [n, (runner.state.data(n) as Float32Array).slice()]));
      await runner.release();
      return out;
    };
    const one = await stepAt(1);
    for (const threads of [2, 3, 4]) {
      const other = await stepAt(threads);
      const differing = model.updatedNames.filter((n) => !Buffer.from(one.get(n)!.buffer).equals(Buffer.from(other.get(n)!.buffer)));
      expect([threads, differing]).toEqual([threads, []]);
    }
  });
});
