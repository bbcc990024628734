/**
 * BertForTokenClassification on TensorFlow.js with HF Transformers' parameter names and maths:
 * BertModel (no pooler in the forward pass), dropout, `classifier` linear head. Parameters live
 * in the tfjs heap; gradients come back as host Float32Arrays by HF name (what the all-reduce
 * and the optimizer work on), and updates are written through `parameters.update`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { log, SeededRandom, type SeededRandomState, OperationalError } from '@ner-launch/common';
import { bertModel } from './bert-model.js';
import type { BertConfig } from './config.js';
import type { DropoutContext } from './dropout.js';
import { dropout } from './dropout.js';
import { gatherWordEmbeddings, WORD_EMBEDDINGS } from './embeddings.js';
import { initialParameter } from './init-weights.js';
import { linear } from './linear.js';
import { IGNORE_INDEX, tokenClassificationLoss } from './loss.js';
import { HostGradientSink, type GradientSink, type Gradients } from './gradient-sink.js';
import { ParameterStore } from './parameter-store.js';
import { OPTIONAL_PARAMETERS, tokenClassificationShapes } from './weights/expected-parameters.js';
import type { StateDict } from './weights/state-dict.js';

/** Options for building a model from a state dict. */
export interface FromStateDictOptions {
  /** Seeds the fresh classifier (and other missing parameters) and the dropout masks. */
  seed?: number;
  /** Where the tensors came from, for the warning text. */
  source?: string;
}

/** Forward options (HF's `model.train()/eval()` and `output_hidden_states`). */
export interface ForwardOptions {
  /** Dropout on (default false: eval mode). */
  training?: boolean;
  /** Also return embeddings + every encoder layer's output. */
  outputHiddenStates?: boolean;
}

/** Forward results; the caller disposes the tensors. */
export interface TokenClassifierOutput {
  /** [B, T, numLabels] */
  logits: tf.Tensor;
  /** numHiddenLayers + 1 tensors [B, T, H] when asked for. */
  hiddenStates?: tf.Tensor[];
}

/** One batch with labels (-100 = ignored position). All [B, T] int32 tensors, owned by the caller. */
export interface LabelledBatch {
  inputIds: tf.Tensor;
  attentionMask: tf.Tensor;
  tokenTypeIds?: tf.Tensor;
  labels: tf.Tensor;
}

export type { Gradients };

/** Options for `computeGradients`. */
export interface GradientOptions {
  /** Dropout on (default true). */
  training?: boolean;
  /** Divide the summed token loss by this instead of the batch's labelled-token count. */
  lossNormalizer?: number;
  /** Add into these buffers (gradient accumulation) instead of returning fresh arrays. */
  into?: Gradients;
  /** Also return the argmax of this (training) forward's logits, e.g. for train metrics. */
  withPredictions?: boolean;
  /**
   * Multiply the loss by this before backprop (fp16 dynamic loss scaling); the gradients come
   * back scaled, the returned loss does not. Default 1.
   */
  lossScale?: number;
}

/** The loss value and the gradients of every trainable parameter. */
export interface GradientResult {
  loss: number;
  gradients: Gradients;
  /** Argmax label ids [B*T] of the forward's logits, row-major, when `withPredictions`. */
  predictions?: Int32Array;
}

/** What one forward + backward reports besides its gradients. */
export interface StepOutput {
  loss: number;
  /** Argmax label ids [B*T] of the forward's logits, row-major, when asked for. */
  predictions?: Int32Array;
}

/** What loading reported, as HF's missing/unexpected keys. */
export interface LoadReport {
  /** Model parameters absent from the state dict, freshly initialised. */
  missingKeys: string[];
  /** State-dict keys the model does not have (ignored). */
  unexpectedKeys: string[];
}

/** Rejects ids outside the embedding tables (tfjs would silently read zeros or garbage). */
function checkInputs(
  config: BertConfig,
  inputIds: tf.Tensor,
  attentionMask: tf.Tensor,
  tokenTypeIds: tf.Tensor | undefined,
  labels?: tf.Tensor,
): void {
  if (inputIds.rank !== 2)
    throw new Error(`input_ids must be [batch, length], got [${inputIds.shape.join(', ')}]`);
  for (const [name, tensor] of [
    ['attention_mask', attentionMask],
    ['token_type_ids', tokenTypeIds],
    ['labels', labels],
  ] as const)
    if (tensor && !sameShape(tensor.shape, inputIds.shape))
      throw new Error(
        `${name} has shape [${tensor.shape.join(', ')}] but input_ids has [${inputIds.shape.join(', ')}]`,
      );
  const checkRange = (name: string, tensor: tf.Tensor, limit: number, field: string) => {
    const values = tensor.dataSync();
    for (let i = 0; i < values.length; i++)
      if (!(values[i]! >= 0 && values[i]! < limit))
        throw new Error(
          `${name}[${Math.floor(i / inputIds.shape[1]!)}][${i % inputIds.shape[1]!}] = ${values[i]} is outside 0..${limit - 1} (${field} ${limit})`,
        );
  };
  checkRange('input_ids', inputIds, config.vocabSize, 'vocab_size');
  if (tokenTypeIds)
    checkRange('token_type_ids', tokenTypeIds, config.typeVocabSize, 'type_vocab_size');
  if (labels) {
    const values = labels.dataSync();
    const numLabels = config.id2label.length;
    for (let i = 0; i < values.length; i++)
      if (values[i] !== IGNORE_INDEX && !(values[i]! >= 0 && values[i]! < numLabels))
        throw new Error(
          `labels[${Math.floor(i / inputIds.shape[1]!)}][${i % inputIds.shape[1]!}] = ${values[i]} is neither -100 nor a label id in 0..${numLabels - 1}`,
        );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** BERT with a token classification head. */
export class BertForTokenClassification {
  private readonly frozen = new Set<string>();
  private dropoutRng: SeededRandom;

  private constructor(
    readonly config: BertConfig,
    /** The parameters by HF name (the pooler too, when the checkpoint had it). */
    readonly parameters: ParameterStore,
    /** Missing and unexpected keys found when the model was built. */
    readonly loadReport: LoadReport,
    seed: number,
  ) {
    this.dropoutRng = new SeededRandom(seed ^ 0x5bd1e995);
  }

  /**
   * Builds the model from HF-named tensors. Missing parameters (typically the classifier of a
   * pretraining checkpoint) are initialised as HF does, seeded; unexpected keys are ignored;
   * both are logged as a warning and kept in `loadReport`. A shape mismatch is an error.
   */
  static fromStateDict(
    config: BertConfig,
    stateDict: StateDict,
    options: FromStateDictOptions = {},
  ): BertForTokenClassification {
    const seed = options.seed ?? 42;
    const source = options.source ?? 'the state dict';
    const shapes = tokenClassificationShapes({
      vocabSize: config.vocabSize,
      hiddenSize: config.hiddenSize,
      numHiddenLayers: config.numHiddenLayers,
      intermediateSize: config.intermediateSize,
      maxPositionEmbeddings: config.maxPositionEmbeddings,
      typeVocabSize: config.typeVocabSize,
      numLabels: config.id2label.length,
    });
    const rng = new SeededRandom(seed);
    const missingKeys: string[] = [];
    const params = new ParameterStore();
    try {
      for (const [name, shape] of shapes) {
        const tensor = stateDict.get(name);
        if (tensor) {
          if (!sameShape(tensor.shape, shape))
            throw new OperationalError(
              `${source}: size mismatch for ${name}: the checkpoint has shape [${tensor.shape.join(', ')}], the model (from its config) needs [${shape.join(', ')}]`,
            );
          params.set(name, tensor);
        } else if (!OPTIONAL_PARAMETERS.has(name)) {
          missingKeys.push(name);
          params.set(name, initialParameter(name, shape, config, rng));
        }
      }
    } catch (error) {
      params.dispose();
      throw error;
    }
    const unexpectedKeys = [...stateDict.keys()].filter((name) => !shapes.has(name));
    if (missingKeys.length > 0)
      log.warn(
        { missingKeys },
        `Some weights of BertForTokenClassification were not initialized from ${source} and are newly initialized (seed ${seed})`,
      );
    if (unexpectedKeys.length > 0)
      log.warn(
        { unexpectedKeys },
        `Some weights of ${source} were not used when initializing BertForTokenClassification`,
      );
    return new BertForTokenClassification(config, params, { missingKeys, unexpectedKeys }, seed);
  }

  /** Host copies of all parameters under HF names (pooler included when present). */
  toStateDict(): StateDict {
    return this.parameters.toStateDict();
  }

  /** Reseeds the dropout masks (e.g. per epoch or per worker). */
  setDropoutSeed(seed: number): void {
    this.dropoutRng = new SeededRandom(seed ^ 0x5bd1e995);
  }

  /**
   * The generator dropout masks come from, for code that runs the layers itself (per-layer
   * recomputation) and must advance the same checkpointed stream.
   */
  dropoutGenerator(): SeededRandom {
    return this.dropoutRng;
  }

  /** The dropout generator's position (saved in training checkpoints). */
  dropoutState(): SeededRandomState {
    return this.dropoutRng.getState();
  }

  /** Continues the dropout stream from a `dropoutState()` (resume). */
  setDropoutState(state: SeededRandomState): void {
    this.dropoutRng.setState(state);
  }

  /** Freezes (no gradient, no update) exactly the given parameters. */
  setFrozen(names: Iterable<string>): void {
    this.frozen.clear();
    for (const name of names) {
      if (!this.parameters.has(name)) throw new Error(`cannot freeze unknown parameter ${name}`);
      this.frozen.add(name);
    }
  }

  /** Parameters that receive gradients: all but frozen ones and the unused pooler. */
  trainableNames(): string[] {
    return this.parameters
      .names()
      .filter((name) => !this.frozen.has(name) && !OPTIONAL_PARAMETERS.has(name));
  }

  private context(training: boolean): DropoutContext {
    return { training, rng: this.dropoutRng };
  }

  private head(
    wordRows: tf.Tensor,
    attentionMask: tf.Tensor,
    tokenTypeIds: tf.Tensor,
    context: DropoutContext,
    outputHiddenStates: boolean,
    freeLayerIntermediates = false,
  ): TokenClassifierOutput {
    const { lastHiddenState, hiddenStates } = bertModel(
      this.parameters,
      this.config,
      wordRows,
      attentionMask,
      tokenTypeIds,
      context,
      outputHiddenStates,
      freeLayerIntermediates,
    );
    const rate = this.config.classifierDropout ?? this.config.hiddenDropoutProb;
    const logits = linear(
      dropout(lastHiddenState, rate, context),
      this.parameters.get('classifier.weight'),
      this.parameters.get('classifier.bias'),
    );
    return { logits, hiddenStates };
  }

  /** Logits [B, T, L] (and hidden states) for int32 [B, T] inputs. */
  forward(
    inputIds: tf.Tensor,
    attentionMask: tf.Tensor,
    tokenTypeIds?: tf.Tensor,
    options: ForwardOptions = {},
  ): TokenClassifierOutput {
    checkInputs(this.config, inputIds, attentionMask, tokenTypeIds);
    return tf.tidy(() => {
      const types = tokenTypeIds ?? tf.zerosLike(inputIds);
      const rows = gatherWordEmbeddings(this.parameters, inputIds);
      const out = this.head(
        rows,
        attentionMask,
        types,
        this.context(options.training ?? false),
        options.outputHiddenStates ?? false,
        // No gradient is taken of a forward pass: each layer's intermediates can go at once.
        true,
      );
      return out.hiddenStates
        ? { logits: out.logits, hiddenStates: out.hiddenStates }
        : { logits: out.logits };
    });
  }

  /** Mean cross-entropy over labels != -100. */
  loss(logits: tf.Tensor, labels: tf.Tensor, normalizer?: number): tf.Scalar {
    return tokenClassificationLoss(logits, labels, normalizer);
  }

  /**
   * Forward + backward on one batch: the loss and host gradients of `trainableNames()`. The
   * word-embedding gradient is scattered on the host from the gathered rows' gradient.
   */
  computeGradients(batch: LabelledBatch, options: GradientOptions = {}): GradientResult {
    const sink = new HostGradientSink(options.into);
    const { loss, predictions } = this.accumulateGradients(batch, sink, options);
    return predictions
      ? { loss, gradients: sink.gradients, predictions }
      : { loss, gradients: sink.gradients };
  }

  /**
   * Forward + backward on one batch, the gradients of `trainableNames()` handed to `sink`
   * (which decides whether the word embeddings are differentiated through their gathered rows
   * or the table itself). Returns the loss (and the forward's argmax when asked for).
   */
  accumulateGradients(
    batch: LabelledBatch,
    sink: GradientSink,
    options: Omit<GradientOptions, 'into'> = {},
  ): StepOutput {
    const trainable = this.trainableNames();
    const wordTrainable = trainable.includes(WORD_EMBEDDINGS);
    const viaRows = wordTrainable && sink.wordEmbeddingGradient === 'rows';
    const dense = viaRows ? trainable.filter((name) => name !== WORD_EMBEDDINGS) : trainable;
    checkInputs(this.config, batch.inputIds, batch.attentionMask, batch.tokenTypeIds, batch.labels);
    const context = this.context(options.training ?? true);
    const lossScale = options.lossScale ?? 1;
    const captured: { predictions?: tf.Tensor } = {};
    const { value, grads } = tf.tidy(() => {
      const types = batch.tokenTypeIds ?? tf.zerosLike(batch.inputIds);
      const xs = dense.map((name) => this.parameters.get(name));
      const rows = viaRows ? gatherWordEmbeddings(this.parameters, batch.inputIds) : undefined;
      if (rows) xs.push(rows);
      const lossOf = () => {
        // Gathered inside the tape when the table itself is differentiated.
        const wordRows = rows ?? gatherWordEmbeddings(this.parameters, batch.inputIds);
        const { logits } = this.head(wordRows, batch.attentionMask, types, context, false);
        // Kept past the tidy: the caller's metrics come from this very forward (dropout on).
        if (options.withPredictions) captured.predictions = tf.keep(tf.argMax(logits, -1));
        const loss = tokenClassificationLoss(logits, batch.labels, options.lossNormalizer);
        return lossScale === 1 ? loss : tf.mul(loss, tf.scalar(lossScale));
      };
      return tf.valueAndGrads(lossOf)(xs);
    });
    let handed = 0;
    try {
      dense.forEach((name, i) => {
        handed++;
        sink.add(name, grads[i]!);
      });
      if (viaRows) {
        handed++;
        sink.addRows(
          WORD_EMBEDDINGS,
          batch.inputIds,
          grads[dense.length]!,
          this.parameters.shape(WORD_EMBEDDINGS),
        );
      }
      const loss = value.dataSync()[0]! / lossScale;
      const { predictions } = captured;
      if (!predictions) return { loss };
      return { loss, predictions: new Int32Array(predictions.dataSync()) };
    } finally {
      value.dispose();
      captured.predictions?.dispose();
      for (const grad of grads.slice(handed)) grad.dispose();
    }
  }

  /** Frees the parameter tensors. */
  dispose(): void {
    this.parameters.dispose();
  }
}
