/**
 * The kNN bank streamed from a features file (the ImageNet1k path) gives exactly the in-memory
 * result — chunked, with a padded last chunk and ties across chunks — and the file writer refuses
 * files that do not match their labels.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FeatureFileWriter, featureFileBank, inMemoryBank, knnClassify } from '../../src/eval/knn';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'knn-file-bank-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
}

test('a features-file bank, written in pieces, scores exactly like the same bank in memory', async () => {
  const dim = 12;
  const bankSize = 1037;
  const numClasses = 7;
  const rnd = lcg(3);
  const features = Float32Array.from({ length: bankSize * dim }, rnd);
  // Duplicate rows in different chunks: equal similarities must still rank by bank index.
  features.copyWithin(900 * dim, 10 * dim, 11 * dim);
  const labels = Int32Array.from({ length: bankSize }, (_, i) => (i * 5) % numClasses);
  const queries = Float32Array.from({ length: 50 * dim }, rnd);
  const queryLabels = Int32Array.from({ length: 50 }, (_, i) => i % numClasses);

  const writer = new FeatureFileWriter(path.join(tmp, 'bank.f32'), dim);
  for (let start = 0; start < bankSize; start += 300) writer.append(features.subarray(start * dim, Math.min(bankSize, start + 300) * dim));
  const fileBank = writer.close(labels);
  expect(fs.statSync(path.join(tmp, 'bank.f32')).size).toBe(bankSize * dim * 4);

  const common = { queryFeatures: queries, queryLabels, dim, numClasses, k: 20, queryChunk: 16, bankChunk: 256 };
  const inMemory = await knnClassify({ ...common, bankFeatures: features, bankLabels: labels });
  const fromFile = await knnClassify({ ...common, bank: fileBank });
  const viaBankObject = await knnClassify({ ...common, bank: inMemoryBank(features, labels, dim) });
  expect(fromFile.predictions).toEqual(inMemory.predictions);
  expect([fromFile.top1, fromFile.top5]).toEqual([inMemory.top1, inMemory.top5]);
  expect(viaBankObject.predictions).toEqual(inMemory.predictions);
  // One chunk holding the whole bank: the same answer as 5 chunks.
  const oneChunk = await knnClassify({ ...common, bank: fileBank, bankChunk: bankSize });
  expect(oneChunk.predictions).toEqual(inMemory.predictions);
});

test('a features file that does not match its labels is refused', () => {
  const writer = new FeatureFileWriter(path.join(tmp, 'short.f32'), 4);
  writer.append(new Float32Array(8));
  expect(() => writer.close(new Int32Array(3))).toThrow('2 rows written, 3 labels given');
  expect(() => featureFileBank(path.join(tmp, 'short.f32'), 4, new Int32Array(3))).toThrow('holds 32 bytes, 3 rows x dim 4 x 4 need 48');
  expect(() => new FeatureFileWriter(path.join(tmp, 'rows.f32'), 5).append(new Float32Array(7))).toThrow('7 values are not whole rows of 5');
});
