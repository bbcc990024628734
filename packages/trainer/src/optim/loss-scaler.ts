/**
 * Dynamic loss scaling for fp16, as torch.amp.GradScaler (which Accelerate uses) does it: the
 * loss is multiplied by `scale` before backprop so small gradients survive fp16; gradients are
 * divided by it before the optimizer; a step whose gradients hold inf/NaN is skipped and the
 * scale backs off, and after `growthInterval` good steps in a row the scale grows.
 */
import { log } from '@ner-launch/common';

/** GradScaler's knobs (torch defaults). */
export interface LossScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** Off: scale stays 1 and nothing is ever skipped (fp32 and bf16). */
  enabled?: boolean;
}

/** What a checkpoint keeps (torch's GradScaler.state_dict, in camelCase). */
export interface LossScalerState {
  scale: number;
  growthTracker: number;
  skippedSteps: number;
}

/** Result of unscaling one step's gradients. */
export interface UnscaleResult {
  /** True when any gradient held inf or NaN: the optimizer step must be skipped. */
  foundInf: boolean;
}

/** torch.amp.GradScaler over host Float32Array gradients. */
export class LossScaler {
  readonly enabled: boolean;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  private currentScale: number;
  private growthTracker = 0;
  private skipped = 0;

  constructor(options: LossScalerOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.currentScale = this.enabled ? (options.initScale ?? 2 ** 16) : 1;
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    if (!(this.currentScale > 0) || !Number.isFinite(this.currentScale))
      throw new RangeError(
        `loss scaler: initScale must be a positive finite number, got ${options.initScale}`,
      );
    if (!(this.growthFactor > 1))
      throw new RangeError(`loss scaler: growthFactor must be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1))
      throw new RangeError(
        `loss scaler: backoffFactor must be in (0, 1), got ${this.backoffFactor}`,
      );
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1)
      throw new RangeError(
        `loss scaler: growthInterval must be a positive integer, got ${this.growthInterval}`,
      );
  }

  /** The factor to multiply the loss by before backprop. */
  get scale(): number {
    return this.currentScale;
  }

  /** Steps skipped so far because of inf/NaN gradients. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /**
   * Divides every gradient by the scale in place and reports inf/NaN. Call it after the
   * all-reduce, so every rank sees the same values and takes the same decision.
   */
  unscale(gradients: Iterable<Float32Array>): UnscaleResult {
    let foundInf = false;
    const inv = 1 / this.currentScale;
    for (const g of gradients) {
      for (let i = 0; i < g.length; i++) {
        const v = g[i] * inv;
        if (!Number.isFinite(v)) foundInf = true;
        g[i] = v;
      }
    }
    return { foundInf };
  }

  /**
   * Ends the step: backs off (and counts a skipped step, logged) after inf/NaN, otherwise
   * grows the scale after `growthInterval` good steps in a row. Returns true when the
   * optimizer step must be skipped.
   */
  update(foundInf: boolean, step?: number): boolean {
    if (!this.enabled) return foundInf;
    if (foundInf) {
      const old = this.currentScale;
      this.currentScale *= this.backoffFactor;
      this.growthTracker = 0;
      this.skipped++;
      log.warn(
        { step, scale: old, newScale: this.currentScale, skippedSteps: this.skipped },
        `fp16 gradients overflowed (inf/NaN): optimizer step skipped, loss scale ${old} -> ${this.currentScale}`,
      );
      return true;
    }
    this.growthTracker++;
    if (this.growthTracker === this.growthInterval) {
      this.currentScale *= this.growthFactor;
      this.growthTracker = 0;
    }
    return false;
  }

  /** State for a checkpoint. */
  state(): LossScalerState {
    return {
      scale: this.currentScale,
      growthTracker: this.growthTracker,
      skippedSteps: this.skipped,
    };
  }

  /** Restores `state()` output (resume from a checkpoint). */
  load(state: LossScalerState): void {
    if (!(state.scale > 0) || !Number.isFinite(state.scale))
      throw new RangeError(
        `loss scaler state: scale must be a positive finite number, got ${state.scale}`,
      );
    this.currentScale = state.scale;
    this.growthTracker = state.growthTracker;
    this.skipped = state.skippedSteps;
  }
}
