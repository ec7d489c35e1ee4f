/**
 * methods/ — one file per self-supervised method (networks, views, loss, EMA, state), see
 * method.ts for the contract and registry.ts for the id → implementation table.
 */
export { methodFor, METHOD_IMPLEMENTATIONS } from './registry';
export { numberParam, booleanParam } from './method';
export type {
  Method, MethodContext, MethodInstance, MethodNetwork, MethodState, SampledInput, SchedulePoint, ParamGroup, ParamTransform, HostStepAccess,
} from './method';
