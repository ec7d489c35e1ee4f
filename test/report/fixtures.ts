import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { writeSummary, type RunSummary } from '../../src/report/summary';
import { CHECKPOINT_BUCKET, type ImagenetRow, type SmallRow } from './published';

/** A valid finished summary; tests override what they exercise. */
export function makeSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    schema_version: 1,
    status: 'finished',
    method: 'simclr',
    label: 'SimCLR',
    marker: '',
    backbone: 'resnet18-cifar',
    backbone_label: 'Res18',
    dataset: 'cifar10',
    batch_size: 128,
    epochs: 200,
    seed: 0,
    metrics: { knn_top1: { value: 0.847, protocol: 'knn k=200 t=0.1, max over epochs' } },
    runtime_minutes: 97.7,
    peak_memory_gb: 1.5,
    memory_kind: 'device',
    device: 'cuda:0',
    config_hash: '0123456789ab',
    config_file: 'configs/cifar10/simclr.yaml',
    run_name: 'simclr-bs128-ep200',
    versions: { ssl_bench: '0.1.0', onnxruntime: '1.30.0', node: 'v20.20.0' },
    started_at: '2026-11-26T07:00:00Z',
    finished_at: '2026-11-26T08:37:42Z',
    ...overrides,
  };
}

export function makeTempDir(prefix = 'ssl-bench-report-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes `summary` to `<root>/<name>/summary.json` and returns the run directory. */
export function writeRun(root: string, name: string, summary: RunSummary): string {
  const dir = path.join(root, name);
  writeSummary(path.join(dir, 'summary.json'), summary);
  return dir;
}

const methodId = (label: string): string => label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function smallRowSummary(row: SmallRow, dataset: string, seed = 0): RunSummary {
  const [label, marker, backbone, batch, epochs, knn, minutes, gib] = row;
  return makeSummary({
    method: methodId(label), label, marker, backbone_label: backbone, backbone: backbone.toLowerCase(), dataset,
    batch_size: batch, epochs, seed, runtime_minutes: minutes, peak_memory_gb: gib,
    metrics: { knn_top1: { value: knn, protocol: 'knn max over epochs' } },
    run_name: `${methodId(label)}-bs${batch}-ep${epochs}-s${seed}`,
  });
}

export function imagenetRowSummary(row: ImagenetRow, tensorboard: string | undefined): RunSummary {
  const names = ['linear_top1', 'linear_top5', 'finetune_top1', 'finetune_top5', 'knn_top1', 'knn_top5'];
  const metrics: RunSummary['metrics'] = {};
  names.forEach((name, i) => { metrics[name] = { value: row.percents[i] / 100, protocol: `${name.split('_')[0]} max over epochs` }; });
  return makeSummary({
    method: methodId(row.label), label: row.label, marker: row.marker, backbone: row.backbone.toLowerCase().replace('/', ''),
    backbone_label: row.backbone, dataset: 'imagenet1k', batch_size: row.batch, epochs: row.epochs, metrics,
    runtime_minutes: 5760, peak_memory_gb: 20,
    links: {
      ...(tensorboard === undefined ? {} : { tensorboard }),
      checkpoint: `${CHECKPOINT_BUCKET}${row.runFolder}/pretrain/version_0/checkpoints/${row.checkpointFile}`,
    },
    run_name: `${methodId(row.label)}-${row.backbone.replace('/', '')}`,
  });
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `ssl-bench <args>` in-process and captures its output. */
export async function runCli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += chunk.toString(); return true; });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += chunk.toString(); return true; });
  try {
    const code = await main(['node', 'ssl-bench', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Every file below `dir`, relative, sorted (to prove no temp files are left behind). */
export function listFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else found.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}
