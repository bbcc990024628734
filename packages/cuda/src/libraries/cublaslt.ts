/**
 * cuBLASLt bindings (koffi) and the one matmul the layers call: column-major GEMM
 * D = alpha op(A) op(B) + beta C (C = D), optional bias epilogue, optional strided batch. Row-major
 * callers swap operands (see engine/linear.ts). Descriptors and the heuristic's algorithm are
 * cached per shape. Enum values from cublasLt.h / library_types.h (../shared/docs/CUDA.md).
 */
import type { DevicePtr } from './driver.js';
import type { CudaDiscovery } from './discovery.js';
import {
  bindFunction,
  type NativeFunction,
  CudaLibraryError,
  loadLibrary,
} from './load-library.js';

/** Element types the engine multiplies. */
export type MatrixType = 'f32' | 'bf16' | 'f16';

const CUDA_TYPE: Record<MatrixType, number> = { f32: 0, f16: 2, bf16: 14 };
const CUBLAS_COMPUTE_32F = 68;
const CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
const CUDA_R_32F = 0;
const DESC_TRANSA = 3;
const DESC_TRANSB = 4;
const DESC_EPILOGUE = 7;
const DESC_BIAS_POINTER = 8;
const EPILOGUE_DEFAULT = 1;
const EPILOGUE_BIAS = 4;
const LAYOUT_BATCH_COUNT = 5;
const LAYOUT_STRIDED_BATCH_OFFSET = 6;
const PREF_MAX_WORKSPACE_BYTES = 1;
const HEURISTIC_RESULT_BYTES = 96;

/** One GEMM's shape (column-major, cuBLAS conventions). */
export interface MatmulShape {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  lda: number;
  ldb: number;
  ldc: number;
  aType: MatrixType;
  bType: MatrixType;
  cType: MatrixType;
  /** Adds a bias of length m to every column of D (CUBLASLT_EPILOGUE_BIAS). */
  bias?: boolean;
  batch?: { count: number; strideA: number; strideB: number; strideC: number };
}

interface Plan {
  desc: unknown;
  layouts: [unknown, unknown, unknown];
  algo: Uint8Array;
}

/** The loaded library and a handle. */
export class CublasLt {
  private readonly fns: Record<string, NativeFunction> = {};
  private readonly handle: unknown;
  private readonly plans = new Map<string, Plan>();
  private readonly alpha = new Float32Array(1);
  private readonly beta = new Float32Array(1);

  /** `tf32`: fp32 GEMMs may use TF32 tensor cores (torch's allow_tf32); off by default. */
  constructor(
    discovery: CudaDiscovery,
    private readonly workspace: DevicePtr,
    private readonly workspaceBytes: number,
    private readonly stream: unknown,
    private readonly tf32 = false,
  ) {
    const found = discovery.libraries.cublasLt;
    if (!found)
      throw new CudaLibraryError(
        `cuBLASLt not found: looked for libcublasLt.so.13|12 in ${discovery.searched.join(':')}`,
      );
    const lib = loadLibrary(found.path, 'cuBLASLt');
    const prototypes: Record<string, string> = {
      create: 'int cublasLtCreate(_Out_ void **handle)',
      destroy: 'int cublasLtDestroy(void *handle)',
      descCreate: 'int cublasLtMatmulDescCreate(_Out_ void **desc, int computeType, int scaleType)',
      descDestroy: 'int cublasLtMatmulDescDestroy(void *desc)',
      descSet:
        'int cublasLtMatmulDescSetAttribute(void *desc, int attr, const void *buf, size_t size)',
      layoutCreate:
        'int cublasLtMatrixLayoutCreate(_Out_ void **layout, int type, uint64_t rows, uint64_t cols, int64_t ld)',
      layoutDestroy: 'int cublasLtMatrixLayoutDestroy(void *layout)',
      layoutSet:
        'int cublasLtMatrixLayoutSetAttribute(void *layout, int attr, const void *buf, size_t size)',
      prefCreate: 'int cublasLtMatmulPreferenceCreate(_Out_ void **pref)',
      prefDestroy: 'int cublasLtMatmulPreferenceDestroy(void *pref)',
      prefSet:
        'int cublasLtMatmulPreferenceSetAttribute(void *pref, int attr, const void *buf, size_t size)',
      heuristic:
        'int cublasLtMatmulAlgoGetHeuristic(void *handle, void *desc, void *a, void *b, void *c, void *d, void *pref, int requested, _Out_ uint8_t *results, _Out_ int *count)',
      matmul:
        'int cublasLtMatmul(void *handle, void *desc, const float *alpha, uint64_t A, void *Adesc, uint64_t B, void *Bdesc, const float *beta, uint64_t C, void *Cdesc, uint64_t D, void *Ddesc, const uint8_t *algo, uint64_t workspace, size_t workspaceBytes, void *stream)',
    };
    for (const [key, prototype] of Object.entries(prototypes))
      this.fns[key] = bindFunction(lib, found.path, prototype);
    const out: unknown[] = [null];
    this.check(this.fns.create!(out), 'cublasLtCreate');
    this.handle = out[0];
  }

  private check(code: unknown, call: string): void {
    if (code !== 0) throw new Error(`${call} failed with cublasStatus ${String(code)}`);
  }

  private plan(shape: MatmulShape): Plan {
    const key = JSON.stringify(shape);
    const cached = this.plans.get(key);
    if (cached) return cached;
    const f = this.fns;
    const out: unknown[] = [null];
    const compute =
      shape.aType === 'f32' && this.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    this.check(f.descCreate!(out, compute, CUDA_R_32F), 'cublasLtMatmulDescCreate');
    const desc = out[0];
    const int32 = (value: number) => new Int32Array([value]);
    this.check(f.descSet!(desc, DESC_TRANSA, int32(shape.transA ? 1 : 0), 4), 'set TRANSA');
    this.check(f.descSet!(desc, DESC_TRANSB, int32(shape.transB ? 1 : 0), 4), 'set TRANSB');
    this.check(
      f.descSet!(desc, DESC_EPILOGUE, int32(shape.bias ? EPILOGUE_BIAS : EPILOGUE_DEFAULT), 4),
      'set EPILOGUE',
    );
    const layout = (type: MatrixType, rows: number, cols: number, ld: number, stride: number) => {
      const o: unknown[] = [null];
      this.check(f.layoutCreate!(o, CUDA_TYPE[type], rows, cols, ld), 'cublasLtMatrixLayoutCreate');
      if (shape.batch) {
        this.check(
          f.layoutSet!(o[0], LAYOUT_BATCH_COUNT, int32(shape.batch.count), 4),
          'set BATCH_COUNT',
        );
        this.check(
          f.layoutSet!(o[0], LAYOUT_STRIDED_BATCH_OFFSET, new BigInt64Array([BigInt(stride)]), 8),
          'set STRIDED_BATCH_OFFSET',
        );
      }
      return o[0];
    };
    const { m, n, k, batch } = shape;
    const a = shape.transA
      ? layout(shape.aType, k, m, shape.lda, batch?.strideA ?? 0)
      : layout(shape.aType, m, k, shape.lda, batch?.strideA ?? 0);
    const b = shape.transB
      ? layout(shape.bType, n, k, shape.ldb, batch?.strideB ?? 0)
      : layout(shape.bType, k, n, shape.ldb, batch?.strideB ?? 0);
    const c = layout(shape.cType, m, n, shape.ldc, batch?.strideC ?? 0);
    this.check(f.prefCreate!(out), 'cublasLtMatmulPreferenceCreate');
    const pref = out[0];
    this.check(
      f.prefSet!(
        pref,
        PREF_MAX_WORKSPACE_BYTES,
        new BigUint64Array([BigInt(this.workspaceBytes)]),
        8,
      ),
      'set MAX_WORKSPACE_BYTES',
    );
    const algo = new Uint8Array(HEURISTIC_RESULT_BYTES);
    const count = [0];
    this.check(
      f.heuristic!(this.handle, desc, a, b, c, c, pref, 1, algo, count),
      'cublasLtMatmulAlgoGetHeuristic',
    );
    f.prefDestroy!(pref);
    if (count[0] === 0) throw new Error(`cuBLASLt has no algorithm for ${key}`);
    const plan: Plan = { desc, layouts: [a, b, c], algo };
    this.plans.set(key, plan);
    return plan;
  }

  /** D = alpha op(A) op(B) + beta D (+ bias), on the engine's stream. */
  matmul(
    shape: MatmulShape,
    a: DevicePtr,
    b: DevicePtr,
    d: DevicePtr,
    alpha: number,
    beta: number,
    bias?: DevicePtr,
  ): void {
    const plan = this.plan(shape);
    if (shape.bias)
      this.check(
        this.fns.descSet!(plan.desc, DESC_BIAS_POINTER, new BigUint64Array([bias ?? 0n]), 8),
        'set BIAS_POINTER',
      );
    this.alpha[0] = alpha;
    this.beta[0] = beta;
    const [la, lb, lc] = plan.layouts;
    this.check(
      this.fns.matmul!(
        this.handle,
        plan.desc,
        this.alpha,
        a,
        la,
        b,
        lb,
        this.beta,
        d,
        lc,
        d,
        lc,
        plan.algo,
        this.workspace,
        this.workspaceBytes,
        this.stream,
      ),
      'cublasLtMatmul',
    );
  }

  /** Destroys the cached descriptors and the handle. */
  dispose(): void {
    for (const plan of this.plans.values()) {
      this.fns.descDestroy!(plan.desc);
      for (const layout of plan.layouts) this.fns.layoutDestroy!(layout);
    }
    this.plans.clear();
    this.fns.destroy!(this.handle);
  }
}
