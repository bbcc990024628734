// BertSelfAttention around the two batched GEMMs (scores = q k^T, context = probs v, done by
// cuBLASLt): head split/merge permutes, and one fused kernel for scale-free mask + softmax +
// dropout forward and its backward. Layouts: qkv [B, T, 3H] (query | key | value), heads
// [B, nh, T, d], scores/probs [B, nh, T, T].
#include "common.cuh"

// qkv [B, T, 3, nh, d] -> q, k, v [B, nh, T, d] (q, k, v consecutive in `heads`, each B*nh*T*d).
extern "C" __global__ void attention_split_heads(floatX* heads, const floatX* qkv, int B, int T,
                                                 int nh, int d) {
  const long long per = (long long)B * nh * T * d;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < 3 * per;
       i += (long long)gridDim.x * blockDim.x) {
    const int which = (int)(i / per);
    long long r = i % per;
    const int e = (int)(r % d); r /= d;
    const int t = (int)(r % T); r /= T;
    const int h = (int)(r % nh);
    const int b = (int)(r / nh);
    heads[i] = qkv[(((long long)b * T + t) * 3 + which) * nh * d + (long long)h * d + e];
  }
}

// The inverse permute, for the q/k/v gradients: dheads [3, B, nh, T, d] -> dqkv [B, T, 3H].
extern "C" __global__ void attention_merge_qkv_grad(floatX* dqkv, const floatX* dheads, int B,
                                                    int T, int nh, int d) {
  const long long per = (long long)B * nh * T * d;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < 3 * per;
       i += (long long)gridDim.x * blockDim.x) {
    const int which = (int)(i / per);
    long long r = i % per;
    const int e = (int)(r % d); r /= d;
    const int t = (int)(r % T); r /= T;
    const int h = (int)(r % nh);
    const int b = (int)(r / nh);
    dqkv[(((long long)b * T + t) * 3 + which) * nh * d + (long long)h * d + e] = dheads[i];
  }
}

// context [B, nh, T, d] -> [B, T, H] (toHeads = 0), or the reverse for its gradient (1).
extern "C" __global__ void attention_permute_context(floatX* out, const floatX* in, int B, int T,
                                                     int nh, int d, int toHeads) {
  const long long n = (long long)B * nh * T * d;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    long long r = i;
    const int e = (int)(r % d); r /= d;
    const int t = (int)(r % T); r /= T;
    const int h = (int)(r % nh);
    const int b = (int)(r / nh);
    const long long merged = ((long long)b * T + t) * nh * d + (long long)h * d + e;
    if (toHeads) out[i] = in[merged];
    else out[merged] = in[i];
  }
}

// One warp per score row (b, h, i): probs = softmax(scores with masked keys at -inf, i.e. HF's
// finfo.min after exp) and dropped = dropout(probs) (when p > 0; else `dropped` is unused).
extern "C" __global__ void attention_softmax_forward(floatX* probs, floatX* dropped,
                                                     const floatX* scores, const int* mask,
                                                     int B, int nh, int T, float p,
                                                     unsigned int seed, unsigned int site,
                                                     unsigned long long counter) {
  const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= (long long)B * nh * T) return;
  const int b = (int)(row / ((long long)nh * T));
  const long long base = row * T;
  const int* keys = mask + (long long)b * T;
  float m = NEG_INFINITY;
  for (int j = lane; j < T; j += 32)
    if (keys[j]) m = fmaxf(m, ldX(scores, base + j));
  m = warpMax(m);
  float s = 0.0f;
  for (int j = lane; j < T; j += 32)
    if (keys[j]) s += expf(ldX(scores, base + j) - m);
  const float inv = 1.0f / warpSum(s);
  const float scale = 1.0f / (1.0f - p);
  for (int j = lane; j < T; j += 32) {
    const float prob = keys[j] ? expf(ldX(scores, base + j) - m) * inv : 0.0f;
    probs[base + j] = toX(prob);
    if (p > 0.0f)
      dropped[base + j] = toX(dropoutKeep(seed, site, counter, base + j, p) ? prob * scale : 0.0f);
  }
}

// dscores = probs * (dprobs - sum(dprobs * probs)) where dprobs is the gradient of the dropped
// probabilities pushed back through the dropout. In place: dscores may alias ddropped.
extern "C" __global__ void attention_softmax_backward(floatX* dscores, const floatX* ddropped,
                                                      const floatX* probs, long long rows, int T,
                                                      float p, unsigned int seed,
                                                      unsigned int site,
                                                      unsigned long long counter) {
  const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const long long base = row * T;
  const float scale = 1.0f / (1.0f - p);
  float s = 0.0f;
  for (int j = lane; j < T; j += 32) {
    float g = ldX(ddropped, base + j);
    if (p > 0.0f) g = dropoutKeep(seed, site, counter, base + j, p) ? g * scale : 0.0f;
    s += g * ldX(probs, base + j);
  }
  s = warpSum(s);
  for (int j = lane; j < T; j += 32) {
    float g = ldX(ddropped, base + j);
    if (p > 0.0f) g = dropoutKeep(seed, site, counter, base + j, p) ? g * scale : 0.0f;
    dscores[base + j] = toX(ldX(probs, base + j) * (g - s));
  }
}
