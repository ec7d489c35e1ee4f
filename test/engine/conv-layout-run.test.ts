/**
 * `ssl-bench run --nchwc`: a CPU run trains with ORT's NCHWc convolutions by default and records it
 * in summary.json, while its backbone.onnx stays plain ONNX; --nchwc off trains with plain Conv.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nchwcBlockSizeOfThisCpu } from '../../src/graph';
import { CONFIG, cli, readSummary, runDirOf } from '../e2e/support/harness';
import { cliChild } from '../sweep/support/cli-child';

const block = nchwcBlockSizeOfThisCpu();
const onX86 = block > 0 ? test : test.skip;
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-nchwc-run-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(...flags: string[]): Promise<string> {
  const out = path.join(tmp, flags.join('') || 'default');
  const r = await cli('run', CONFIG, '--output', out, '--max-steps', '2', '--threads', '1', ...flags);
  if (r.code !== 0) throw new Error(`run failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return runDirOf(out);
}

onX86('the default trains with NCHWc convs (summary conv_layout) and exports a plain backbone.onnx; --nchwc off trains plain', async () => {
  const auto = await run();
  const off = await run('--nchwc', 'off');
  expect([readSummary(auto).conv_layout, readSummary(off).conv_layout]).toEqual([`nchwc${block}`, 'plain']);
  for (const dir of [auto, off]) {
    const onnx = fs.readFileSync(path.join(dir, 'backbone.onnx'));
    expect(onnx.includes('com.microsoft.nchwc')).toBe(false);
    expect(onnx.includes('Conv')).toBe(true);
  }
});

test('--nchwc takes auto or off', async () => {
  const r = await cli('run', CONFIG, '--output', path.join(tmp, 'bad'), '--nchwc', 'on');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--nchwc <auto\|off>' argument 'on' is invalid. expected auto or off/);
});

onX86('sweep --nchwc off: the plan keeps it and every task trains with plain Conv', async () => {
  const sweepDir = path.join(tmp, 'sweep');
  // A child process: the local executor starts its workers with the command that started it.
  const r = await cliChild(['sweep', CONFIG, '--output', path.join(tmp, 'sweep-out'), '--sweep-dir', sweepDir, '--threads', '1', '--max-steps', '2', '--nchwc', 'off']).done;
  if (r.code !== 0) throw new Error(`sweep failed (${r.code}):\n${r.output}`);
  const plan = JSON.parse(fs.readFileSync(path.join(sweepDir, 'plan.json'), 'utf8'));
  expect(plan.nchwc).toBe('off');
  expect(readSummary(plan.tasks[0].seedDir).conv_layout).toBe('plain');
});
