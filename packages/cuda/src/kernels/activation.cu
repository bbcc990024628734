// BertIntermediate's activation (HF ACT2FN: gelu = erf form, gelu_new = tanh form, relu) on the
// bias-added matmul output, forward and backward, and the bias gradient (column sums) that every
// linear layer's backward needs. ACT is 0 gelu, 1 gelu_new, 2 relu.
#include "common.cuh"

#define SQRT_HALF 0.70710678118654752440f
#define SQRT_2_OVER_PI 0.79788456080286535588f
#define INV_SQRT_2PI 0.39894228040143267794f

__device__ __forceinline__ float activate(float x, int act) {
  if (act == 0) return 0.5f * x * (1.0f + erff(x * SQRT_HALF));
  if (act == 1) return 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
  return fmaxf(x, 0.0f);
}

__device__ __forceinline__ float activateGrad(float x, int act) {
  if (act == 0) return 0.5f * (1.0f + erff(x * SQRT_HALF)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
  if (act == 1) {
    const float inner = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
    const float t = tanhf(inner);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x * x);
  }
  return x > 0.0f ? 1.0f : 0.0f;
}

extern "C" __global__ void activation_forward(floatX* out, const floatX* pre, long long n, int act) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = toX(activate(ldX(pre, i), act));
}

// dpre may alias dout.
extern "C" __global__ void activation_backward(floatX* dpre, const floatX* dout, const floatX* pre,
                                               long long n, int act) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    dpre[i] = toX(ldX(dout, i) * activateGrad(ldX(pre, i), act));
}

// dbias[c] += sum over rows of dy[r, c] for dy [N, C]; block (32, 8) covers 32 columns and
// blockIdx.y picks a chunk of rowsPerBlock rows, added atomically into the fp32 gradient.
extern "C" __global__ void bias_backward(float* dbias, const floatX* dy, int N, int C,
                                         int rowsPerBlock) {
  __shared__ float partial[8][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  const int first = blockIdx.y * rowsPerBlock;
  const int last = min(N, first + rowsPerBlock);
  float s = 0.0f;
  if (c < C)
    for (int r = first + threadIdx.y; r < last; r += 8) s += ldX(dy, (long long)r * C + c);
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float total = 0.0f;
    for (int y = 0; y < 8; y++) total += partial[y][threadIdx.x];
    atomicAdd(dbias + c, total);
  }
}
