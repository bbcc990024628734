/**
 * The backend names, defined once. Free of tfjs, so the launcher's flag definitions import it
 * (`@ner-launch/trainer/backend-names`) without loading the trainer. Each tfjs backend here has
 * a profile in this folder (profile.ts keys its table by `ConcreteBackend`, so a name without
 * a profile does not type-check).
 */

/** The tfjs backends the trainer runs on (resolved: never `auto`). */
export const TFJS_BACKENDS = ['wasm', 'tensorflow', 'cpu'] as const;
/** A tfjs backend the trainer runs on. */
export type ConcreteBackend = (typeof TFJS_BACKENDS)[number];

/** `--backend` values of tfjs-only commands (predict): a tfjs backend, or `auto`. */
export const BACKEND_NAMES = ['auto', ...TFJS_BACKENDS] as const;
/** A tfjs backend, or `auto`. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** `--backend` values of launch and train: the tfjs ones, or `cuda` (the CUDA engine). */
export const LAUNCH_BACKENDS = [...BACKEND_NAMES, 'cuda'] as const;
/** A launch or train `--backend` value. */
export type LaunchBackend = (typeof LAUNCH_BACKENDS)[number];

/** What `auto` resolves to: tensorflow where `ner-launch setup tensorflow` installed it, else wasm. */
export function resolveAutoBackend(tensorflowInstalled: boolean): ConcreteBackend {
  return tensorflowInstalled ? 'tensorflow' : 'wasm';
}
