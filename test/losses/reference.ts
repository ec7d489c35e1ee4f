/**
 * Plain float64 re-implementations of the loss formulas of docs/methods.md §4, written from the spec
 * with loops (no graph code), to check the ONNX losses against.
 */
export type Matrix = number[][];

export function matrix(data: ArrayLike<number>, rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j]));
}

export const flat = (m: Matrix): number[] => m.flat();
export const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
export const norm = (a: number[]): number => Math.sqrt(dot(a, a));
export const normalize = (a: number[], eps = 1e-12): number[] => a.map((v) => v / Math.max(norm(a), eps));
export const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
export const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, v) => s + Math.exp(v - m), 0));
};
/** Cross-entropy of one row of logits against the class `label`. */
export const crossEntropyRow = (logits: number[], label: number): number => logSumExp(logits) - logits[label];

export const cosine = (a: number[], b: number[], eps = 1e-8): number => dot(normalize(a, eps), normalize(b, eps));
export const negativeCosine = (p: Matrix, z: Matrix): number => -mean(p.map((row, i) => cosine(row, z[i])));

/** NT-Xent without a bank: one row per sample of both views, 2N−1 logits each. */
export function ntXent(z0: Matrix, z1: Matrix, tau: number): number {
  const a = z0.map((r) => normalize(r));
  const b = z1.map((r) => normalize(r));
  const losses: number[] = [];
  for (const [x, y] of [[a, b], [b, a]]) {
    x.forEach((xi, i) => {
      const logits = [...y.map((yj) => dot(xi, yj) / tau), ...x.filter((_, j) => j !== i).map((xj) => dot(xi, xj) / tau)];
      losses.push(crossEntropyRow(logits, i));
    });
  }
  return mean(losses);
}

/** NT-Xent against a bank of stored negatives: [q·k, q·n_1..n_K] / τ, label 0. */
export function ntXentWithBank(q: Matrix, k: Matrix, bank: Matrix, tau: number): number {
  return mean(q.map((qi0, i) => {
    const qi = normalize(qi0);
    const logits = [dot(qi, normalize(k[i])) / tau, ...bank.map((n) => dot(qi, n) / tau)];
    return crossEntropyRow(logits, 0);
  }));
}

/** DCL / DCLW (weights from `weightsOf(a, b)`, 1 when omitted), averaged over both directions. */
export function dcl(z0: Matrix, z1: Matrix, tau: number, sigma?: number): number {
  const a = z0.map((r) => normalize(r));
  const b = z1.map((r) => normalize(r));
  const n = a.length;
  const direction = (x: Matrix, y: Matrix) => {
    const sims = x.map((xi, i) => dot(xi, y[i]) / (sigma ?? 1));
    const total = sims.reduce((s, v) => s + Math.exp(v), 0);
    const w = sims.map((s) => (sigma === undefined ? 1 : 2 - (n * Math.exp(s)) / total));
    return mean(x.map((xi, i) => {
      const negatives: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i) negatives.push(dot(xi, x[j]) / tau, dot(xi, y[j]) / tau);
      return -w[i] * (dot(xi, y[i]) / tau) + logSumExp(negatives);
    }));
  };
  return 0.5 * (direction(a, b) + direction(b, a));
}

const column = (m: Matrix, j: number): number[] => m.map((r) => r[j]);

/** Barlow Twins with biased-variance standardisation (+ eps) and λ on the off-diagonal. */
export function barlowTwins(za: Matrix, zb: Matrix, lambda: number, eps = 1e-5): number {
  const d = za[0].length;
  const standardise = (z: Matrix) => {
    const cols = Array.from({ length: d }, (_, j) => {
      const c = column(z, j);
      const mu = mean(c);
      const varBiased = mean(c.map((v) => (v - mu) ** 2));
      return c.map((v) => (v - mu) / Math.sqrt(varBiased + eps));
    });
    return z.map((_, i) => cols.map((c) => c[i]));
  };
  const a = standardise(za);
  const b = standardise(zb);
  return crossCorrelationPenalty(a, b, lambda);
}

/** Barlow Twins' penalty on standardised views: Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², C = aᵀb / n. */
export function crossCorrelationPenalty(a: Matrix, b: Matrix, lambda: number): number {
  const n = a.length;
  const d = a[0].length;
  let loss = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let c = 0;
      for (let k = 0; k < n; k++) c += a[k][i] * b[k][j];
      c /= n;
      loss += i === j ? (1 - c) ** 2 : lambda * c * c;
    }
  }
  return loss;
}

/** The three VICReg terms, unweighted. */
export function vicregTerms(za: Matrix, zb: Matrix, eps = 1e-4): { invariance: number; variance: number; covariance: number } {
  const n = za.length;
  const d = za[0].length;
  const invariance = mean(za.flatMap((r, i) => r.map((v, j) => (v - zb[i][j]) ** 2)));
  const stats = (z: Matrix) => {
    const mus = Array.from({ length: d }, (_, j) => mean(column(z, j)));
    const cov = (i: number, j: number) => z.reduce((s, r) => s + (r[i] - mus[i]) * (r[j] - mus[j]), 0) / (n - 1);
    const v = mean(Array.from({ length: d }, (_, j) => Math.max(0, 1 - Math.sqrt(cov(j, j) + eps))));
    let c = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j) c += cov(i, j) ** 2;
    return { v, c: c / d };
  };
  const sa = stats(za);
  const sb = stats(zb);
  return { invariance, variance: 0.5 * (sa.v + sb.v), covariance: sa.c + sb.c };
}

/** TiCo: the loss and the updated running covariance C. */
export function tico(za: Matrix, zb: Matrix, cPrev: Matrix, beta: number, rho: number): { loss: number; c: Matrix } {
  const a = za.map((r) => normalize(r));
  const b = zb.map((r) => normalize(r));
  const n = a.length;
  const c = cPrev.map((row, i) => row.map((v, j) => beta * v + (1 - beta) * a.reduce((s, r) => s + r[i] * r[j], 0) / n));
  const quadratic = mean(a.map((r) => r.reduce((s, ri, i) => s + ri * dot(c[i], r), 0)));
  const loss = 1 - mean(a.map((r, i) => dot(r, b[i]))) + rho * quadratic;
  return { loss, c };
}

/** lightly's MemoryBankModule ring buffer, one call: returns the bank before and mutates to after. */
export class RingBuffer {
  constructor(public rows: Matrix, public ptr = 0) {}

  push(batch: Matrix): Matrix {
    const before = this.rows.map((r) => [...r]);
    const size = this.rows.length;
    if (this.ptr + batch.length >= size) {
      for (let r = this.ptr; r < size; r++) this.rows[r] = [...batch[r - this.ptr]];
      this.ptr = 0;
    } else {
      batch.forEach((row, b) => (this.rows[this.ptr + b] = [...row]));
      this.ptr += batch.length;
    }
    return before;
  }
}

/** The bank entry of highest cosine similarity for each row (first on ties), as stored. */
export function nearestNeighbours(z: Matrix, bank: Matrix): Matrix {
  return z.map((row) => {
    let best = 0;
    bank.forEach((entry, k) => {
      if (cosine(row, entry, 1e-12) > cosine(row, bank[best], 1e-12)) best = k;
    });
    return bank[best];
  });
}
