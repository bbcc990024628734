// Inverted dropout as a stand-alone pass (classifier dropout, regenerating attention dropout in
// the backward): out = in * keep / (1 - p). Forward and backward are the same call.
#include "common.cuh"

extern "C" __global__ void dropout_apply(floatX* out, const floatX* in, long long n, float p,
                                         unsigned int seed, unsigned int site,
                                         unsigned long long counter) {
  const float scale = 1.0f / (1.0f - p);
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = toX(dropoutKeep(seed, site, counter, i, p) ? ldX(in, i) * scale : 0.0f);
}

// Writes the first n words' keep flags (1/0), for checking the generator against the host's.
extern "C" __global__ void dropout_mask(int* out, long long n, float p, unsigned int seed,
                                        unsigned int site, unsigned long long counter) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = dropoutKeep(seed, site, counter, i, p) ? 1 : 0;
}
