/**
 * Per-encoder-layer activation recomputation (issue 7): the forward pass keeps only each
 * layer's input [B, T, H]; the backward pass walks the layers from the top, re-running one
 * layer at a time under tfjs autodiff and handing its parameter gradients to the host at
 * once. The heap then holds the parameters, the layer inputs and one layer's forward and
 * backward tensors, instead of every layer's (tfjs keeps all saved tensors and every
 * intermediate gradient of one `tf.grads` call until it returns).
 *
 * Same maths as `BertForTokenClassification.computeGradients` (identical results with dropout
 * off); with dropout on, each segment draws its masks from its own seed so the recomputation
 * reproduces them exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertConfig } from '../model/config.js';
import { dropout, type DropoutContext } from '../model/dropout.js';
import { embeddings, gatherWordEmbeddings, WORD_EMBEDDINGS } from '../model/embeddings.js';
import { encoderLayer } from '../model/encoder-layer.js';
import { linear } from '../model/linear.js';
import { tokenClassificationLoss } from '../model/loss.js';
import type { ParameterStore } from '../model/parameter-store.js';
import { SeededRandom } from '@ner-launch/common';
import { additiveAttentionMask } from '../model/self-attention.js';
import { HostGradientSink, type GradientSink } from '../model/gradient-sink.js';
import type {
  BertForTokenClassification,
  GradientOptions,
  GradientResult,
  LabelledBatch,
  StepOutput,
} from '../model/token-classification.js';

/** `GradientOptions` plus the generator the dropout seeds come from. */
export interface RecomputeOptions extends GradientOptions {
  /**
   * Draws one seed per segment (embeddings, each layer, head). Pass one generator per run (e.g.
   * seeded from the run seed and the rank); the default is a process-wide one seeded 0, which
   * still advances from call to call so masks differ between steps.
   */
  rng?: SeededRandom;
}

const processRng = new SeededRandom(0);

/** Runs `f` under autodiff for `xs` with upstream `dy`; hands named grads to the sink. */
function segmentBackward(
  f: () => tf.Tensor,
  inputs: tf.Tensor[],
  names: string[],
  params: ParameterStore,
  dy: tf.Tensor | undefined,
  sink: GradientSink,
): { inputGrads: tf.Tensor[]; value?: number } {
  const xs = [...inputs, ...names.map((name) => params.get(name))];
  if (xs.length === 0) return { inputGrads: [] };
  const { value, grads } = tf.valueAndGrads(f)(xs, dy);
  const scalar = dy === undefined ? value.dataSync()[0] : undefined;
  value.dispose();
  names.forEach((name, i) => sink.add(name, grads[inputs.length + i]!));
  return { inputGrads: grads.slice(0, inputs.length), value: scalar };
}

/**
 * Forward + backward of one batch with per-layer recomputation: the loss and host gradients
 * of `model.trainableNames()`, as `model.computeGradients` returns them.
 */
export function computeGradientsWithRecompute(
  model: BertForTokenClassification,
  batch: LabelledBatch,
  options: RecomputeOptions = {},
): GradientResult {
  const sink = new HostGradientSink(options.into);
  const { loss, predictions } = accumulateGradientsWithRecompute(model, batch, sink, options);
  return predictions
    ? { loss, gradients: sink.gradients, predictions }
    : { loss, gradients: sink.gradients };
}

/** `computeGradientsWithRecompute` with the gradients handed to `sink`. */
export function accumulateGradientsWithRecompute(
  model: BertForTokenClassification,
  batch: LabelledBatch,
  sink: GradientSink,
  options: Omit<RecomputeOptions, 'into'> = {},
): StepOutput {
  const config: BertConfig = model.config;
  const params = model.parameters;
  const trainable = new Set(model.trainableNames());
  const training = options.training ?? true;
  const rng = options.rng ?? processRng;
  const layers = config.numHiddenLayers;
  const embeddingSeed = rng.int();
  const layerSeeds = Array.from({ length: layers }, () => rng.int());
  const headSeed = rng.int();
  const context = (seed: number): DropoutContext => ({ training, rng: new SeededRandom(seed) });
  const named = (prefix: string) =>
    params.names().filter((name) => name.startsWith(prefix) && trainable.has(name));

  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  try {
    const types = keep(
      batch.tokenTypeIds ? tf.clone(batch.tokenTypeIds) : tf.zerosLike(batch.inputIds),
    );
    const mask = keep(tf.tidy(() => additiveAttentionMask(batch.attentionMask)));
    const wordTrainable = trainable.has(WORD_EMBEDDINGS);
    const viaRows = wordTrainable && sink.wordEmbeddingGradient === 'rows';
    const rows = keep(tf.tidy(() => gatherWordEmbeddings(params, batch.inputIds)));
    // Forward without a tape: only the layer inputs stay in the heap.
    const hidden: tf.Tensor[] = [
      tf.tidy(() => embeddings(params, config, rows, types, context(embeddingSeed))),
    ];
    owned.push(hidden[0]!);
    for (let layer = 0; layer < layers; layer++) {
      const next = tf.tidy(() =>
        encoderLayer(params, layer, config, hidden[layer]!, mask, context(layerSeeds[layer]!)),
      );
      hidden.push(keep(next));
    }

    // Head and loss.
    const rate = config.classifierDropout ?? config.hiddenDropoutProb;
    const last = hidden[layers]!;
    const lossScale = options.lossScale ?? 1;
    const captured: { predictions?: tf.Tensor } = {};
    const head = segmentBackward(
      () => {
        const logits = linear(
          dropout(last, rate, context(headSeed)),
          params.get('classifier.weight'),
          params.get('classifier.bias'),
        );
        // Kept past the tape's scope: train metrics come from this forward (dropout on).
        if (options.withPredictions) captured.predictions = keep(tf.keep(tf.argMax(logits, -1)));
        const loss = tokenClassificationLoss(logits, batch.labels, options.lossNormalizer);
        return lossScale === 1 ? loss : tf.mul(loss, tf.scalar(lossScale));
      },
      [last],
      named('classifier.'),
      params,
      undefined,
      sink,
    );
    let dy = head.inputGrads[0]!;

    // Encoder layers from the top, one recomputed at a time.
    for (let layer = layers - 1; layer >= 0; layer--) {
      const input = hidden[layer]!;
      const seed = layerSeeds[layer]!;
      const { inputGrads } = segmentBackward(
        () => encoderLayer(params, layer, config, input, mask, context(seed)),
        [input],
        named(`bert.encoder.layer.${layer}.`),
        params,
        dy,
        sink,
      );
      dy.dispose();
      dy = inputGrads[0]!;
      hidden[layer + 1]!.dispose();
    }

    // Embeddings: dense parameters, and the word rows (scattered by the sink) or the table.
    const embeddingParams = named('bert.embeddings.').filter(
      (name) => name !== WORD_EMBEDDINGS || !viaRows,
    );
    const { inputGrads } = segmentBackward(
      () =>
        embeddings(
          params,
          config,
          // Gathered inside the tape when the table itself is differentiated.
          viaRows ? rows : gatherWordEmbeddings(params, batch.inputIds),
          types,
          context(embeddingSeed),
        ),
      viaRows ? [rows] : [],
      embeddingParams,
      params,
      dy,
      sink,
    );
    dy.dispose();
    if (viaRows)
      sink.addRows(WORD_EMBEDDINGS, batch.inputIds, inputGrads[0]!, params.shape(WORD_EMBEDDINGS));
    const loss = head.value! / lossScale;
    const predictions = captured.predictions;
    if (!predictions) return { loss };
    return { loss, predictions: new Int32Array(predictions.dataSync()) };
  } finally {
    for (const t of owned) if (!t.isDisposed) t.dispose();
  }
}
