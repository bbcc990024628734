// Conversions between the fp32 master copies and floatX: half-precision weights for the matmuls
// after loading, and fp32 logits for the host.
#include "common.cuh"

extern "C" __global__ void cast_to_floatx(floatX* out, const float* in, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = toX(in[i]);
}

extern "C" __global__ void cast_to_float(float* out, const floatX* in, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = ldX(in, i);
}
