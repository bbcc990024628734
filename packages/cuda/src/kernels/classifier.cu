// The token classification head's loss: cross-entropy over rows whose label is not -100, its
// gradient, and the argmax predictions, in one pass per row (numLabels is small: one thread per
// row). Per-row losses go to a float buffer the host sums in float64, so the sum is exact and
// deterministic.
#include "common.cuh"

// dlogits = (softmax - onehot) * gradScale on labelled rows, 0 on ignored ones (when dlogits is
// not null); predictions (when not null) = argmax. rowLoss = logsumexp - logit[label], or 0.
extern "C" __global__ void cross_entropy_forward_backward(float* rowLoss, floatX* dlogits,
                                                          int* predictions, const floatX* logits,
                                                          const int* labels, int N, int L,
                                                          float gradScale) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= N) return;
  const long long base = (long long)row * L;
  float m = NEG_INFINITY;
  int best = 0;
  for (int c = 0; c < L; c++) {
    const float v = ldX(logits, base + c);
    if (v > m) {
      m = v;
      best = c;
    }
  }
  float s = 0.0f;
  for (int c = 0; c < L; c++) s += expf(ldX(logits, base + c) - m);
  const float logSum = m + logf(s);
  const int label = labels[row];
  const bool valid = label != -100;
  rowLoss[row] = valid ? logSum - ldX(logits, base + label) : 0.0f;
  if (predictions) predictions[row] = best;
  if (dlogits)
    for (int c = 0; c < L; c++) {
      const float prob = expf(ldX(logits, base + c) - logSum);
      dlogits[base + c] = toX(valid ? (prob - (c == label ? 1.0f : 0.0f)) * gradScale : 0.0f);
    }
}
