/**
 * losses/ — the self-supervised objectives of docs/methods.md §4 as graph functions, plus the state
 * they carry between steps (memory bank, TiCo's running covariance). Each module reads like its
 * paper and keeps its defaults in one exported *_DEFAULTS object.
 */
export { ntXentLoss, ntXentLossWithBank, NT_XENT_DEFAULTS } from './ntxent';
export { dclLoss, dclwLoss, negativeMisesFisherWeights, DCL_DEFAULTS } from './dcl';
export type { DclNegatives } from './dcl';
export { negativeCosineSimilarity, NEGATIVE_COSINE_DEFAULTS } from './negative-cosine';
export { simSiamLoss, byolLoss, fastSiamLoss } from './siamese';
export { barlowTwinsLoss, BARLOW_TWINS_DEFAULTS } from './barlow-twins';
export type { BarlowTwinsNormalisation } from './barlow-twins';
export { vicregLoss, vicregTerms, VICREG_DEFAULTS } from './vicreg';
export type { VicregWeights } from './vicreg';
export { ticoLoss, TICO_DEFAULTS } from './tico';
export { memoryBankUpdate } from './memory-bank';
export type { MemoryBankStep } from './memory-bank';
export { nearestNeighbour, nnclrLoss, NNCLR_DEFAULTS } from './nearest-neighbour';
export type { NnclrViews } from './nearest-neighbour';
export { mocoLoss, mocoSymmetricLoss, MOCO_DEFAULTS } from './moco';
export type { MocoStep, MocoSymmetricViews } from './moco';
export { sinkhorn, sinkhornKnopp, sinkhornOnProbabilities, SINKHORN_DEFAULTS } from './sinkhorn';
export { dinoLoss, teacherTemperature, DINO_DEFAULTS } from './dino';
export type { DinoLossOptions } from './dino';
export { swavLoss, swavSubloss, swavCodes, SWAV_DEFAULTS } from './swav';
export type { SwavLossOptions } from './swav';
export { smogLoss, assignGroups, updatedGroupFeatures, groupLogits, SMOG_DEFAULTS } from './smog';
export type { SmogViews } from './smog';
export { vicreglLoss, nearestNeighbourMatches, pairwiseSquaredDistances, varianceCovariance, vicregOnSlots, VICREGL_DEFAULTS } from './vicregl';
export type { VicreglView, VicreglOptions } from './vicregl';
