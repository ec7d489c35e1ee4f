#!/usr/bin/env node
/**
 * kNN at ImageNet1k scale in bounded memory: writes a synthetic bank of the ImageNet1k / ResNet-50
 * shape (default 1 281 167 x 2048 float32 = 10.5 GB, 1000 classes) to a features file in chunks,
 * then runs the kNN classifier (k 200, t 0.1) for --queries test features streaming the bank from
 * the file, and prints wall time and peak resident memory (VmHWM). Usage (after `npm run build`):
 *
 *   node scripts/knn-scale.js [--rows 1281167] [--dim 2048] [--queries 256] [--dir /tmp] [--threads N] [--device cpu]
 *
 * Peak memory must stay near one bank chunk (128 MiB) and ORT's normalised copies of it + the
 * queries, whatever --rows is. Time grows with rows x queries (one pass over the bank; one GEMM per
 * bank chunk and query chunk).
 *
 * Measured 2026-12-03 on the shared 2-core CPU machine (other jobs running), --threads 1:
 *   1 281 167 x 2048, 256 queries: file written in 270 s, kNN 159 s, peak RSS 611 MiB (212 before)
 *     100 000 x 2048,  64 queries: kNN 6.4 s, peak RSS 520 MiB (128 MiB chunks; 947 MiB with 256 MiB)
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FeatureFileWriter, knnClassify } = require('../dist/eval/knn');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

function peakRssMiB() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

async function main() {
  const rows = Number(arg('rows', 1281167));
  const dim = Number(arg('dim', 2048));
  const queries = Number(arg('queries', 256));
  const classes = 1000;
  const threads = arg('threads') === undefined ? undefined : Number(arg('threads'));
  const file = path.join(arg('dir', os.tmpdir()), `knn-scale-${process.pid}.f32`);
  let seed = 12345;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
  // Class c's features cluster around a per-class direction, so the accuracy is a sanity check.
  const centres = Float32Array.from({ length: classes * dim }, rnd);
  const noise = Float32Array.from({ length: 1 << 20 }, () => 1.5 * rnd());
  let offset = 0;
  const sample = (label, out, at) => {
    // Noise from a sliding window over one random table: cheap enough to write 10 GB quickly.
    offset = (offset + 7919 + (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % 4096) % (noise.length - dim);
    for (let d = 0; d < dim; d++) out[at + d] = centres[label * dim + d] + noise[offset + d];
  };
  const labels = Int32Array.from({ length: rows }, (_, i) => i % classes);
  const t0 = Date.now();
  const writer = new FeatureFileWriter(file, dim);
  const piece = new Float32Array(16384 * dim);
  try {
    for (let start = 0; start < rows; start += 16384) {
      const n = Math.min(16384, rows - start);
      for (let r = 0; r < n; r++) sample(labels[start + r], piece, r * dim);
      writer.append(piece.subarray(0, n * dim));
    }
    const bank = writer.close(labels);
    const writeSeconds = (Date.now() - t0) / 1000;
    const queryLabels = Int32Array.from({ length: queries }, (_, i) => (i * 7) % classes);
    const queryFeatures = new Float32Array(queries * dim);
    for (let q = 0; q < queries; q++) sample(queryLabels[q], queryFeatures, q * dim);
    const rssBefore = peakRssMiB();
    const t1 = Date.now();
    const r = await knnClassify({ bank, queryFeatures, queryLabels, dim, numClasses: classes, k: 200, temperature: 0.1, threads, device: arg('device', 'cpu') });
    const knnSeconds = (Date.now() - t1) / 1000;
    console.log(JSON.stringify({
      rows, dim, queries, bank_gb: (rows * dim * 4) / 1024 ** 3, write_seconds: writeSeconds, knn_seconds: knnSeconds,
      knn_seconds_per_1000_queries: (knnSeconds * 1000) / queries, top1: r.top1, top5: r.top5,
      peak_rss_mib_before_knn: rssBefore, peak_rss_mib: peakRssMiB(),
    }));
  } finally {
    fs.rmSync(file, { force: true });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
