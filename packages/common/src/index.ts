/** Public surface of @ner-launch/common: utilities every other package may use. */
export {
  debugErrors,
  errorReport,
  OperationalError,
  UsageError,
  type ErrorReport,
} from './errors.js';
export { createLogger, log, type Logger } from './logger.js';
export { writeFileAtomic, withAtomicFile, writeDirectoryAtomic } from './atomic-write.js';
export { makeDirectories, makeDirectoriesSync } from './make-directories.js';
export { mulberry32, SeededRandom, type SeededRandomState } from './seeded-random.js';
export { formatBytes } from './format-bytes.js';
export type { JsonValue } from './json-value.js';
