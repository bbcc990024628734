/** Public surface of @ner-launch/worker. */
export { createLogger, log, type Logger } from './logger.js';
export { writeFileAtomic, withAtomicFile, writeDirectoryAtomic } from './atomic-write.js';
