/**
 * Entry script of `ner-launch test` on each worker. Kept apart from self-test.ts so that
 * bundling the CLI (where every module shares one URL) never runs the check by accident.
 */
import { log } from './logger.js';
import { runSelfTestWorker } from './self-test.js';

runSelfTestWorker().catch((error: unknown) => {
  log.error({ err: error }, (error as Error).message);
  process.exitCode = 1;
});
