/** SMoG's grouping step as a float64 loop from lightly's SMoGPrototypes and the benchmark's training step. */
export type M = number[][];
export const rows = (data: ArrayLike<number>, n: number, d: number): M => Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => data[i * d + j]));
export const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
export const unit = (a: number[]) => { const l = Math.max(Math.sqrt(dot(a, a)), 1e-12); return a.map((v) => v / l); };
export const argmaxCos = (x: number[], g: M) => {
  let best = 0;
  g.forEach((gj, j) => { if (dot(unit(x), unit(gj)) > dot(unit(x), unit(g[best]))) best = j; });
  return best;
};

export function referenceGroups(e0: M, g: M, beta: number): M {
  const own = e0.map((x) => argmaxCos(x, g));
  return g.map((gj, j) => {
    const members = e0.filter((_, b) => own[b] === j);
    if (members.length === 0) return [...gj];
    return gj.map((v, f) => beta * v + (1 - beta) * members.reduce((s, m) => s + m[f], 0) / members.length);
  });
}

export function referenceLoss(e0: M, p0: M, e1: M, g: M, beta: number, tau: number): number {
  const targets = e1.map((x) => argmaxCos(x, g));
  const next = referenceGroups(e0, g, beta);
  let total = 0;
  p0.forEach((p, b) => {
    const logits = next.map((gj) => dot(unit(p), unit(gj)) / tau);
    const m = Math.max(...logits);
    total += m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0)) - logits[targets[b]];
  });
  return total / p0.length;
}

