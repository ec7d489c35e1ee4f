/**
 * engine/ — ORT sessions on cpu | cuda | webgpu, the training-step model and its runner, the state
 * store, the inference (embedding) model, checkpoints and the standalone backbone export.
 *
 *   createSession(bytes, device, { threads, executionMode, log, profilePrefix, convLayout }) → { session, device, convLayout }
 *     (on the CPU EP a model with eligible convs opens with ORT's NCHWc convs: conv-layout.ts)
 *   buildTrainStep({ name, trainable, frozen?, teachers?, buffers, optimizer, excludeNormBiasFromWd?, emaPairs?,
 *                    groups?, transforms?, scalars?, gradClipNorm?, build(step) → { loss, metrics? } }) → TrainStepModel
 *   TrainStepRunner.create(model, initialValues, { device, threads, outputs, resident })
 *     (on WebGPU the state stays in GPU buffers between steps; runner.state.get/data download: device-state.ts)
 *   runner.step(data, { lr, weightDecay, emaMomentum?, values?: { 'group.<g>.lr' | … | <scalar>: number } })
 */
export { createSession, convLayoutOf, cudaProviderInstalled, vulkanLoaderPresent } from './session';
export { CONV_LAYOUT_PREFERENCES, convLayoutPreference, setConvLayoutPreference, cpuNchwcBlock } from './conv-layout';
export type { ConvLayout, ConvLayoutPreference } from './conv-layout';
export type { Device, ResolvedDevice, SessionOptions, CreatedSession } from './session';
export { buildTrainStep, nextName, gradName, groupScalarName, emaTransform, SCALAR } from './train-step';
export type {
  TrainStepSpec, TrainStepModel, StepBuilder, StateEntry, DataInput, ParamGroupInputs, StateTransform, TransformContext,
} from './train-step';
export { StateStore } from './state-store';
export type { HostData } from './state-store';
export { TrainStepRunner } from './runner';
export type { StepScalars, StepResult, OutputMode, RunnerOptions } from './runner';
export { saveCheckpoint, loadCheckpoint, restoreState, CHECKPOINT_VERSION } from './checkpoint';
export type { CheckpointMeta, Checkpoint, CheckpointEntry } from './checkpoint';
export { buildInferenceModel, embed, BATCH_DIM } from './inference';
export type { InferenceModel, InferenceModelOptions, ImageInput } from './inference';
export { exportBackbone } from './export';
export type { ExportOptions } from './export';
