/**
 * Fresh values for parameters a checkpoint lacks, following HF BertPreTrainedModel._init_weights:
 * Linear and Embedding weights ~ normal(0, initializer_range) (the padding row zeroed), biases 0,
 * LayerNorm weight 1 and bias 0. Seeded on the host, so identical on every backend.
 */
import type { BertConfig } from './config.js';
import type { SeededRandom } from '@ner-launch/common';
import type { HostTensor } from './weights/state-dict.js';

/** Initial value of parameter `name` with `shape`. */
export function initialParameter(
  name: string,
  shape: number[],
  config: BertConfig,
  rng: SeededRandom,
): HostTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (/LayerNorm\.weight$/.test(name)) return { shape, data: new Float32Array(size).fill(1) };
  if (/\.bias$/.test(name)) return { shape, data: new Float32Array(size) };
  const data = rng.normalArray(size, config.initializerRange);
  if (name === 'bert.embeddings.word_embeddings.weight' && config.padTokenId < shape[0]!) {
    const width = shape[1]!;
    data.fill(0, config.padTokenId * width, (config.padTokenId + 1) * width);
  }
  return { shape, data };
}
