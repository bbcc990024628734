/**
 * The `tensorflow` backend for tests: available once `ner-launch setup tensorflow` has built
 * it into the cache. Tests that need it skip with a reason otherwise, except when
 * `NER_REQUIRE_TENSORFLOW=1` (CI, which runs the setup first), where its absence fails them.
 */
import { findTensorflowInstall, tensorflowCacheDir } from '@ner-launch/trainer/tensorflow-install';

/** Whether the backend is set up here, and why not. */
export function tensorflowAvailable(): { ok: true } | { ok: false; reason: string } {
  if (findTensorflowInstall()) return { ok: true };
  return {
    ok: false,
    reason: `tensorflow backend not set up in ${tensorflowCacheDir()} (run: ner-launch setup tensorflow)`,
  };
}

/** For `test(name, { skip: skipWithoutTensorflow() }, ...)`: a skip reason, or false. */
export function skipWithoutTensorflow(): string | false {
  const available = tensorflowAvailable();
  if (available.ok) return false;
  if (process.env.NER_REQUIRE_TENSORFLOW === '1')
    throw new Error(`NER_REQUIRE_TENSORFLOW=1 but the ${available.reason}`);
  return available.reason;
}
