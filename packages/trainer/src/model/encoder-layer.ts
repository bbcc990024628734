/**
 * BertLayer (`bert.encoder.layer.N.*`): attention, then the feed-forward block —
 * `intermediate.dense` + activation, `output.dense`, dropout, residual LayerNorm.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { add } from '@tensorflow/tfjs-core';
import { activation } from './activation.js';
import type { BertConfig } from './config.js';
import { dropout, type DropoutContext } from './dropout.js';
import { layerNorm } from './layer-norm.js';
import { linear } from './linear.js';
import type { ParameterStore } from './parameter-store.js';
import { attention } from './self-attention.js';

/** One encoder layer's output [B, T, H]. */
export function encoderLayer(
  params: ParameterStore,
  index: number,
  config: BertConfig,
  hidden: tf.Tensor,
  mask: tf.Tensor,
  context: DropoutContext,
): tf.Tensor {
  const prefix = `bert.encoder.layer.${index}`;
  const p = (name: string) => params.get(`${prefix}.${name}`);
  const attended = attention(params, `${prefix}.attention`, config, hidden, mask, context);
  const intermediate = activation(
    linear(attended, p('intermediate.dense.weight'), p('intermediate.dense.bias')),
    config.hiddenAct,
  );
  const output = dropout(
    linear(intermediate, p('output.dense.weight'), p('output.dense.bias')),
    config.hiddenDropoutProb,
    context,
  );
  return layerNorm(
    add(output, attended),
    p('output.LayerNorm.weight'),
    p('output.LayerNorm.bias'),
    config.layerNormEps,
  );
}
