import type { ParamValue } from '../config';

/** A string method parameter that must be one of `choices` (the config schema has checked it already). */
export function choiceParam<C extends string>(params: Record<string, ParamValue>, name: string, choices: readonly C[]): C {
  const v = params[name];
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new Error(`method.params.${name}: expected one of ${choices.join(', ')} after config resolution, got ${JSON.stringify(v)}`);
  }
  return v as C;
}
