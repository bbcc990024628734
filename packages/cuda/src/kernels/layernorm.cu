// BertSelfOutput / BertOutput's tail: LayerNorm(dropout(a) + residual), forward and backward.
// The dropout mask is regenerated from (seed, site, counter) in the backward, never stored.
#include "layernorm.cuh"

extern "C" __global__ void residual_layernorm_forward(
    floatX* out, floatX* pre, float* mean, float* rstd, const floatX* a, const floatX* residual,
    const float* gamma, const float* beta, int N, int H, float eps, float p, unsigned int seed,
    unsigned int site, unsigned long long counter) {
  const int row = blockIdx.x;
  if (row >= N) return;
  const long long base = (long long)row * H;
  const float scale = 1.0f / (1.0f - p);
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    float av = ldX(a, base + j);
    if (p > 0.0f) av = dropoutKeep(seed, site, counter, base + j, p) ? av * scale : 0.0f;
    pre[base + j] = toX(av + ldX(residual, base + j));
  }
  layerNormRow(out + base, pre + base, mean + row, rstd + row, gamma, beta, H, eps);
}

// Rows [blockIdx.x * rowsPerBlock, +rowsPerBlock): dx = d(residual), da = d(a) through the
// dropout; dgamma/dbeta summed in shared memory (2H floats) and added once per block.
extern "C" __global__ void residual_layernorm_backward(
    floatX* dx, floatX* da, float* dgamma, float* dbeta, const floatX* dy, const floatX* pre,
    const float* mean, const float* rstd, const float* gamma, int N, int H, int rowsPerBlock,
    float p, unsigned int seed, unsigned int site, unsigned long long counter) {
  extern __shared__ float acc[];
  float* accGamma = acc;
  float* accBeta = acc + H;
  for (int j = threadIdx.x; j < 2 * H; j += blockDim.x) acc[j] = 0.0f;
  __syncthreads();
  const float scale = 1.0f / (1.0f - p);
  const int first = blockIdx.x * rowsPerBlock;
  for (int row = first; row < min(N, first + rowsPerBlock); row++) {
    const long long base = (long long)row * H;
    layerNormRowBackward(dy + base, pre + base, mean[row], rstd[row], gamma, accGamma, accBeta, H,
                         [&](int j, float g) {
                           dx[base + j] = toX(g);
                           const bool keep = p == 0.0f || dropoutKeep(seed, site, counter, base + j, p);
                           da[base + j] = toX(keep ? g * scale : 0.0f);
                         });
  }
  __syncthreads();
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    atomicAdd(dgamma + j, accGamma[j]);
    atomicAdd(dbeta + j, accBeta[j]);
  }
}
