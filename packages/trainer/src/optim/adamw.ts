/**
 * AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias correction, eps outside
 * the square root), on host Float32Arrays: the moments never enter the tfjs heap (issue 7), and
 * parameters are rewritten one at a time through `ParameterAccess.update`, in place on wasm.
 * Param groups carry their own lr and weight decay; parameters in no group (frozen) and
 * parameters without a gradient are left alone, as torch does.
 */

/** One torch-style param group. `lr` is mutable so a schedule can set it each step. */
export interface AdamWGroup {
  name?: string;
  params: string[];
  lr: number;
  weightDecay: number;
}

/** Hyper-parameters shared by all groups (torch defaults). */
export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
}

/** Per-parameter state (torch's `state[p]`). */
export interface AdamWState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

/** What the optimizer needs from the model: element counts and a way to rewrite values. */
export interface ParameterAccess {
  size(name: string): number;
  update(name: string, update: (values: Float32Array) => void): void;
}

/** Param groups (copied; a parameter in two groups is refused) and torch's default betas and eps. */
export function adamwSettings(
  groups: readonly AdamWGroup[],
  options: AdamWOptions,
): { groups: AdamWGroup[]; beta1: number; beta2: number; eps: number } {
  const seen = new Set<string>();
  for (const group of groups)
    for (const name of group.params) {
      if (seen.has(name)) throw new Error(`AdamW: parameter ${name} appears in two param groups`);
      seen.add(name);
    }
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  return {
    groups: groups.map((group) => ({ ...group, params: [...group.params] })),
    beta1,
    beta2,
    eps: options.eps ?? 1e-8,
  };
}

/** torch.optim.AdamW over named host gradients. */
export class AdamW {
  readonly groups: AdamWGroup[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly state = new Map<string, AdamWState>();

  constructor(groups: AdamWGroup[], options: AdamWOptions = {}) {
    ({
      groups: this.groups,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
    } = adamwSettings(groups, options));
  }

  /** The state of one parameter, if it has been stepped. */
  stateOf(name: string): AdamWState | undefined {
    return this.state.get(name);
  }

  /** Restores saved state (e.g. when resuming). */
  setState(name: string, state: AdamWState): void {
    this.state.set(name, state);
  }

  /** One optimizer step with `gradients` (already all-reduced and clipped). */
  step(gradients: ReadonlyMap<string, Float32Array>, params: ParameterAccess): void {
    for (const group of this.groups) {
      for (const name of group.params) {
        const grad = gradients.get(name);
        if (!grad) continue;
        const size = params.size(name);
        if (grad.length !== size)
          throw new Error(
            `AdamW: gradient for ${name} has ${grad.length} elements, the parameter ${size}`,
          );
        let state = this.state.get(name);
        if (!state) {
          state = { step: 0, expAvg: new Float32Array(size), expAvgSq: new Float32Array(size) };
          this.state.set(name, state);
        }
        const current = state;
        current.step += 1;
        params.update(name, (values) =>
          adamwUpdate(
            values,
            grad,
            current,
            group.lr,
            group.weightDecay,
            this.beta1,
            this.beta2,
            this.eps,
          ),
        );
      }
    }
  }
}

/**
 * torch's `_single_tensor_adamw` for one tensor: param *= 1 - lr·wd; m = lerp(m, g, 1-β1);
 * v = β2·v + (1-β2)·g²; param -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps).
 * Scalars are rounded to float32 as torch applies them to float32 tensors.
 */
export function adamwUpdate(
  values: Float32Array,
  grad: Float32Array,
  state: AdamWState,
  lr: number,
  weightDecay: number,
  beta1: number,
  beta2: number,
  eps: number,
): void {
  const f = Math.fround;
  const decay = f(1 - lr * weightDecay);
  const oneMinusBeta1 = f(1 - beta1);
  const beta2f = f(beta2);
  const oneMinusBeta2 = f(1 - beta2);
  const stepSize = lr / (1 - beta1 ** state.step);
  const correction2Sqrt = Math.sqrt(1 - beta2 ** state.step);
  const { expAvg, expAvgSq } = state;
  const epsf = f(eps);
  const negStep = f(-stepSize);
  const invCorrection = f(correction2Sqrt);
  for (let i = 0; i < values.length; i++) {
    const g = grad[i]!;
    const p = f(values[i]! * decay);
    const m = f(expAvg[i]! + f(oneMinusBeta1 * f(g - expAvg[i]!)));
    const v = f(f(expAvgSq[i]! * beta2f) + f(oneMinusBeta2 * f(g * g)));
    expAvg[i] = m;
    expAvgSq[i] = v;
    const denom = f(f(Math.sqrt(v) / invCorrection) + epsf);
    values[i] = p + f(negStep * f(m / denom));
  }
}
