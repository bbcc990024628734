/**
 * BertModel without the pooler (BertForTokenClassification does not use it): embeddings, then
 * the encoder's layers; optionally every hidden state, as HF's `output_hidden_states`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertConfig } from './config.js';
import type { DropoutContext } from './dropout.js';
import { embeddings } from './embeddings.js';
import { encoderLayer } from './encoder-layer.js';
import type { ParameterStore } from './parameter-store.js';
import { additiveAttentionMask } from './self-attention.js';

/** Encoder outputs: the last layer and, when asked, embeddings + every layer (N + 1). */
export interface BertOutputs {
  lastHiddenState: tf.Tensor;
  hiddenStates?: tf.Tensor[];
}

/**
 * Runs embeddings and encoder on gathered word rows [B, T, H]. `freeLayerIntermediates` (for
 * passes that record no gradients) frees each layer's intermediates as soon as the layer is
 * done; otherwise an enclosing tf.tidy holds every layer's until it ends.
 */
export function bertModel(
  params: ParameterStore,
  config: BertConfig,
  wordRows: tf.Tensor,
  attentionMask: tf.Tensor,
  tokenTypeIds: tf.Tensor,
  context: DropoutContext,
  outputHiddenStates = false,
  freeLayerIntermediates = false,
): BertOutputs {
  const mask = additiveAttentionMask(attentionMask);
  let hidden = embeddings(params, config, wordRows, tokenTypeIds, context);
  const hiddenStates = outputHiddenStates ? [hidden] : undefined;
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const input = hidden;
    hidden = freeLayerIntermediates
      ? tf.tidy(() => encoderLayer(params, layer, config, input, mask, context))
      : encoderLayer(params, layer, config, input, mask, context);
    hiddenStates?.push(hidden);
  }
  return { lastHiddenState: hidden, hiddenStates };
}
