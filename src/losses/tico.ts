/**
 * TiCo (Zhu et al. 2022, "TiCo: Transformation Invariance and Covariance Contrast for
 * Self-Supervised Visual Representation Learning", arXiv:2206.10698), as lightly's TiCoLoss
 * (docs/methods.md §4.18). z_a (online, view 0) and z_b (momentum, view 1) are L2-normalised;
 * C is a running covariance that persists across steps (state, stored detached):
 *
 *   C = β·C_prev + (1−β)·sg(z_aᵀ z_a)/N                            β = 0.9
 *   L = 1 − mean_i(z_a,i·z_b,i) + ρ·mean_i(z_a,iᵀ C z_a,i)         ρ = 8
 *
 * `detachBatchCovariance: false` is the form the published TiCo rows were run with (docs/methods.md
 * §4.21; lightly `tico_loss.py TiCoLoss.forward` before 2024-01-30): B = z_aᵀz_a/N keeps its gradient,
 * so the covariance term is differentiated through this step's C as well. C_prev is a detached
 * value in both forms (state carried between steps).
 *
 *   const { loss, cNext } = ticoLoss(za, zb, cPrev);   // cPrev: [D, D], zeros at the start
 *   const { loss, cNext } = ticoLoss(za, zb, cPrev, 0.9, 20, false);   // the published Imagenette row
 */
import { GraphError, add, div, formatShape, gemm, l2Normalize, matmul, mul, reduceMean, stopGradient, sub, type Tensor } from '../graph';
import { rowDot, staticBatchSize } from './similarity';

export const TICO_DEFAULTS = { beta: 0.9, rho: 8, detachBatchCovariance: true } as const;

export function ticoLoss(
  za: Tensor, zb: Tensor, cPrev: Tensor, beta: number = TICO_DEFAULTS.beta, rho: number = TICO_DEFAULTS.rho,
  detachBatchCovariance: boolean = TICO_DEFAULTS.detachBatchCovariance,
): { loss: Tensor; cNext: Tensor } {
  const n = staticBatchSize('ticoLoss', za, zb);
  const d = za.shape[1];
  if (cPrev.rank !== 2 || cPrev.shape[0] !== d || cPrev.shape[1] !== d || cPrev.dtype !== za.dtype) {
    throw new GraphError(`${za.graph.where()}ticoLoss: cPrev ${cPrev.dtype}${formatShape(cPrev.shape)} must be [${d}, ${d}] ${za.dtype}`);
  }
  const a = l2Normalize(za);
  const b = l2Normalize(zb);
  const gram = gemm(a, a, undefined, { transA: true });
  const batchCovariance = div(detachBatchCovariance ? stopGradient(gram) : gram, n);
  const c = add(mul(stopGradient(cPrev), beta), mul(batchCovariance, 1 - beta));
  const invariance = sub(1, reduceMean(rowDot(a, b)));
  const covarianceContrast = mul(reduceMean(rowDot(matmul(a, c), a)), rho);
  return { loss: add(invariance, covarianceContrast), cNext: stopGradient(c) };
}
