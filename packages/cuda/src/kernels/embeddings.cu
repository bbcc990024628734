// BertEmbeddings: word + position + token type rows, LayerNorm, dropout; the backward scatters
// the row gradients into the three tables (atomics on the word table, shared sums for the rest).
#include "layernorm.cuh"

// One block per token; `types` may be null (all token type 0, as HF without token_type_ids).
extern "C" __global__ void embeddings_forward(
    floatX* out, floatX* pre, float* mean, float* rstd, const int* ids, const int* types,
    const float* wte, const float* wpe, const float* wtt, const float* gamma, const float* beta,
    int N, int T, int H, float eps, float p, unsigned int seed, unsigned int site,
    unsigned long long counter) {
  const int row = blockIdx.x;
  if (row >= N) return;
  const long long base = (long long)row * H;
  const long long word = (long long)ids[row] * H;
  const long long position = (long long)(row % T) * H;
  const long long type = (long long)(types ? types[row] : 0) * H;
  for (int j = threadIdx.x; j < H; j += blockDim.x)
    pre[base + j] = toX(wte[word + j] + wpe[position + j] + wtt[type + j]);
  layerNormRow(out + base, pre + base, mean + row, rstd + row, gamma, beta, H, eps);
  if (p > 0.0f) {
    __syncthreads();
    const float scale = 1.0f / (1.0f - p);
    for (int j = threadIdx.x; j < H; j += blockDim.x)
      out[base + j] = toX(dropoutKeep(seed, site, counter, base + j, p) ? ldX(out, base + j) * scale : 0.0f);
  }
}

// `dout` is the gradient of the dropout's output; it is overwritten with the LayerNorm input's
// gradient on the way. Shared memory: (2 + typeVocab) * H floats.
extern "C" __global__ void embeddings_backward(
    float* dwte, float* dwpe, float* dwtt, float* dgamma, float* dbeta, floatX* dout,
    const floatX* pre, const float* mean, const float* rstd, const int* ids, const int* types,
    const float* gamma, int N, int T, int H, int typeVocab, int rowsPerBlock, float p,
    unsigned int seed, unsigned int site, unsigned long long counter) {
  extern __shared__ float acc[];
  float* accGamma = acc;
  float* accBeta = acc + H;
  float* accType = acc + 2 * H;
  for (int j = threadIdx.x; j < (2 + typeVocab) * H; j += blockDim.x) acc[j] = 0.0f;
  __syncthreads();
  const float scale = 1.0f / (1.0f - p);
  const int first = blockIdx.x * rowsPerBlock;
  for (int row = first; row < min(N, first + rowsPerBlock); row++) {
    const long long base = (long long)row * H;
    if (p > 0.0f) {
      for (int j = threadIdx.x; j < H; j += blockDim.x)
        dout[base + j] = toX(dropoutKeep(seed, site, counter, base + j, p) ? ldX(dout, base + j) * scale : 0.0f);
      __syncthreads();
    }
    const long long word = (long long)ids[row] * H;
    const long long position = (long long)(row % T) * H;
    float* typeRow = accType + (types ? types[row] : 0) * H;
    layerNormRowBackward(dout + base, pre + base, mean[row], rstd[row], gamma, accGamma, accBeta,
                         H, [&](int j, float g) {
                           atomicAdd(dwte + word + j, g);
                           atomicAdd(dwpe + position + j, g);
                           typeRow[j] += g;
                         });
  }
  __syncthreads();
  for (int j = threadIdx.x; j < H; j += blockDim.x) {
    atomicAdd(dgamma + j, accGamma[j]);
    atomicAdd(dbeta + j, accBeta[j]);
  }
  for (int j = threadIdx.x; j < typeVocab * H; j += blockDim.x) atomicAdd(dwtt + j, accType[j]);
}
