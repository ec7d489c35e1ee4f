/**
 * eval/ — evaluation protocols on frozen or online features (docs/methods.md §5), numeric work in ONNX Runtime.
 *
 *   knnClassify({ bankFeatures, bankLabels, queryFeatures, queryLabels, dim, numClasses, k?, temperature?,
 *                 queryChunk?, bankChunk?, device?, threads? }) → { top1, top5, predictions, k }
 *   linearProbe({ featureDim, numClasses, train: features | embed(epoch), test, epochs, batchSize, lr,
 *                 momentum?, weightDecay?, schedule?, optimizer?, head?, dropLast?, seed, init?, ... })
 *     → { maxOverEpochs, final, epochs, state }
 *   new OnlineLinearClassifier(featureDim, numClasses).parameters() / .addToStep(step, features, labels)
 *   buildClassifierEvalModel(head, prefix, featureDim, numClasses) + evaluateClassifier(session, model, state, features, labels)
 */
export { knnClassify, knnChunkModel, knnMergeModel, knnVoteModel, KNN_DEFAULTS } from './knn';
export type { KnnOptions, KnnResult } from './knn';
export { linearProbe, probeHead, PROBE_PREFIX, PROBE_SCHEDULE } from './linear';
export type { LinearProbeOptions, LinearProbeResult, ProbeEpoch, ProbeHead, LabelledFeatures, EmbedTrainFeatures } from './linear';
export { OnlineLinearClassifier, ONLINE_CLASSIFIER_PREFIX } from './online-linear';
export { buildClassifierEvalModel, evaluateClassifier } from './classifier-eval';
export type { ClassifierEvalModel, Accuracy } from './classifier-eval';
