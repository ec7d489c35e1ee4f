/**
 * Child process of test/data/prefetch.test.ts: closes a prefetcher while it reads (the await must
 * not let the process end early), then reads a batch with another and leaves a second one
 * prefetched (the state a run ends in), never calling close(); the process must exit by itself.
 *
 *   node prefetch-exit-child.js <records file> <data offset> <record bytes>
 */
'use strict';
const path = require('node:path');

require('../../support/register-ts.js');

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');
const { BatchPrefetcher } = require(path.join(SRC, 'data', 'prefetch.ts'));

(async () => {
  const [file, offset, size] = process.argv.slice(2);
  const records = { file, dataOffset: Number(offset), imageBytes: Number(size), records: 2, recordOf: null };
  // close() with a read in flight must hold the process until the worker is gone.
  const closing = BatchPrefetcher.for({ fileRecords: () => records }, 2);
  await closing.take(Int32Array.from([0, 1]));
  closing.prefetch(Int32Array.from([1, 0]));
  await closing.close();
  process.stdout.write('closed\n');
  const prefetcher = BatchPrefetcher.for({ fileRecords: () => records }, 2);
  const first = (await prefetcher.take(Int32Array.from([1, 0]))).length;
  prefetcher.prefetch(Int32Array.from([0, 1]));
  const second = (await prefetcher.take(Int32Array.from([0, 1]))).length;
  prefetcher.prefetch(Int32Array.from([1, 1]));
  process.stdout.write(`read ${first} bytes, prefetched ${second}\n`);
})();
