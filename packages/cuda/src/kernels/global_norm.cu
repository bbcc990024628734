// Gradient-norm clipping and fp16 unscaling over the flat fp32 gradient buffer: per-block sums
// of squares (the host adds the blocks in float64), and one in-place scale that also flags any
// non-finite element.
#include "common.cuh"

extern "C" __global__ void global_norm_squares(float* blockSums, const float* g, long long n) {
  float s = 0.0f;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    s += g[i] * g[i];
  s = blockSum(s);
  if (threadIdx.x == 0) blockSums[blockIdx.x] = s;
}

// g *= factor; *nonFinite = 1 when any element (after scaling) is inf or nan.
extern "C" __global__ void scale_and_check(float* g, long long n, float factor, int* nonFinite) {
  bool bad = false;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float v = g[i] * factor;
    g[i] = v;
    bad |= !isfinite(v);
  }
  if (__syncthreads_or(bad) && threadIdx.x == 0) *nonFinite = 1;
}
