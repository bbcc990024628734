/**
 * The parameters BertForTokenClassification has for a given config, with their shapes (HF
 * layout: Linear weights are [out, in]), used to check a checkpoint before building a model
 * and to list missing and unused keys the way HF reports them.
 */

/** The config dimensions that decide parameter shapes. */
export interface BertDimensions {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  numLabels: number;
}

/** Parameters that may be absent without being "missing" (the pooler is kept only if present). */
export const OPTIONAL_PARAMETERS: ReadonlySet<string> = new Set([
  'bert.pooler.dense.weight',
  'bert.pooler.dense.bias',
]);

/** Name → shape of every BertForTokenClassification parameter (plus the optional pooler). */
export function tokenClassificationShapes(dims: BertDimensions): Map<string, number[]> {
  const { vocabSize: v, hiddenSize: h, intermediateSize: i, numLabels } = dims;
  const shapes = new Map<string, number[]>([
    ['bert.embeddings.word_embeddings.weight', [v, h]],
    ['bert.embeddings.position_embeddings.weight', [dims.maxPositionEmbeddings, h]],
    ['bert.embeddings.token_type_embeddings.weight', [dims.typeVocabSize, h]],
    ['bert.embeddings.LayerNorm.weight', [h]],
    ['bert.embeddings.LayerNorm.bias', [h]],
  ]);
  for (let layer = 0; layer < dims.numHiddenLayers; layer++) {
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
  shapes.set('bert.pooler.dense.weight', [h, h]);
  shapes.set('bert.pooler.dense.bias', [h]);
  shapes.set('classifier.weight', [numLabels, h]);
  shapes.set('classifier.bias', [numLabels]);
  return shapes;
}

/** The classifier head's names, which a fine-tuning run may re-initialise on label mismatch. */
export const CLASSIFIER_PARAMETERS: readonly string[] = ['classifier.weight', 'classifier.bias'];
