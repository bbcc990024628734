/*
 * ner-launch: fused CPU kernels for the `tensorflow` backend, registered into libtensorflow
 * through its C kernel API when this library is loaded (after libtensorflow, RTLD_GLOBAL; see
 * tensorflow-loader.ts). `ner-launch setup tensorflow` compiles it against the install's headers.
 *
 * Why: in eager mode every tfjs op is one TensorFlow kernel that reads and writes whole tensors,
 * so LayerNorm (9 ops forward, ~11 backward), exact GELU (5 + 8) and AdamW (14 per parameter)
 * are memory passes, not arithmetic; fused, each is one pass (two for LayerNorm's backward
 * reductions). The formulas are the ones of layer-norm.ts, activation.ts and device-adamw.ts
 * (torch's), in the same float32 operation order where the results are elementwise; the file
 * is compiled with -ffp-contract=off so no multiply-add is fused behind that order's back.
 * C++ only because TensorFlow's C API headers need a C++ compiler; the code is plain C otherwise.
 *
 *   NerLayerNorm(x [..., H], gamma [H], beta [H]; epsilon) -> y, mean [rows], inv_std [rows]
 *   NerLayerNormGrad(dy, x, mean, inv_std, gamma) -> dx, dgamma, dbeta
 *   NerGelu(x) -> y                 0.5 x (1 + erf(x / sqrt 2))
 *   NerGeluGrad(dy, x) -> dx        dy (Phi(x) + x phi(x))
 *   NerDropout(x, seed [1] int32; rate) -> y   x / (1 - rate) where a counter-based hash of
 *     (seed, element index) keeps the element, else 0; its gradient is the same op on dy with the
 *     same seed, so no mask is stored between forward and backward
 *   NerAdamW(param, grad, m, v, constants [7]) -> param', m', v'
 *     constants: 1 - lr wd, 1 - beta1, beta2, 1 - beta2, sqrt(1 - beta2^t), eps, -lr / (1 - beta1^t)
 *     (a tensor, not attributes: TensorFlow caches one kernel per distinct attribute value).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include "tensorflow/c/c_api.h"
#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"

/* ---------------------------------------------------------------- threads */

/* TF_NUM_INTRAOP_THREADS, which the loader sets from --num_threads before loading us. */
static int g_threads = 1;

typedef void (*RangeFn)(void *context, int64_t begin, int64_t end);

typedef struct {
  RangeFn fn;
  void *context;
  int64_t begin, end;
} Chunk;

static void *RunChunk(void *argument) {
  const Chunk *chunk = (const Chunk *)argument;
  chunk->fn(chunk->context, chunk->begin, chunk->end);
  return NULL;
}

/*
 * fn over [0, n) in contiguous ranges of at least `grain` items, one per thread. The split
 * depends only on n, grain and the thread count, and the callers' results do not depend on it.
 */
static void ParallelFor(int64_t n, int64_t grain, RangeFn fn, void *context) {
  enum { kMaxThreads = 64 };
  int64_t threads = g_threads < kMaxThreads ? g_threads : kMaxThreads;
  if (grain < 1) grain = 1;
  if (n / grain < threads) threads = n / grain;
  if (threads <= 1) {
    fn(context, 0, n);
    return;
  }
  Chunk chunks[kMaxThreads];
  pthread_t ids[kMaxThreads];
  int started[kMaxThreads];
  for (int64_t t = 0; t < threads; t++) {
    chunks[t].fn = fn;
    chunks[t].context = context;
    chunks[t].begin = n * t / threads;
    chunks[t].end = n * (t + 1) / threads;
  }
  for (int64_t t = 1; t < threads; t++)
    started[t] = pthread_create(&ids[t], NULL, RunChunk, &chunks[t]) == 0;
  RunChunk(&chunks[0]);
  for (int64_t t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(ids[t], NULL);
    else
      RunChunk(&chunks[t]); /* no thread to be had: do it here */
  }
}

/* Elementwise kernels split into ranges of at least this many elements (~128 KiB of floats). */
#define ELEMENT_GRAIN 32768

/* ---------------------------------------------------------------- math */

/*
 * erf for float32 as a rational function of x^2 on [-4, 4] (beyond, erf is +-1 in float32),
 * the approximation TensorFlow's own Erf kernel uses (Eigen's fast float erf); max abs error
 * 6.5e-8. Branch-free so the loops around it vectorize.
 */
static inline float ErfF(float x) {
  x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}

/*
 * exp for float32 arguments <= 0 (GELU's density): 2^k e^r with r in [-ln2/2, ln2/2] and a
 * degree-6 Taylor polynomial for e^r (relative error < 2e-7); arguments below -87 give 0.
 * Branch-free, like ErfF.
 */
static inline float ExpNonPositiveF(float z) {
  const float clamped = z < -87.0f ? -87.0f : z;
  /* Round-to-nearest of z / ln2 by the 1.5 * 2^23 trick (exact for |z / ln2| < 2^22). */
  const float shifter = 12582912.0f;
  const float k = (clamped * 1.44269504088896341f + shifter) - shifter;
  const float r = (clamped - k * 0.693359375f) - k * -2.12194440e-4f;
  float e = 1.0f / 720.0f;
  e = e * r + 1.0f / 120.0f;
  e = e * r + 1.0f / 24.0f;
  e = e * r + 1.0f / 6.0f;
  e = e * r + 0.5f;
  e = e * r + 1.0f;
  e = e * r + 1.0f;
  const int32_t bits = ((int32_t)k + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return z < -87.0f ? 0.0f : e * scale;
}

static const float kSqrtHalf = 0.70710678118654752f;
static const float kInverseSqrt2Pi = 0.39894228040143268f;

/*
 * Row sums in double, in LANES interleaved partial sums: independent chains the compiler can
 * keep in vector registers without reassociating anything (the result does not depend on -O).
 */
#define LANES 8

static inline double SumLanes(const double lanes[LANES]) {
  double total = 0;
  for (int j = 0; j < LANES; j++) total += lanes[j];
  return total;
}

/* Hot loops get AVX-512 / AVX2 variants picked at load time (the install may be shared). */
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

/* ---------------------------------------------------------------- op plumbing */

static void Fail(TF_OpKernelContext *ctx, const char *message) {
  TF_Status *status = TF_NewStatus();
  TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
  TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

/* A kernel's tensors, deleted (the C API's wrappers, not the buffers) when it returns. */
class Tensors {
 public:
  ~Tensors() {
    for (TF_Tensor *t : tensors_)
      if (t) TF_DeleteTensor(t);
  }
  TF_Tensor *Add(TF_Tensor *t) {
    tensors_.push_back(t);
    return t;
  }

 private:
  std::vector<TF_Tensor *> tensors_;
};

/* Inputs 0..count-1 as float32 tensors; false (after reporting) if one is missing or not float. */
static bool GetFloatInputs(TF_OpKernelContext *ctx, int count, Tensors &owned, TF_Tensor **in) {
  TF_Status *status = TF_NewStatus();
  bool ok = true;
  for (int i = 0; i < count && ok; i++) {
    in[i] = nullptr;
    TF_GetInput(ctx, i, &in[i], status);
    owned.Add(in[i]);
    if (TF_GetCode(status) != TF_OK) {
      TF_OpKernelContext_Failure(ctx, status);
      ok = false;
    } else if (TF_TensorType(in[i]) != TF_FLOAT) {
      Fail(ctx, "ner fused ops take float32 tensors");
      ok = false;
    }
  }
  TF_DeleteStatus(status);
  return ok;
}

/* Output `index` of shape dims; nullptr (after reporting) when it cannot be allocated. */
static TF_Tensor *AllocateOutput(TF_OpKernelContext *ctx, int index, const int64_t *dims,
                                 int num_dims, Tensors &owned) {
  int64_t count = 1;
  for (int i = 0; i < num_dims; i++) count *= dims[i];
  TF_Status *status = TF_NewStatus();
  TF_Tensor *out = owned.Add(TF_AllocateOutput(ctx, index, TF_FLOAT, dims, num_dims,
                                               (size_t)count * sizeof(float), status));
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
    out = nullptr;
  }
  TF_DeleteStatus(status);
  return out;
}

/* The shape of t into dims[8]; -1 for a rank above 8. */
static int ShapeOf(const TF_Tensor *t, int64_t *dims) {
  const int num_dims = TF_NumDims(t);
  if (num_dims > 8) return -1;
  for (int i = 0; i < num_dims; i++) dims[i] = TF_Dim(t, i);
  return num_dims;
}

static float *Data(TF_Tensor *t) { return (float *)TF_TensorData(t); }

/* ---------------------------------------------------------------- LayerNorm */

typedef struct {
  float epsilon;
} LayerNormAttributes;

static void *CreateLayerNorm(TF_OpKernelConstruction *construction) {
  LayerNormAttributes *attributes = (LayerNormAttributes *)calloc(1, sizeof *attributes);
  TF_Status *status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrFloat(construction, "epsilon", &attributes->epsilon, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return attributes;
}

typedef struct {
  const float *x, *gamma, *beta;
  float *y, *mean, *inv_std;
  int64_t width;
  float epsilon;
} LayerNormForward;

VECTOR_CLONES static void LayerNormRows(void *context, int64_t begin, int64_t end) {
  const LayerNormForward *c = (const LayerNormForward *)context;
  const int64_t h = c->width;
  for (int64_t row = begin; row < end; row++) {
    const float *x = c->x + row * h;
    float *y = c->y + row * h;
    double sum[LANES] = {0}, squares[LANES] = {0};
    for (int64_t i = 0; i < h; i++) sum[i % LANES] += x[i];
    const float mean = (float)(SumLanes(sum) / (double)h);
    for (int64_t i = 0; i < h; i++) {
      const float centred = x[i] - mean;
      squares[i % LANES] += (double)(centred * centred);
    }
    const float variance = (float)(SumLanes(squares) / (double)h);
    const float inv_std = 1.0f / sqrtf(variance + c->epsilon);
    for (int64_t i = 0; i < h; i++) y[i] = ((x[i] - mean) * inv_std) * c->gamma[i] + c->beta[i];
    c->mean[row] = mean;
    c->inv_std[row] = inv_std;
  }
}

static void ComputeLayerNorm(void *kernel, TF_OpKernelContext *ctx) {
  const LayerNormAttributes *attributes = (const LayerNormAttributes *)kernel;
  Tensors owned;
  TF_Tensor *in[3];
  if (!GetFloatInputs(ctx, 3, owned, in)) return;
  int64_t dims[8];
  const int num_dims = ShapeOf(in[0], dims);
  if (num_dims < 1) return Fail(ctx, "NerLayerNorm: x must have rank 1 to 8");
  const int64_t width = dims[num_dims - 1];
  if (TF_TensorElementCount(in[1]) != width || TF_TensorElementCount(in[2]) != width)
    return Fail(ctx, "NerLayerNorm: gamma and beta must have x's last dimension");
  const int64_t rows = width == 0 ? 0 : TF_TensorElementCount(in[0]) / width;
  TF_Tensor *y = AllocateOutput(ctx, 0, dims, num_dims, owned);
  TF_Tensor *mean = y ? AllocateOutput(ctx, 1, &rows, 1, owned) : nullptr;
  TF_Tensor *inv_std = mean ? AllocateOutput(ctx, 2, &rows, 1, owned) : nullptr;
  if (!inv_std) return;
  LayerNormForward c = {Data(in[0]), Data(in[1]), Data(in[2]), Data(y),
                        Data(mean),  Data(inv_std), width, attributes->epsilon};
  ParallelFor(rows, 1 + ELEMENT_GRAIN / (width ? width : 1), LayerNormRows, &c);
}

/* Rows per partial sum of dgamma / dbeta: fixed, so the sums do not depend on the thread count. */
#define GRAD_ROW_BLOCK 64

typedef struct {
  const float *dy, *x, *mean, *inv_std, *gamma;
  float *dx;
  float *partial_dgamma, *partial_dbeta; /* [blocks][width] */
  int64_t width, rows;
} LayerNormBackward;

VECTOR_CLONES static void LayerNormGradBlocks(void *context, int64_t begin, int64_t end) {
  const LayerNormBackward *c = (const LayerNormBackward *)context;
  const int64_t h = c->width;
  for (int64_t block = begin; block < end; block++) {
    float *dgamma = c->partial_dgamma + block * h;
    float *dbeta = c->partial_dbeta + block * h;
    memset(dgamma, 0, (size_t)h * sizeof(float));
    memset(dbeta, 0, (size_t)h * sizeof(float));
    const int64_t last = (block + 1) * GRAD_ROW_BLOCK < c->rows ? (block + 1) * GRAD_ROW_BLOCK
                                                                : c->rows;
    for (int64_t row = block * GRAD_ROW_BLOCK; row < last; row++) {
      const float *dy = c->dy + row * h;
      const float *x = c->x + row * h;
      float *dx = c->dx + row * h;
      const float mean = c->mean[row];
      const float inv_std = c->inv_std[row];
      double sum_dn[LANES] = {0}, sum_dn_n[LANES] = {0};
      for (int64_t i = 0; i < h; i++) {
        const float normed = (x[i] - mean) * inv_std;
        const float dn = dy[i] * c->gamma[i];
        sum_dn[i % LANES] += dn;
        sum_dn_n[i % LANES] += (double)(dn * normed);
        dgamma[i] += dy[i] * normed;
        dbeta[i] += dy[i];
      }
      const float mean_dn = (float)(SumLanes(sum_dn) / (double)h);
      const float mean_dn_n = (float)(SumLanes(sum_dn_n) / (double)h);
      for (int64_t i = 0; i < h; i++) {
        const float normed = (x[i] - mean) * inv_std;
        const float dn = dy[i] * c->gamma[i];
        dx[i] = ((dn - mean_dn) - normed * mean_dn_n) * inv_std;
      }
    }
  }
}

static void ComputeLayerNormGrad(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  Tensors owned;
  TF_Tensor *in[5];
  if (!GetFloatInputs(ctx, 5, owned, in)) return;
  int64_t dims[8];
  const int num_dims = ShapeOf(in[1], dims);
  if (num_dims < 1 || TF_TensorElementCount(in[0]) != TF_TensorElementCount(in[1]))
    return Fail(ctx, "NerLayerNormGrad: dy and x must have the same shape (rank 1 to 8)");
  const int64_t width = dims[num_dims - 1];
  const int64_t rows = width == 0 ? 0 : TF_TensorElementCount(in[1]) / width;
  if (TF_TensorElementCount(in[2]) != rows || TF_TensorElementCount(in[3]) != rows ||
      TF_TensorElementCount(in[4]) != width)
    return Fail(ctx,
                "NerLayerNormGrad: mean / inv_std need one value per row, gamma one per column");
  TF_Tensor *dx = AllocateOutput(ctx, 0, dims, num_dims, owned);
  TF_Tensor *dgamma = dx ? AllocateOutput(ctx, 1, &width, 1, owned) : nullptr;
  TF_Tensor *dbeta = dgamma ? AllocateOutput(ctx, 2, &width, 1, owned) : nullptr;
  if (!dbeta) return;
  const int64_t blocks = (rows + GRAD_ROW_BLOCK - 1) / GRAD_ROW_BLOCK;
  std::vector<float> partials((size_t)(2 * blocks * width));
  LayerNormBackward c = {Data(in[0]),     Data(in[1]), Data(in[2]),
                         Data(in[3]),     Data(in[4]), Data(dx),
                         partials.data(), partials.data() + blocks * width,
                         width,           rows};
  ParallelFor(blocks, 1, LayerNormGradBlocks, &c);
  float *gamma_sum = Data(dgamma);
  float *beta_sum = Data(dbeta);
  for (int64_t i = 0; i < width; i++) gamma_sum[i] = beta_sum[i] = 0;
  for (int64_t block = 0; block < blocks; block++)
    for (int64_t i = 0; i < width; i++) {
      gamma_sum[i] += c.partial_dgamma[block * width + i];
      beta_sum[i] += c.partial_dbeta[block * width + i];
    }
}

/* ---------------------------------------------------------------- GELU */

typedef struct {
  const float *dy, *x;
  float *out;
} Elementwise;

VECTOR_CLONES static void GeluRange(void *context, int64_t begin, int64_t end) {
  const Elementwise *c = (const Elementwise *)context;
  const float *x = c->x;
  float *y = c->out;
  for (int64_t i = begin; i < end; i++) y[i] = (x[i] * 0.5f) * (ErfF(x[i] * kSqrtHalf) + 1.0f);
}

VECTOR_CLONES static void GeluGradRange(void *context, int64_t begin, int64_t end) {
  const Elementwise *c = (const Elementwise *)context;
  const float *x = c->x;
  const float *dy = c->dy;
  float *dx = c->out;
  for (int64_t i = begin; i < end; i++) {
    const float density = ExpNonPositiveF((x[i] * x[i]) * -0.5f) * kInverseSqrt2Pi;
    dx[i] = dy[i] * ((ErfF(x[i] * kSqrtHalf) + 1.0f) * 0.5f + x[i] * density);
  }
}

/* out = f(inputs...) elementwise, same shape as the last input (GELU and its gradient). */
static void ComputeElementwise(TF_OpKernelContext *ctx, int inputs, RangeFn fn, const char *op) {
  Tensors owned;
  TF_Tensor *in[2];
  if (!GetFloatInputs(ctx, inputs, owned, in)) return;
  TF_Tensor *x = in[inputs - 1];
  int64_t dims[8];
  const int num_dims = ShapeOf(x, dims);
  if (num_dims < 0) return Fail(ctx, op);
  if (inputs == 2 && TF_TensorElementCount(in[0]) != TF_TensorElementCount(x)) return Fail(ctx, op);
  TF_Tensor *out = AllocateOutput(ctx, 0, dims, num_dims, owned);
  if (!out) return;
  Elementwise c = {inputs == 2 ? Data(in[0]) : nullptr, Data(x), Data(out)};
  ParallelFor(TF_TensorElementCount(x), ELEMENT_GRAIN, fn, &c);
}

static void ComputeGelu(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  ComputeElementwise(ctx, 1, GeluRange, "NerGelu: x must have rank 0 to 8");
}

static void ComputeGeluGrad(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  ComputeElementwise(ctx, 2, GeluGradRange, "NerGeluGrad: dy and x must have the same shape");
}

/* ---------------------------------------------------------------- dropout */

/* A 32-bit integer hash with good avalanche (lowbias32); vectorizes (32-bit multiplies only). */
static inline uint32_t Mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

typedef struct {
  const float *x;
  float *y;
  uint32_t key; /* Mix32(seed): decorrelates neighbouring seeds */
  uint32_t threshold; /* keep when the hash's top 24 bits >= rate * 2^24 */
  float scale;
} Dropout;

VECTOR_CLONES static void DropoutRange(void *context, int64_t begin, int64_t end) {
  const Dropout *c = (const Dropout *)context;
  const float *x = c->x;
  float *y = c->y;
  const uint32_t key = c->key, threshold = c->threshold;
  const float scale = c->scale;
  for (int64_t i = begin; i < end; i++) {
    const uint32_t bits = Mix32((uint32_t)i ^ key) >> 8;
    y[i] = x[i] * ((float)(bits >= threshold) * scale);
  }
}

typedef struct {
  float rate;
} DropoutAttributes;

static void *CreateDropout(TF_OpKernelConstruction *construction) {
  DropoutAttributes *attributes = (DropoutAttributes *)calloc(1, sizeof *attributes);
  TF_Status *status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrFloat(construction, "rate", &attributes->rate, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(construction, status);
  TF_DeleteStatus(status);
  return attributes;
}

static void ComputeDropout(void *kernel, TF_OpKernelContext *ctx) {
  const float rate = ((const DropoutAttributes *)kernel)->rate;
  if (!(rate >= 0.0f && rate < 1.0f)) return Fail(ctx, "NerDropout: rate must be in [0, 1)");
  Tensors owned;
  TF_Tensor *in[2] = {nullptr, nullptr};
  TF_Status *status = TF_NewStatus();
  for (int i = 0; i < 2 && TF_GetCode(status) == TF_OK; i++) {
    TF_GetInput(ctx, i, &in[i], status);
    owned.Add(in[i]);
  }
  const bool ok = TF_GetCode(status) == TF_OK;
  if (!ok) TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
  if (!ok) return;
  if (TF_TensorType(in[0]) != TF_FLOAT || TF_TensorType(in[1]) != TF_INT32 ||
      TF_TensorElementCount(in[1]) != 1)
    return Fail(ctx, "NerDropout: x must be float32 and seed one int32");
  int64_t dims[8];
  const int num_dims = ShapeOf(in[0], dims);
  if (num_dims < 0) return Fail(ctx, "NerDropout: rank above 8");
  TF_Tensor *y = AllocateOutput(ctx, 0, dims, num_dims, owned);
  if (!y) return;
  const int32_t seed = *(const int32_t *)TF_TensorData(in[1]);
  Dropout c = {Data(in[0]), Data(y), Mix32((uint32_t)seed ^ 0x2545f491u),
               (uint32_t)(rate * 16777216.0f), 1.0f / (1.0f - rate)};
  ParallelFor(TF_TensorElementCount(in[0]), ELEMENT_GRAIN, DropoutRange, &c);
}

/* ---------------------------------------------------------------- AdamW */

typedef struct {
  const float *param, *grad, *m, *v;
  float *param_out, *m_out, *v_out;
  float decay, one_minus_beta1, beta2, one_minus_beta2, correction2_sqrt, eps, neg_step_size;
} AdamW;

VECTOR_CLONES static void AdamWRange(void *context, int64_t begin, int64_t end) {
  const AdamW *c = (const AdamW *)context;
  for (int64_t i = begin; i < end; i++) {
    const float g = c->grad[i];
    const float decayed = c->param[i] * c->decay;
    const float m = c->m[i] + c->one_minus_beta1 * (g - c->m[i]);
    const float v = c->v[i] * c->beta2 + c->one_minus_beta2 * (g * g);
    const float denom = sqrtf(v) / c->correction2_sqrt + c->eps;
    c->param_out[i] = decayed + c->neg_step_size * (m / denom);
    c->m_out[i] = m;
    c->v_out[i] = v;
  }
}

static void ComputeAdamW(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  Tensors owned;
  TF_Tensor *in[5];
  if (!GetFloatInputs(ctx, 5, owned, in)) return;
  const int64_t n = TF_TensorElementCount(in[0]);
  if (TF_TensorElementCount(in[1]) != n || TF_TensorElementCount(in[2]) != n ||
      TF_TensorElementCount(in[3]) != n)
    return Fail(ctx, "NerAdamW: param, grad, m and v must have the same number of elements");
  if (TF_TensorElementCount(in[4]) != 7) return Fail(ctx, "NerAdamW: constants must hold 7 values");
  int64_t dims[8];
  const int num_dims = ShapeOf(in[0], dims);
  if (num_dims < 0) return Fail(ctx, "NerAdamW: rank above 8");
  TF_Tensor *out[3] = {nullptr, nullptr, nullptr};
  for (int i = 0; i < 3; i++)
    if (!(out[i] = AllocateOutput(ctx, i, dims, num_dims, owned))) return;
  const float *k = Data(in[4]);
  AdamW c = {Data(in[0]), Data(in[1]), Data(in[2]), Data(in[3]), Data(out[0]), Data(out[1]),
             Data(out[2]), k[0],        k[1],        k[2],        k[3],         k[4],
             k[5],        k[6]};
  ParallelFor(n, ELEMENT_GRAIN, AdamWRange, &c);
}

/* ---------------------------------------------------------------- registration */

static void UnknownShapes(TF_ShapeInferenceContext *ctx, TF_Status *status) {
  TF_ShapeInferenceContextSetUnknownShape(ctx, status);
}

static bool Register(const char *name, const char *const *inputs, const char *const *outputs,
                    const char *attribute, void *(*create)(TF_OpKernelConstruction *),
                    void (*compute)(void *, TF_OpKernelContext *)) {
  TF_Status *status = TF_NewStatus();
  TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(name);
  for (; *inputs; inputs++) TF_OpDefinitionBuilderAddInput(op, *inputs);
  for (; *outputs; outputs++) TF_OpDefinitionBuilderAddOutput(op, *outputs);
  if (attribute) TF_OpDefinitionBuilderAddAttr(op, attribute);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShapes);
  TF_RegisterOpDefinition(op, status);
  bool ok = TF_GetCode(status) == TF_OK;
  if (ok) {
    TF_KernelBuilder *kernel = TF_NewKernelBuilder(name, "CPU", create, compute, free);
    TF_RegisterKernelBuilder(name, kernel, status);
    ok = TF_GetCode(status) == TF_OK;
  }
  if (!ok) fprintf(stderr, "ner-launch: cannot register %s: %s\n", name, TF_Message(status));
  TF_DeleteStatus(status);
  return ok;
}

static void *CreateNothing(TF_OpKernelConstruction *construction) {
  (void)construction;
  return NULL;
}

__attribute__((constructor)) static void RegisterFusedOps(void) {
  const char *threads = getenv("TF_NUM_INTRAOP_THREADS");
  g_threads = threads && atoi(threads) > 0 ? atoi(threads) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (g_threads < 1) g_threads = 1;
  static const char *const kLayerNormIn[] = {"x: float", "gamma: float", "beta: float", NULL};
  static const char *const kLayerNormOut[] = {"y: float", "mean: float", "inv_std: float", NULL};
  static const char *const kLayerNormGradIn[] = {"dy: float", "x: float", "mean: float",
                                                 "inv_std: float", "gamma: float", NULL};
  static const char *const kLayerNormGradOut[] = {"dx: float", "dgamma: float", "dbeta: float",
                                                  NULL};
  static const char *const kGeluIn[] = {"x: float", NULL};
  static const char *const kGeluOut[] = {"y: float", NULL};
  static const char *const kGeluGradIn[] = {"dy: float", "x: float", NULL};
  static const char *const kGeluGradOut[] = {"dx: float", NULL};
  static const char *const kDropoutIn[] = {"x: float", "seed: int32", NULL};
  static const char *const kDropoutOut[] = {"y: float", NULL};
  static const char *const kAdamWIn[] = {"param: float", "grad: float", "m: float", "v: float",
                                         "constants: float", NULL};
  static const char *const kAdamWOut[] = {"param_out: float", "m_out: float", "v_out: float",
                                          NULL};
  Register("NerLayerNorm", kLayerNormIn, kLayerNormOut, "epsilon: float", CreateLayerNorm,
               ComputeLayerNorm) &&
      Register("NerLayerNormGrad", kLayerNormGradIn, kLayerNormGradOut, NULL, CreateNothing,
               ComputeLayerNormGrad) &&
      Register("NerGelu", kGeluIn, kGeluOut, NULL, CreateNothing, ComputeGelu) &&
      Register("NerGeluGrad", kGeluGradIn, kGeluGradOut, NULL, CreateNothing, ComputeGeluGrad) &&
      Register("NerDropout", kDropoutIn, kDropoutOut, "rate: float", CreateDropout,
               ComputeDropout) &&
      Register("NerAdamW", kAdamWIn, kAdamWOut, NULL, CreateNothing, ComputeAdamW);
  /* A failure was printed; the loader's probe finds the ops missing and keeps tfjs's own. */
}
