/**
 * Float64 loops of the loss forms the published benchmark rows were run with (docs/methods.md
 * §4.21), written from their formulas without graph code.
 */
import { crossCorrelationPenalty } from './reference';
export type M = number[][];
export const rows = (data: ArrayLike<number>, n: number, d: number): M => Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => data[i * d + j]));
export const dotp = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
export const unit = (a: number[]) => { const l = Math.max(Math.sqrt(dotp(a, a)), 1e-12); return a.map((v) => v / l); };
export const lse = (xs: number[]) => { const m = Math.max(...xs); return m + Math.log(xs.reduce((s, v) => s + Math.exp(v - m), 0)); };
export const avg = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

/** Lightly's DCL up to mid-2025: −w_i·pos + lse_{j≠i}(a_i·a_j/τ) + lse_{j≠i}(a_i·b_j/τ), both directions averaged. */
export function dclSeparate(z0: M, z1: M, tau: number, sigma?: number): number {
  const a = z0.map(unit);
  const b = z1.map(unit);
  const n = a.length;
  const direction = (x: M, y: M) => {
    const s = x.map((xi, i) => dotp(xi, y[i]) / (sigma ?? 1));
    const z = s.reduce((acc, v) => acc + Math.exp(v), 0);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = sigma === undefined ? 1 : 2 - (n * Math.exp(s[i])) / z;
      const same: number[] = [];
      const cross: number[] = [];
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        same.push(dotp(x[i], x[j]) / tau);
        cross.push(dotp(x[i], y[j]) / tau);
      }
      total += -w * (dotp(x[i], y[i]) / tau) + lse(same) + lse(cross);
    }
    return total / n;
  };
  return 0.5 * (direction(a, b) + direction(b, a));
}

/** TiCo, one step: C = β·C_prev + (1−β)·aᵀa/N; L = 1 − mean(a·b) + ρ·mean(aᵀCa). */
export function ticoValue(za: M, zb: M, cPrev: M, beta: number, rho: number): number {
  const a = za.map(unit);
  const b = zb.map(unit);
  const n = a.length;
  const d = a[0].length;
  const c = cPrev.map((r, i) => r.map((v, j) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += a[k][i] * a[k][j];
    return beta * v + (1 - beta) * s / n;
  }));
  let quad = 0;
  for (let k = 0; k < n; k++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) quad += a[k][i] * c[i][j] * a[k][j];
  return 1 - avg(a.map((r, k) => dotp(r, b[k]))) + rho * quad / n;
}

/** Barlow Twins with one mean and biased variance per dimension over the 2N stacked rows. */
export function barlowJoint(za: M, zb: M, lambda: number, eps = 1e-5): number {
  const d = za[0].length;
  const both = [...za, ...zb];
  const mu = Array.from({ length: d }, (_, j) => avg(both.map((r) => r[j])));
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(avg(both.map((r) => (r[j] - mu[j]) ** 2)) + eps));
  const std = (z: M) => z.map((r) => r.map((v, j) => (v - mu[j]) / sd[j]));
  const a = std(za);
  const b = std(zb);
  return crossCorrelationPenalty(a, b, lambda);
}

