/** Token classification loss: cross-entropy over positions whose label is not -100 (torch's ignore_index). */
import * as tf from '@tensorflow/tfjs-core';

/** torch.nn.CrossEntropyLoss's default ignore_index. */
export const IGNORE_INDEX = -100;

/**
 * Sum of -log p(label) over labelled positions divided by `normalizer` (default: their count,
 * i.e. the mean, as HF). A caller splitting a batch into micro-batches passes the whole batch's
 * labelled count so the accumulated gradients equal the full batch's.
 */
export function tokenClassificationLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  normalizer?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const numLabels = logits.shape[logits.shape.length - 1]!;
    const flatLogits = tf.reshape(logits, [-1, numLabels]);
    const flatLabels = tf.cast(tf.reshape(labels, [-1]), 'int32');
    const valid = tf.notEqual(flatLabels, IGNORE_INDEX);
    const safeLabels = tf.where(valid, flatLabels, tf.zerosLike(flatLabels));
    const logProbs = tf.logSoftmax(flatLogits, -1);
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(safeLabels, numLabels)), -1);
    const validFloat = tf.cast(valid, 'float32');
    const total = tf.neg(tf.sum(tf.mul(picked, validFloat)));
    const denominator = normalizer ?? tf.sum(validFloat);
    return tf.div(total, denominator) as tf.Scalar;
  });
}
