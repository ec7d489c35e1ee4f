/**
 * Every method a config can name. A new method is one file exporting a `Method` spec (id, label,
 * description, params, default preset, create; see method.ts) and one line in METHOD_SPECS: the
 * catalogue (src/registry.ts), the config schema and its JSON Schema, `ssl-bench list` and
 * `validate` all read this list.
 */
import { UserError } from '../errors';
import type { Method } from './method';
import { none } from './none';
import { simclr } from './simclr';
import { barlowtwins } from './barlowtwins';
import { byol } from './byol';
import { dcl } from './dcl';
import { dclw } from './dclw';
import { fastsiam } from './fastsiam';
import { moco } from './moco';
import { nnclr } from './nnclr';
import { simsiam } from './simsiam';
import { tico } from './tico';
import { vicreg } from './vicreg';
import { dino } from './dino';
import { swav } from './swav';
import { swavqueue } from './swavqueue';
import { mae } from './mae';
import { msn } from './msn';
import { pmsn } from './pmsn';
import { simmim } from './simmim';
import { smog } from './smog';
import { vicregl } from './vicregl';

export const METHOD_SPECS: readonly Method[] = [
  none,
  simclr,
  barlowtwins,
  byol,
  dcl,
  dclw,
  fastsiam,
  moco,
  nnclr,
  simsiam,
  tico,
  vicreg,
  dino,
  swav,
  swavqueue,
  mae,
  msn,
  pmsn,
  simmim,
  smog,
  vicregl,
];

export const METHOD_IMPLEMENTATIONS: ReadonlyMap<string, Method> = new Map(METHOD_SPECS.map((m) => [m.id, m]));

/** The implementation of `id`; a config naming a method without one is a user error. */
export function methodFor(id: string): Method {
  const m = METHOD_IMPLEMENTATIONS.get(id);
  if (!m) throw new UserError(`method.name: '${id}' has no training implementation in this build; implemented: ${[...METHOD_IMPLEMENTATIONS.keys()].join(', ')}`);
  return m;
}
