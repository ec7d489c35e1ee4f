/**
 * graph/ — symbolic tensors, an op registry, reverse-mode autodiff and ONNX serialisation.
 *
 * Build:
 *   const g = new Graph('resnet18-cifar');
 *   const x = g.input('images', ['N', 3, 32, 32]);           // one symbolic dim allowed ('N')
 *   const w = g.input('conv1.weight', [64, 3, 3, 3]);         // parameters are graph inputs
 *   const c = g.constant(new Float32Array([...]), [64]);      // serialised as an initializer
 *   const y = g.scope('conv1', () => conv2d(x, w, undefined, { stride: 1, pad: 1 }));
 *   g.output('features', y);
 *   const bytes = toOnnx(g);                                  // Uint8Array, deterministic
 *
 * Tensor: { graph, id, shape: Dim[] (number | symbolic name), dtype, name }. Shapes and dtypes are
 * checked when an op is applied; a GraphError (a UserError) names the scope path, the op and the
 * input shapes: "resnet18-cifar/layer2.0.conv1: conv2d: input [..] vs weight [..]: ...".
 * Number operands of elementwise ops become scalars of the tensor operand's dtype: mul(x, 2).
 *
 * Autodiff: grad(loss, wrt, { seed?, unreached: 'zeros' | 'null' }) returns d sum(loss * seed)/d wrt
 * as new tensors of the same graph (gradient nodes live under '<scope>/grad'). Tensors used several
 * times get summed gradients; integer tensors get none; stopGradient(x) cuts the path; an op without
 * a gradient rule on the path throws a GraphError naming it. Unreached `wrt` get zeros by default.
 *
 * Ops: one `defineOp({ name, inferShape, emit, grad })` each, in ops/*.ts; gradient rules use the
 * same public functions. New ops (e.g. in-graph augmentation): defineOp + a small exported function
 * calling applyOp; inferShape reports problems with fail('...').
 *   elementwise  add sub mul div pow maximum minimum neg exp log sqrt reciprocal abs sign relu
 *                sigmoid tanh erf gelu clip where cast stopGradient; no gradient: equal less greater
 *                lessOrEqual greaterOrEqual logicalAnd logicalNot
 *   reduce       reduceSum reduceMean reduceMax reduceMin (axes?, keepdims) argmax sumToShape
 *   shape        reshape flatten unsqueeze squeeze transpose expand expandAs fill zerosLike concat
 *                split slice pad gather gatherElements scatterElementsAdd scatterNDAdd
 *   matmul       matmul gemm linear matrixTranspose
 *   nn           softmax logSoftmax logSumExp crossEntropy oneHot l2Normalize conv2d maxPool2d
 *                globalAvgPool batchNormTrain batchNormEval layerNorm topK multiHeadSelfAttention
 * Conv: forward = ONNX Conv (NCHWc on the CPU, see conv.ts). Input grad = a conv with the flipped,
 * in/out-transposed weight (stride 1) or ConvTranspose (stride > 1; zero-insertion measured 3-5x
 * slower); weight grad = im2col + one MatMul/Gemm (setConvWeightGradLayout; 'auto' by output size),
 * never the batch/channel-swapped Conv. Benchmarks: test/graph/conv-grad.perf.ts, resnet-step.perf.ts.
 * Batch norm in training mode never uses ONNX BatchNormalization(training_mode=1): ORT overwrites
 * its statistic inputs. batchNormTrain returns { y, mean, variance (biased) }; the running-statistic
 * update (momentum, unbiased variance M/(M−1)) belongs to the module that owns the buffers.
 *
 * ONNX: toOnnx(graph, { outputs?, opset = 20, irVersion = 10, keepUnusedInputs = true }) emits only
 * nodes some output depends on; node names are '<scope>/<op>_<counter>' (stable across builds).
 * Declared inputs all stay (feeds never change) unless keepUnusedInputs is false.
 */
export { Graph, Tensor, GraphError, isFloat, numel, formatShape } from './graph';
export type { DType, Dim, Shape, ConstantData, Node } from './graph';
export { defineOp, applyOp, getOp, registeredOps, fail, guard, asTensor } from './op';
export type { OpDef, EmitContext, GradContext, TensorType, AttrValue } from './op';
export { grad } from './autodiff';
export type { GradOptions } from './autodiff';
export { toOnnx, toModelProto, DEFAULT_OPSET, DEFAULT_IR_VERSION } from './onnx';
export type { OnnxOptions } from './onnx';
export * from './ops/elementwise';
export * from './ops/reduce';
export * from './ops/shape';
export * from './ops/matmul';
export * from './ops/softmax';
export * from './ops/loss';
export * from './ops/norm';
export * from './ops/conv';
export * from './ops/topk';
export * from './ops/attention';
