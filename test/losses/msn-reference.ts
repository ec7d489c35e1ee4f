/**
 * MSN / PMSN loss written from the formulas (docs/methods.md §4.8, §4.11) as float64 loops, with
 * no graph code: softmax of normalised-cosine logits, sharpening, the Sinkhorn iteration on the
 * transposed K × B matrix as lightly's msn_loss.sinkhorn writes it, cross-entropy over the tiled
 * targets and the prototype regulariser.
 */
import { dot, normalize, type Matrix } from './reference';

export interface MsnReferenceOptions {
  temperature: number;
  sharpen: number;
  iterations: number;
  weight: number;
  /** 'entropy' (MSN) or a power-law exponent (PMSN). */
  regulariser: 'entropy' | { powerLaw: number };
}

export const MSN_REFERENCE_DEFAULTS: MsnReferenceOptions = { temperature: 0.1, sharpen: 0.25, iterations: 3, weight: 1, regulariser: 'entropy' };

function softmaxRow(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Target assignments after sharpening and Sinkhorn, [B][K]. */
export function msnTargets(targets: Matrix, prototypes: Matrix, o: MsnReferenceOptions): Matrix {
  const w = prototypes.map((r) => normalize(r));
  const sharpened = targets.map((t) => {
    const p = softmaxRow(w.map((wk) => dot(normalize(t), wk) / o.temperature)).map((v) => v ** (1 / o.sharpen));
    const s = p.reduce((a, b) => a + b, 0);
    return p.map((v) => v / s);
  });
  if (o.iterations === 0) return sharpened;
  const b = targets.length;
  const k = prototypes.length;
  // Q = Pᵀ (K × B), divided by its total.
  let q: Matrix = Array.from({ length: k }, (_, i) => sharpened.map((row) => row[i]));
  const total = q.flat().reduce((a, v) => a + v, 0);
  q = q.map((row) => row.map((v) => v / total));
  for (let it = 0; it < o.iterations; it++) {
    q = q.map((row) => {
      const s = row.reduce((a, v) => a + v, 0);
      return row.map((v) => v / s / k);
    });
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += q[i][j];
      for (let i = 0; i < k; i++) q[i][j] = q[i][j] / s / b;
    }
  }
  return Array.from({ length: b }, (_, j) => q.map((row) => row[j] * b));
}

export function powerLaw(k: number, exponent: number): number[] {
  const w = Array.from({ length: k }, (_, i) => (i + 1) ** -exponent);
  const s = w.reduce((a, v) => a + v, 0);
  return w.map((v) => v / s);
}

export function msnReference(anchors: Matrix, targets: Matrix, prototypes: Matrix, opts: Partial<MsnReferenceOptions> = {}): number {
  const o = { ...MSN_REFERENCE_DEFAULTS, ...opts };
  const w = prototypes.map((r) => normalize(r));
  const probs = anchors.map((a) => softmaxRow(w.map((wk) => dot(normalize(a), wk) / o.temperature)));
  const t = msnTargets(targets, prototypes, o);
  const b = targets.length;
  let ce = 0;
  probs.forEach((p, r) => p.forEach((v, k) => { ce -= t[r % b][k] * Math.log(v); }));
  ce /= probs.length;
  if (o.weight === 0) return ce;
  const k = prototypes.length;
  const mean = Array.from({ length: k }, (_, i) => probs.reduce((s, p) => s + p[i], 0) / probs.length);
  let reg: number;
  if (o.regulariser === 'entropy') {
    reg = mean.reduce((s, v) => s + v * Math.log(v), 0) + Math.log(k);
  } else {
    const pi = powerLaw(k, o.regulariser.powerLaw);
    reg = pi.reduce((s, v, i) => s + v * (Math.log(v) - Math.log(mean[i])), 0);
  }
  return ce + o.weight * reg;
}
