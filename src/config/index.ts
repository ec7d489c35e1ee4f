export { loadConfig, displayPath, isAbstractConfig, expandConfigArgs } from './load';
export type { LoadOptions } from './load';
export { configHash, resolvedConfigYaml, canonicalJson } from './hash';
export type { ResolvedConfig, OptimizerConfig, ScheduleConfig, ProbeConfig, ParamValue } from './types';
export { CONFIG_SCHEMA } from './schema';
export { METHOD_PARAMS } from './method-params';
export type { MethodId, MethodParams } from './method-params';
export { PRESET_PARAMS } from './preset-params';
export type { PresetId, PresetFields } from './preset-params';
