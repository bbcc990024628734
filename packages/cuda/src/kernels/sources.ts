/**
 * The CUDA C kernel files and what each defines. Sources are read from this folder (or from
 * NER_LAUNCH_CUDA_KERNELS, which a bundled build sets, since a bundle has no source tree).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Kernel files (one per layer or step, STYLE.md item 13) and their entry points. */
export const KERNEL_FILES = {
  'embeddings.cu': ['embeddings_forward', 'embeddings_backward'],
  'layernorm.cu': ['residual_layernorm_forward', 'residual_layernorm_backward'],
  'activation.cu': ['activation_forward', 'activation_backward', 'bias_backward'],
  'attention.cu': [
    'attention_split_heads',
    'attention_merge_qkv_grad',
    'attention_permute_context',
    'attention_softmax_forward',
    'attention_softmax_backward',
  ],
  'classifier.cu': ['cross_entropy_forward_backward'],
  'dropout.cu': ['dropout_apply', 'dropout_mask'],
  'global_norm.cu': ['global_norm_squares', 'scale_and_check'],
  'adamw.cu': ['adamw_update'],
  'cast.cu': ['cast_to_floatx', 'cast_to_float'],
} as const;

/** A kernel file's name. */
export type KernelFile = keyof typeof KERNEL_FILES;
/** Any kernel's entry point. */
export type KernelName = (typeof KERNEL_FILES)[KernelFile][number];

/** Headers the kernel files include, handed to NVRTC by name. */
export const KERNEL_HEADERS = ['common.cuh', 'layernorm.cuh'] as const;

/** Folder the sources are read from. */
export function kernelDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NER_LAUNCH_CUDA_KERNELS ?? fileURLToPath(new URL('.', import.meta.url));
}

/** Text of one kernel file or header. */
export function readKernelSource(file: string, dir = kernelDir()): string {
  return readFileSync(join(dir, file), 'utf8');
}
