// LayerNorm row helpers shared by layernorm.cu and embeddings.cu: one block per row, statistics
// in fp32 (biased variance, eps inside the square root, as torch.nn.LayerNorm).
#pragma once
#include "common.cuh"

// Normalises row `x` (already stored in floatX) into `out`; writes the row's mean and 1/std.
__device__ __forceinline__ void layerNormRow(floatX* out, const floatX* x, float* mean,
                                             float* rstd, const float* gamma, const float* beta,
                                             int H, float eps) {
  float s = 0.0f;
  for (int j = threadIdx.x; j < H; j += blockDim.x) s += ldX(x, j);
  const float m = blockSum(s) / H;
  float v = 0.0f;
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    const float d = ldX(x, j) - m;
    v += d * d;
  }
  const float r = rsqrtf(blockSum(v) / H + eps);
  for (int j = threadIdx.x; j < H; j += blockDim.x)
    out[j] = toX((ldX(x, j) - m) * r * gamma[j] + beta[j]);
  if (threadIdx.x == 0) {
    *mean = m;
    *rstd = r;
  }
}

// The input gradient of one row into `dx` (fp32 registers, returned through `emit`), and the
// row's dgamma/dbeta terms added into the block's shared accumulators.
template <typename Emit>
__device__ __forceinline__ void layerNormRowBackward(const floatX* dy, const floatX* x, float m,
                                                     float r, const float* gamma, float* accGamma,
                                                     float* accBeta, int H, Emit emit) {
  float s1 = 0.0f, s2 = 0.0f;
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    const float g = ldX(dy, j) * gamma[j];
    s1 += g;
    s2 += g * (ldX(x, j) - m) * r;
  }
  const float meanG = blockSum(s1) / H;
  const float meanGX = blockSum(s2) / H;
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    const float xhat = (ldX(x, j) - m) * r;
    const float d = ldX(dy, j);
    emit(j, r * (d * gamma[j] - meanG - xhat * meanGX));
    accGamma[j] += d * xhat;
    accBeta[j] += d;
  }
}
