/**
 * Which parameters train, at which learning rate and weight decay, decided from HF
 * parameter NAMES only (`bert.embeddings.word_embeddings.weight`, `bert.encoder.layer.3.…`,
 * `classifier.weight`), so the plan is testable without building a model:
 * - freeze_layers N>0: `bert.embeddings.*` and `bert.encoder.layer.0..N-1.*` frozen; -1: the
 *   embeddings only (the reference's `freeze_bert_layers`). Frozen parameters get no group:
 *   no update, no optimizer state, no all-reduce.
 * - double_lr: everything but the classifier at lr/10, the classifier at lr (the reference's
 *   two torch param groups).
 * - wd_exclude_bias_layernorm: biases and LayerNorm parameters without weight decay, as HF
 *   Trainer's `get_decay_parameter_names` (the reference decays everything).
 */
import { UsageError } from '@ner-launch/common';

/** One optimizer param group (torch's `{"params": ..., "lr": ..., "weight_decay": ...}`). */
export interface ParamGroup {
  /** For logs: `bert`, `classifier`, `all`, with `/no_decay` when split. */
  name: string;
  /** Base learning rate (the schedule multiplies it). */
  lr: number;
  weightDecay: number;
  params: string[];
}

/** The whole plan: trainable groups and the frozen names. */
export interface ParamPlan {
  groups: ParamGroup[];
  frozen: string[];
}

/** The options the plan depends on (a subset of TrainOptions). */
export interface ParamGroupOptions {
  learning_rate: number;
  wd: number;
  double_lr: boolean;
  freeze_layers: number;
  wd_exclude_bias_layernorm: boolean;
}

const LAYER = /^bert\.encoder\.layer\.(\d+)\./;

/** Encoder layer count seen in the names (highest `bert.encoder.layer.N` + 1). */
export function encoderLayerCount(names: readonly string[]): number {
  let count = 0;
  for (const name of names) {
    const match = LAYER.exec(name);
    if (match) count = Math.max(count, Number(match[1]) + 1);
  }
  return count;
}

/** Whether `freeze_layers` freezes this parameter. */
export function isFrozen(name: string, freezeLayers: number): boolean {
  if (freezeLayers === 0) return false;
  if (name.startsWith('bert.embeddings.')) return true;
  if (freezeLayers < 0) return false;
  const match = LAYER.exec(name);
  return match !== null && Number(match[1]) < freezeLayers;
}

/** HF Trainer's rule: no decay for biases and LayerNorm parameters. */
export function isNoDecay(name: string): boolean {
  return /(^|\.)bias$/.test(name) || /layer_?norm/i.test(name);
}

/** Plans param groups for the given parameter names. */
export function planParamGroups(names: readonly string[], options: ParamGroupOptions): ParamPlan {
  const layers = encoderLayerCount(names);
  if (options.freeze_layers > layers)
    throw new UsageError(
      `--freeze_layers ${options.freeze_layers}: the model has only ${layers} encoder layers`,
      { flag: 'freeze_layers' },
    );
  const frozen: string[] = [];
  const buckets = new Map<string, ParamGroup>();
  for (const name of names) {
    if (isFrozen(name, options.freeze_layers)) {
      frozen.push(name);
      continue;
    }
    const isHead = name.startsWith('classifier.');
    const part = options.double_lr ? (isHead ? 'classifier' : 'bert') : 'all';
    const noDecay = options.wd_exclude_bias_layernorm && isNoDecay(name);
    const key = noDecay ? `${part}/no_decay` : part;
    let group = buckets.get(key);
    if (!group) {
      group = {
        name: key,
        lr: part === 'bert' ? options.learning_rate / 10 : options.learning_rate,
        weightDecay: noDecay ? 0 : options.wd,
        params: [],
      };
      buckets.set(key, group);
    }
    group.params.push(name);
  }
  return { groups: [...buckets.values()], frozen };
}
