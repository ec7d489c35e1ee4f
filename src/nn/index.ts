/**
 * nn/ — PyTorch-named modules on top of graph/ (see module.ts for the naming and context
 * contract, heads.ts for the head builder, backbones/index.ts for the backbone registry).
 */
export { Module, GraphForwardContext } from './module';
export type { ParamSpec, BufferSpec, InitSpec, ParamKind, ForwardContext, GraphForwardOptions } from './module';
export { initParameters, initTensor } from './init';
export { sinCos2dPositionEmbedding } from './position-embedding';
export { Conv2d, type ConvInit, type Conv2dOptions } from './conv';
export { Linear, type LinearInit } from './linear';
export { BatchNorm1d, BatchNorm2d, SplitBatchNorm, type BatchNormOptions } from './batchnorm';
export { LayerNorm } from './layernorm';
export { ReLU, GELU, activation, type Activation } from './activation';
export { MaxPool2d, GlobalAvgPool } from './pooling';
export { Sequential } from './sequential';
export * from './heads';
export { createBackbone, isBackboneId, BACKBONE_IDS, type BackboneId, type BackboneOptions, type Backbone } from './backbones';
export { ResNet18Cifar } from './backbones/resnet-cifar';
export { Pixels } from './backbones/pixels';
export { ResNet, BasicBlock, Bottleneck } from './backbones/resnet';
export { VisionTransformer, TransformerBlock, type VitConfig, type VitTokens, type VitTokenOptions } from './backbones/vit';
