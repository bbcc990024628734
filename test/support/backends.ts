/**
 * The tfjs backends every backend-conformance case runs on: wasm always; tensorflow where it is
 * set up (skipped with a reason otherwise, required in CI: see tensorflow.ts).
 */
import type { ConcreteBackend } from '@ner-launch/trainer';
import { skipWithoutTensorflow } from './tensorflow.js';

/** Each conformance backend with its skip reason (false: it runs). */
export const CONFORMANCE_BACKENDS: ReadonlyArray<{
  backend: ConcreteBackend;
  skip: string | false;
}> = [
  { backend: 'wasm', skip: false },
  { backend: 'tensorflow', skip: skipWithoutTensorflow() },
];
