/**
 * Which tfjs backends the backend-conformance tests run on: wasm always; tensorflow where it is
 * set up (`ner-launch setup tensorflow`). Without it those cases skip with a reason, except
 * when `NER_REQUIRE_TENSORFLOW=1` (CI provisions it), where a missing backend fails.
 */
import { installedTensorflowPackage } from '../../packages/trainer/src/backend.js';
import type { ConcreteBackend } from '../../packages/trainer/src/backends/profile.js';

/** For `describe(name, { skip: skipWithoutTensorflow() }, ...)`: a skip reason, or false. */
export function skipWithoutTensorflow(): string | false {
  if (installedTensorflowPackage()) return false;
  if (process.env.NER_REQUIRE_TENSORFLOW === '1')
    throw new Error(
      'NER_REQUIRE_TENSORFLOW=1 but the tensorflow backend is not set up (run `ner-launch setup tensorflow`)',
    );
  return 'the tensorflow backend is not set up (`ner-launch setup tensorflow`)';
}

/** The backends every conformance case runs on, each with its skip reason (false: runs). */
export const CONFORMANCE_BACKENDS: ReadonlyArray<{
  backend: ConcreteBackend;
  skip: string | false;
}> = [
  { backend: 'wasm', skip: false },
  { backend: 'tensorflow', skip: skipWithoutTensorflow() },
];
