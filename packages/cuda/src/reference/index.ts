/**
 * `@ner-launch/cuda/reference`: float64 host implementations of the CUDA kernels, the
 * yardstick the kernel and model checks compare the GPU against.
 */
export { activate, activateGrad, biasGrad, erf } from './activation.js';
export { adamwReference, globalNorm } from './adamw.js';
export {
  attentionBackward,
  attentionForward,
  maskedSoftmax,
  softmaxBackward,
  type AttentionShape,
} from './attention.js';
export { crossEntropy } from './cross-entropy.js';
export { layerNormBackward, layerNormForward } from './layer-norm.js';
export { dropoutKeep, philox4x32 } from './philox.js';
