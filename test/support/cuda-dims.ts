/** Model dimensions the tests share. */
import type { CudaBertDims } from '@ner-launch/cuda';

/** A two-layer model small enough for float64 references. */
export const TINY_DIMS: CudaBertDims = {
  vocabSize: 50,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 48,
  maxPositions: 24,
  typeVocabSize: 2,
  numLabels: 5,
  layerNormEps: 1e-12,
  hiddenAct: 'gelu',
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  classifierDropout: null,
};

/** bert-base with FinBERT's vocabulary and 13 labels (the benchmark model). */
export const BERT_BASE_DIMS: CudaBertDims = {
  ...TINY_DIMS,
  vocabSize: 50105,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  maxPositions: 512,
  numLabels: 13,
};
