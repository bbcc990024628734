/** Public surface of @ner-launch/worker. */
export { createLogger, log, type Logger } from './logger.js';
