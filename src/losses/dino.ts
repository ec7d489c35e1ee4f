/**
 * DINO (Caron et al. 2021, "Emerging Properties in Self-Supervised Vision Transformers",
 * arXiv:2104.14294), as lightly's DINOLoss (lightly/loss/dino_loss.py; docs/methods.md §4.5).
 * Teacher outputs g_t for the T global views, student outputs g_s for all S views, globals first:
 *
 *   P_t = softmax((g_t − c)/τ_t)          log Q_s = log_softmax(g_s/τ_s)
 *   L   = Σ_{t, s ≠ t} Σ_b −P_t,b · log Q_s,b / (n_terms · B)       n_terms = T·S − min(T, S)
 *   c   ← m·c + (1 − m)·mean_{t, b} g_t        after the loss (the loss uses the old centre)
 *
 *   const { loss, centerNext } = dinoLoss(teacherOuts, studentOuts, center, { teacherTemp });
 *
 * τ_s = 0.1 and m = 0.9 by default; τ_t is a number or a per-step scalar input (the warmup
 * schedule, `teacherTemperature`). The teacher is not differentiated (stopGradient). The centre is
 * a [1, D] state; the reference's [1, 1, D] buffer broadcasts the same way.
 */
import { GraphError, add, concat, div, formatShape, logSoftmax, mul, neg, reduceMean, reduceSum, softmax, stopGradient, sub, type Tensor } from '../graph';

export const DINO_DEFAULTS = { studentTemp: 0.1, centerMomentum: 0.9, warmupTeacherTemp: 0.04, teacherTemp: 0.04, warmupTeacherTempEpochs: 30 } as const;

export interface DinoLossOptions {
  /** τ_t: a constant or a float32 scalar tensor fed per step. */
  teacherTemp: number | Tensor;
  studentTemp?: number;
  centerMomentum?: number;
}

export function dinoLoss(teacherOut: readonly Tensor[], studentOut: readonly Tensor[], center: Tensor, opts: DinoLossOptions): { loss: Tensor; centerNext: Tensor } {
  const { studentTemp = DINO_DEFAULTS.studentTemp, centerMomentum = DINO_DEFAULTS.centerMomentum } = opts;
  const all = [...teacherOut, ...studentOut];
  const first = all[0];
  if (!first || teacherOut.length === 0 || studentOut.length === 0) throw new GraphError('dinoLoss: needs at least one teacher and one student output');
  const [b, d] = first.shape;
  for (const t of all) {
    if (t.rank !== 2 || formatShape(t.shape) !== formatShape(first.shape) || t.dtype !== first.dtype || typeof b !== 'number') {
      throw new GraphError(`${first.graph.where()}dinoLoss: every output must be a static [B, D] ${first.dtype} like the first, got ${all.map((x) => `${x.dtype}${formatShape(x.shape)}`).join(', ')}`);
    }
  }
  if (center.dtype !== first.dtype || formatShape(center.shape) !== `[1,${d}]`) {
    throw new GraphError(`${first.graph.where()}dinoLoss: center ${center.dtype}${formatShape(center.shape)} must be [1, ${d}] ${first.dtype}`);
  }
  const T = teacherOut.length;
  const S = studentOut.length;
  const nTerms = T * S - Math.min(T, S);
  if (nTerms === 0) throw new GraphError(`${first.graph.where()}dinoLoss: one teacher and one student view give no pair of different views`);
  const c = stopGradient(center);
  const teacher = teacherOut.map((g) => stopGradient(g));
  const p = teacher.map((g) => softmax(div(sub(g, c), opts.teacherTemp)));
  const logQ = studentOut.map((g) => logSoftmax(div(g, studentTemp)));
  // Σ_{s ≠ t} log Q_s = Σ_s log Q_s − log Q_t (when the student has a view t).
  const allLogQ = logQ.reduce((acc, x) => add(acc, x));
  let crossSum: Tensor | null = null;
  p.forEach((pt, t) => {
    const others = t < S ? sub(allLogQ, logQ[t]) : allLogQ;
    const term = reduceSum(mul(pt, others));
    crossSum = crossSum ? add(crossSum, term) : term;
  });
  const loss = div(neg(crossSum!), nTerms * (b as number));
  const batchCenter = reduceMean(concat(teacher, 0), [0], true);
  const centerNext = add(mul(c, centerMomentum), mul(batchCenter, 1 - centerMomentum));
  return { loss, centerNext };
}

/**
 * τ_t at `epoch`: lightly's linspace(warmup, final, warmupEpochs)[epoch] during the warmup epochs,
 * `final` afterwards (DINOLoss(..., epoch=current_epoch) as the docs scripts call it).
 */
export function teacherTemperature(epoch: number, warmup: number, final: number, warmupEpochs: number): number {
  if (epoch >= warmupEpochs) return final;
  // torch.linspace(start, end, steps): start + i·(end − start)/(steps − 1); one step is [start].
  return warmupEpochs === 1 ? warmup : warmup + (epoch * (final - warmup)) / (warmupEpochs - 1);
}
