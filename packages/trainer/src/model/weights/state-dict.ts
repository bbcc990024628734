/**
 * A checkpoint's tensors by HF parameter name, held in host memory (outside the tfjs heap):
 * what weight readers return, what the model is built from and what savers write.
 */

/** Element type as stored in the file; readers convert float16/bfloat16 to float32 on load. */
export type StoredDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32';

/** One tensor, row-major, always float32 in memory. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameter name (HF spelling, e.g. `bert.encoder.layer.0.attention.self.query.weight`) to tensor. */
export type StateDict = Map<string, HostTensor>;
