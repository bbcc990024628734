/** The BERT dimensions the engine is built for, and its parameters' HF names and shapes. */

/** HF ACT2FN names the engine implements (activation.cu's ACT codes, in this order). */
export const HIDDEN_ACTS = ['gelu', 'gelu_new', 'relu'] as const;
/** An intermediate activation. */
export type HiddenAct = (typeof HIDDEN_ACTS)[number];

/** BertConfig's fields that decide shapes and maths (HF names in camelCase). */
export interface CudaBertDims {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  numLabels: number;
  layerNormEps: number;
  hiddenAct: HiddenAct;
  hiddenDropout: number;
  attentionDropout: number;
  /** HF's classifier_dropout; null means hidden_dropout_prob, as HF. */
  classifierDropout: number | null;
}

/** Throws a one-line error for dimensions the kernels cannot run. */
export function checkDims(dims: CudaBertDims): void {
  if (!HIDDEN_ACTS.includes(dims.hiddenAct))
    throw new Error(
      `hidden_act "${dims.hiddenAct}" is not supported by the cuda backend (${HIDDEN_ACTS.join(', ')})`,
    );
  if (dims.hiddenSize % dims.numHeads !== 0)
    throw new Error(
      `hidden_size ${dims.hiddenSize} is not a multiple of num_attention_heads ${dims.numHeads}`,
    );
  for (const [name, value] of [
    ['hidden_size', dims.hiddenSize],
    ['intermediate_size', dims.intermediateSize],
  ] as const)
    if (value % 8 !== 0)
      throw new Error(`${name} ${value} must be a multiple of 8 for the cuda backend`);
}

/** Every parameter of BertForTokenClassification (no pooler: the forward does not use it). */
export function parameterShapes(dims: CudaBertDims): Map<string, number[]> {
  const { vocabSize: v, hiddenSize: h, intermediateSize: i } = dims;
  const shapes = new Map<string, number[]>([
    ['bert.embeddings.word_embeddings.weight', [v, h]],
    ['bert.embeddings.position_embeddings.weight', [dims.maxPositions, h]],
    ['bert.embeddings.token_type_embeddings.weight', [dims.typeVocabSize, h]],
    ['bert.embeddings.LayerNorm.weight', [h]],
    ['bert.embeddings.LayerNorm.bias', [h]],
  ]);
  for (let layer = 0; layer < dims.numLayers; layer++) {
    const p = `bert.encoder.layer.${layer}`;
    for (const proj of ['query', 'key', 'value']) {
      shapes.set(`${p}.attention.self.${proj}.weight`, [h, h]);
      shapes.set(`${p}.attention.self.${proj}.bias`, [h]);
    }
    shapes.set(`${p}.attention.output.dense.weight`, [h, h]);
    shapes.set(`${p}.attention.output.dense.bias`, [h]);
    shapes.set(`${p}.attention.output.LayerNorm.weight`, [h]);
    shapes.set(`${p}.attention.output.LayerNorm.bias`, [h]);
    shapes.set(`${p}.intermediate.dense.weight`, [i, h]);
    shapes.set(`${p}.intermediate.dense.bias`, [i]);
    shapes.set(`${p}.output.dense.weight`, [h, i]);
    shapes.set(`${p}.output.dense.bias`, [h]);
    shapes.set(`${p}.output.LayerNorm.weight`, [h]);
    shapes.set(`${p}.output.LayerNorm.bias`, [h]);
  }
  shapes.set('classifier.weight', [dims.numLabels, h]);
  shapes.set('classifier.bias', [dims.numLabels]);
  return shapes;
}
