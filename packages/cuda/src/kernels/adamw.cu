// Fused AdamW as torch.optim.AdamW (decoupled weight decay, bias correction, eps outside the
// square root) over a contiguous range of the flat buffers: fp32 master weights and moments;
// `paramsX` (null in fp32) receives the updated weight in floatX for the next forward.
#include "common.cuh"

extern "C" __global__ void adamw_update(float* params, floatX* paramsX, const float* grads,
                                        float* expAvg, float* expAvgSq, long long n, float lr,
                                        float weightDecay, float beta1, float beta2, float eps,
                                        float stepSize, float correction2Sqrt) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float g = grads[i];
    const float p = params[i] * (1.0f - lr * weightDecay);
    const float m = expAvg[i] + (1.0f - beta1) * (g - expAvg[i]);
    const float v = expAvgSq[i] * beta2 + (1.0f - beta2) * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    const float updated = p - stepSize * (m / (sqrtf(v) / correction2Sqrt + eps));
    params[i] = updated;
    if (paramsX) paramsX[i] = toX(updated);
  }
}
