/**
 * PMSN (Assran et al. 2023, "The Hidden Uniform Cluster Prior in Self-Supervised Learning",
 * arXiv:2210.07277) as Lightly's Imagenette benchmark runs it (docs/methods.md §4.11;
 * imagenette_benchmark.py PMSNModel): MSN (methods/msn.ts) — same networks, masking, views, EMA
 * target and optimiser — with the mean-entropy regulariser replaced by KL(π ‖ p̄) to a power-law
 * prior π_k ∝ k^(−0.25) over prototype indices (losses/pmsn.ts).
 */
import { METHOD_PARAMS } from '../config/method-params';
import { powerLawKlRegulariser } from '../losses/pmsn';
import { numberParam, type Method } from './method';
import { msnMethod } from './msn';

export const pmsn: Method = {
  ...msnMethod('pmsn', '§4.11', (params) => powerLawKlRegulariser(numberParam(params, 'power_law_exponent'))),
  label: 'PMSN',
  description: 'Prior-matching MSN: MSN with a power-law prototype prior (Assran et al., 2023)',
  params: METHOD_PARAMS.pmsn,
  defaultPreset: 'msn',
};
