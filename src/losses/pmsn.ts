/**
 * The loss of PMSN (Assran et al. 2023, "The Hidden Uniform Cluster Prior in Self-Supervised
 * Learning", arXiv:2210.07277) as lightly's PMSNLoss (lightly/loss/pmsn_loss.py; docs/methods.md
 * §4.11): MSN's loss (losses/msn.ts) with the mean-entropy term replaced by a KL divergence from a
 * power-law prior over prototype indices to the mean anchor probabilities,
 *
 *   π_k ∝ k^(−s), k = 1 … K (index order, normalised)        s = 0.25
 *   R(p̄) = KL(π ‖ p̄) = Σ_k π_k (log π_k − log p̄_k)           F.kl_div(p̄.log(), π, reduction='sum')
 *
 *   const loss = pmsnLoss(anchorsOut, targetsOut, prototypes);
 */
import { mul, reduceSum, sub, log, maximum, type Tensor } from '../graph';
import { MSN_DEFAULTS, msnLoss, type MsnLossOptions } from './msn';

export const PMSN_DEFAULTS = { ...MSN_DEFAULTS, powerLawExponent: 0.25 } as const;

/** lightly's _power_law_distribution(K, s): k^(−s) for k = 1 … K, normalised to sum 1. */
export function powerLawDistribution(size: number, exponent: number): number[] {
  const w = Array.from({ length: size }, (_, i) => (i + 1) ** -exponent);
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

// log p̄ of a prototype no anchor uses stays finite (the reference gives +inf there).
const LOG_FLOOR = 1e-30;

/** R(p̄) = KL(π ‖ p̄) with π the power law of exponent `exponent` over p̄'s K entries. */
export function powerLawKlRegulariser(exponent: number): (meanAnchorProbs: Tensor) => Tensor {
  return (meanAnchorProbs) => {
    const k = meanAnchorProbs.shape[0] as number;
    const prior = powerLawDistribution(k, exponent);
    const pi = meanAnchorProbs.graph.constant(prior, [k], meanAnchorProbs.dtype);
    const logPi = meanAnchorProbs.graph.constant(prior.map(Math.log), [k], meanAnchorProbs.dtype);
    return reduceSum(mul(pi, sub(logPi, log(maximum(meanAnchorProbs, LOG_FLOOR)))));
  };
}

export function pmsnLoss(
  anchors: Tensor, targets: Tensor, prototypes: Tensor, opts: Omit<MsnLossOptions, 'regulariser'> & { powerLawExponent?: number } = {},
): Tensor {
  const { powerLawExponent = PMSN_DEFAULTS.powerLawExponent, ...rest } = opts;
  return msnLoss(anchors, targets, prototypes, { ...rest, regulariser: powerLawKlRegulariser(powerLawExponent) });
}
