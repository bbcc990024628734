/**
 * Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (L2): the total norm is the
 * norm of the per-tensor norms, and every gradient is multiplied by min(1, max_norm / (total +
 * 1e-6)) in place. Works on host gradients, after the all-reduce, like torch after backward.
 */

/** Clips `gradients` in place; returns the total norm before clipping. */
export function clipGradNorm(gradients: Iterable<Float32Array>, maxNorm: number): number {
  const list = [...gradients];
  let sumOfSquares = 0;
  for (const grad of list) {
    let tensorSum = 0;
    for (let i = 0; i < grad.length; i++) tensorSum += grad[i]! * grad[i]!;
    // torch computes each tensor's norm in float32 before combining them.
    const norm = Math.fround(Math.sqrt(tensorSum));
    sumOfSquares += norm * norm;
  }
  const total = Math.fround(Math.sqrt(sumOfSquares));
  const coefficient = Math.fround(Math.min(1, maxNorm / (total + 1e-6)));
  if (coefficient !== 1)
    for (const grad of list) for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * coefficient;
  return total;
}
