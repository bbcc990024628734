/**
 * BertAttention: multi-head self-attention with the additive padding mask
 * (`attention.self.{query,key,value}`) followed by BertSelfOutput (`attention.output.dense`,
 * dropout, residual LayerNorm), as HF's eager attention computes it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertConfig } from './config.js';
import { dropout, type DropoutContext } from './dropout.js';
import { layerNorm } from './layer-norm.js';
import { linear } from './linear.js';
import { matMul } from './matmul.js';
import type { ParameterStore } from './parameter-store.js';

/** The most negative float32, which HF adds at masked key positions. */
const MASKED = -3.4028234663852886e38;

/** attention_mask [B, T] (1 = token, 0 = padding) → additive mask [B, 1, 1, T]. */
export function additiveAttentionMask(attentionMask: tf.Tensor): tf.Tensor {
  const [batch, length] = attentionMask.shape as [number, number];
  const blocked = tf.sub(1, tf.cast(attentionMask, 'float32'));
  return tf.reshape(tf.mul(blocked, MASKED), [batch, 1, 1, length]);
}

function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const [batch, length, hidden] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [batch, length, heads, hidden / heads]), [0, 2, 1, 3]);
}

/** Self-attention plus its output projection and residual LayerNorm; `prefix` ends in `.attention`. */
export function attention(
  params: ParameterStore,
  prefix: string,
  config: BertConfig,
  hidden: tf.Tensor,
  mask: tf.Tensor,
  context: DropoutContext,
): tf.Tensor {
  const heads = config.numAttentionHeads;
  const p = (name: string) => params.get(`${prefix}.${name}`);
  const query = splitHeads(linear(hidden, p('self.query.weight'), p('self.query.bias')), heads);
  const key = splitHeads(linear(hidden, p('self.key.weight'), p('self.key.bias')), heads);
  const value = splitHeads(linear(hidden, p('self.value.weight'), p('self.value.bias')), heads);
  const scaling = 1 / Math.sqrt(config.hiddenSize / heads);
  const scores = tf.add(tf.mul(matMul(query, key, true), scaling), mask);
  const probs = dropout(tf.softmax(scores, -1), config.attentionProbsDropoutProb, context);
  const [batch, length, size] = hidden.shape as [number, number, number];
  const merged = tf.reshape(tf.transpose(matMul(probs, value), [0, 2, 1, 3]), [
    batch,
    length,
    size,
  ]);
  const projected = dropout(
    linear(merged, p('output.dense.weight'), p('output.dense.bias')),
    config.hiddenDropoutProb,
    context,
  );
  return layerNorm(
    tf.add(projected, hidden),
    p('output.LayerNorm.weight'),
    p('output.LayerNorm.bias'),
    config.layerNormEps,
  );
}
