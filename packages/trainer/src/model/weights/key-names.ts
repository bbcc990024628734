/**
 * Checkpoint key normalisation to BertForTokenClassification's names, as HF does on load:
 * TF-era `LayerNorm.gamma/beta` become `weight/bias`, a bare BertModel's keys get the `bert.`
 * prefix, and whatever the token classifier does not use (BertForPreTraining's `cls.*`
 * heads, obsolete buffers) is set aside and reported.
 */
import { OperationalError } from '@ner-launch/common';
import type { StateDict } from './state-dict.js';

/** Top-level submodules of BertModel, whose keys lack `bert.` in a bare BertModel checkpoint. */
const BASE_MODEL_ROOTS = ['embeddings.', 'encoder.', 'pooler.'];

/** Buffers older checkpoints saved that the model recomputes; HF drops them silently. */
const IGNORED_BUFFERS = /(^|\.)(position_ids|token_type_ids)$/;

/** Result of normalising a checkpoint's names. */
export interface NormalisedKeys {
  /** Tensors under BertForTokenClassification names. */
  stateDict: StateDict;
  /** Original name → normalised name, for every key that was renamed. */
  renamed: Map<string, string>;
  /** Buffers dropped without warning (position_ids, token_type_ids). */
  ignoredBuffers: string[];
}

/** The HF name for one checkpoint key, given whether the checkpoint lacks the `bert.` prefix. */
export function normaliseKey(key: string, addPrefix: boolean): string {
  let name = key
    .replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight')
    .replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
  if (addPrefix && BASE_MODEL_ROOTS.some((root) => name.startsWith(root))) name = `bert.${name}`;
  return name;
}

/**
 * Renames a checkpoint's tensors to BertForTokenClassification names. `file` is for the
 * error raised when two keys collapse onto one name (e.g. both `gamma` and `weight`).
 */
export function normaliseKeys(source: StateDict, file: string): NormalisedKeys {
  // Like HF: the prefix is added only when no key carries it (a bare BertModel checkpoint).
  const addPrefix = ![...source.keys()].some((key) => key.startsWith('bert.'));
  const stateDict: StateDict = new Map();
  const renamed = new Map<string, string>();
  const ignoredBuffers: string[] = [];
  const origin = new Map<string, string>();
  for (const [key, tensor] of source) {
    if (IGNORED_BUFFERS.test(key)) {
      ignoredBuffers.push(key);
      continue;
    }
    const name = normaliseKey(key, addPrefix);
    const previous = origin.get(name);
    if (previous !== undefined)
      throw new OperationalError(`${file}: keys "${previous}" and "${key}" both map to "${name}"`);
    origin.set(name, key);
    if (name !== key) renamed.set(key, name);
    stateDict.set(name, tensor);
  }
  return { stateDict, renamed, ignoredBuffers };
}
