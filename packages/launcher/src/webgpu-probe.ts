/**
 * Child-process entry for `ner-launch env`: prints whether a WebGPU adapter is found. Run in
 * its own process because Dawn may hang or abort on a broken driver; the parent times it out.
 */
import { probeWebgpuAdapter } from '@ner-launch/trainer';

const found = await probeWebgpuAdapter().catch(() => false);
process.stdout.write(`${found}\n`);
process.exit(0);
