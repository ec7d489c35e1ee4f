#!/usr/bin/env node
'use strict';
// Cuts the class-balanced Fashion-MNIST subset that ships in data-embedded/fashion-mnist/ (the
// quickstart's default dataset): the first N images of each class, in file order, from Debian's
// dataset-fashion-mnist copy, written back in the original idx format (gzipped).
//   node scripts/make-embedded-fashion-mnist.js [--src DIR] [--train-per-class 200] [--test-per-class 100]
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const src = opt('--src', '/usr/share/datasets/fashion-mnist');
const out = path.resolve(__dirname, '..', 'data-embedded', 'fashion-mnist');
const perClass = { train: Number(opt('--train-per-class', 200)), t10k: Number(opt('--test-per-class', 100)) };

function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const dims = buf[3];
  const shape = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  return { magic: buf.readUInt32BE(0), shape, data: buf.subarray(4 + 4 * dims) };
}

function writeIdx(file, magic, shape, data) {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt32BE(magic, 0);
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  // mtime 0 in the gzip header keeps the file byte-identical across regenerations.
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([header, data]), { level: 9 }));
}

fs.mkdirSync(out, { recursive: true });
for (const split of ['train', 't10k']) {
  const images = readIdx(path.join(src, `${split}-images-idx3-ubyte.gz`));
  const labels = readIdx(path.join(src, `${split}-labels-idx1-ubyte.gz`));
  const [n, h, w] = images.shape;
  const taken = new Array(10).fill(0);
  const keep = [];
  for (let i = 0; i < n; i++) {
    const c = labels.data[i];
    if (taken[c] < perClass[split]) { taken[c]++; keep.push(i); }
  }
  const img = Buffer.alloc(keep.length * h * w);
  const lab = Buffer.alloc(keep.length);
  keep.forEach((i, j) => { images.data.copy(img, j * h * w, i * h * w, (i + 1) * h * w); lab[j] = labels.data[i]; });
  writeIdx(path.join(out, `${split}-images-idx3-ubyte.gz`), images.magic, [keep.length, h, w], img);
  writeIdx(path.join(out, `${split}-labels-idx1-ubyte.gz`), labels.magic, [keep.length], lab);
  console.log(`${split}: ${keep.length} images (${perClass[split]} per class)`);
}
