/**
 * The one logger of every ner-launch process: readable lines on a terminal, JSON lines when
 * stderr is piped (log collectors, the launcher's `[rank N]` prefixing). Everything goes to
 * stderr so stdout stays free for command output (`--json`, predictions).
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

const require = createRequire(import.meta.url);

function prettyStream(): NodeJS.WritableStream | undefined {
  // NER_LOG_FORMAT: the launcher asks its workers (whose stderr is a pipe to it) for readable
  // lines when its own terminal is a TTY.
  const format = process.env.NER_LOG_FORMAT;
  if (format === 'json') return undefined;
  if (format !== 'pretty' && !process.stderr.isTTY) return undefined;
  try {
    const pretty = require('pino-pretty') as (options: object) => NodeJS.WritableStream;
    return pretty({
      destination: 2,
      ignore: 'pid,hostname',
      translateTime: 'HH:MM:ss',
      sync: true,
    });
  } catch {
    return undefined;
  }
}

/** Creates the process logger; `NER_LOG_LEVEL` (default info) sets the level. */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.NER_LOG_LEVEL ?? 'info';
  const stream = prettyStream() ?? pino.destination({ fd: 2, sync: true });
  return pino({ level, base: bindings }, stream);
}

/** Shared process-wide logger; modules take a `Logger` argument where tests need to inject one. */
export const log: Logger = createLogger();
