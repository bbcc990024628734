/**
 * BertEmbeddings: word + token type + absolute position embeddings, LayerNorm, dropout
 * (`bert.embeddings.*`). The word rows are gathered separately so training can differentiate
 * with respect to the gathered rows and scatter them on the host: tfjs's gather gradient needs
 * UnsortedSegmentSum, which the wasm backend lacks, and a dense [vocab, hidden] gradient in the
 * heap would cost as much as the table itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertConfig } from './config.js';
import { dropout, type DropoutContext } from './dropout.js';
import { layerNorm } from './layer-norm.js';
import { matMul } from './matmul.js';
import type { ParameterStore } from './parameter-store.js';

export const WORD_EMBEDDINGS = 'bert.embeddings.word_embeddings.weight';
const PREFIX = 'bert.embeddings';

/** Rows of the word embedding table for `inputIds` [B, T] → [B, T, H]. */
export function gatherWordEmbeddings(params: ParameterStore, inputIds: tf.Tensor): tf.Tensor {
  return tf.gather(params.get(WORD_EMBEDDINGS), inputIds);
}

/** The embedding output [B, T, H] from gathered word rows and token type ids [B, T]. */
export function embeddings(
  params: ParameterStore,
  config: BertConfig,
  wordRows: tf.Tensor,
  tokenTypeIds: tf.Tensor,
  context: DropoutContext,
): tf.Tensor {
  const [batch, length, hidden] = wordRows.shape as [number, number, number];
  if (length > config.maxPositionEmbeddings)
    throw new Error(
      `sequence length ${length} exceeds max_position_embeddings ${config.maxPositionEmbeddings}`,
    );
  // One-hot matmul instead of gather: exact (1·x + 0·y) and differentiable on every backend.
  const typeOneHot = tf.oneHot(tf.reshape(tokenTypeIds, [-1]), config.typeVocabSize);
  const typeRows = tf.reshape(
    matMul(typeOneHot, params.get(`${PREFIX}.token_type_embeddings.weight`)),
    [batch, length, hidden],
  );
  const positions = tf.slice(
    params.get(`${PREFIX}.position_embeddings.weight`),
    [0, 0],
    [length, hidden],
  );
  const summed = tf.add(tf.add(wordRows, typeRows), positions);
  const normed = layerNorm(
    summed,
    params.get(`${PREFIX}.LayerNorm.weight`),
    params.get(`${PREFIX}.LayerNorm.bias`),
    config.layerNormEps,
  );
  return dropout(normed, config.hiddenDropoutProb, context);
}
