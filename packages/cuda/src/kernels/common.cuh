// Shared by every kernel file: the floatX switch (fp32 / bf16 / fp16 activations, chosen by
// -DFLOATX_BF16 or -DFLOATX_FP16 at NVRTC compile time), warp/block sums and Philox dropout.
#pragma once
#if defined(FLOATX_BF16)
#include <cuda_bf16.h>
typedef __nv_bfloat16 floatX;
#elif defined(FLOATX_FP16)
#include <cuda_fp16.h>
typedef __half floatX;
#else
typedef float floatX;
#endif

// NVRTC has no <math.h>: -inf by its bits.
#define NEG_INFINITY __int_as_float(0xff800000)

__device__ __forceinline__ float ldX(const floatX* p, long long i) { return (float)p[i]; }
__device__ __forceinline__ floatX toX(float v) { return (floatX)v; }

__device__ __forceinline__ float warpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float blockSum(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  float total = lane < warps ? partial[lane] : 0.0f;
  return warpSum(total);
}

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", Random123).
__device__ __forceinline__ uint4 philox4x32_10(uint4 ctr, uint2 key) {
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      key.x += 0x9E3779B9u;
      key.y += 0xBB67AE85u;
    }
    const unsigned int lo0 = ctr.x * 0xD2511F53u, hi0 = __umulhi(ctr.x, 0xD2511F53u);
    const unsigned int lo1 = ctr.z * 0xCD9E8D57u, hi1 = __umulhi(ctr.z, 0xCD9E8D57u);
    ctr = make_uint4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
  }
  return ctr;
}

// Dropout keep-or-drop of element `index` at dropout site `site` in forward number `counter`:
// key (seed, site), counter (index / 4 as 64 bits, counter as 64 bits); word index % 4, its top
// 24 bits as a uniform in [0, 1); kept when uniform >= p (the trainer's convention). The same
// call in the backward regenerates the mask, so no mask is stored.
__device__ __forceinline__ bool dropoutKeep(unsigned int seed, unsigned int site,
                                            unsigned long long counter, long long index, float p) {
  const unsigned long long group = (unsigned long long)index >> 2;
  const uint4 bits = philox4x32_10(
      make_uint4((unsigned int)group, (unsigned int)(group >> 32), (unsigned int)counter,
                 (unsigned int)(counter >> 32)),
      make_uint2(seed, site));
  const unsigned int lane = (unsigned int)index & 3u;
  const unsigned int word = lane == 0 ? bits.x : lane == 1 ? bits.y : lane == 2 ? bits.z : bits.w;
  return (float)(word >> 8) * (1.0f / 16777216.0f) >= p;
}
