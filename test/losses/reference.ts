/**
 * Plain float64 re-implementations of the loss formulas of METHODS.md §4, written from the spec
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
