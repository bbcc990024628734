/**
 * Progress of the training and evaluation loops: a cli-progress bar on a terminal (the
 * reference's tqdm bars), plain periodic lines when stderr is a pipe or a file (CI logs, the
 * launcher's `[rank N]` prefixing), where a redrawn bar would be noise. Only the main
 * process shows progress; other ranks get a silent one.
 */
import cliProgress from 'cli-progress';

/** A running progress display. */
export interface Progress {
  /** Sets the number of items done and optional fields shown beside the count (e.g. loss). */
  update(done: number, fields?: Record<string, string | number>): void;
  /** Ends the display (prints the final line on a pipe). */
  stop(): void;
}

/** How to show progress. */
export interface ProgressOptions {
  /** Loop name, e.g. `Epoch 1/10` or `Validation`. */
  label: string;
  total: number;
  /** false: a no-op progress (non-main ranks, --quiet). Default true. */
  enabled?: boolean;
  /** Where to draw; default process.stderr. Its `isTTY` picks bar or lines. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Plain mode: at most one line per this many ms besides the first and last. Default 10 s. */
  intervalMs?: number;
  /** Plain mode: also one line every this many items. Default: a tenth of the total. */
  everyItems?: number;
  /** Clock (tests). */
  now?: () => number;
}

function formatFields(fields: Record<string, string | number> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(' | ');
}

/** Creates a progress display for a loop of `total` items. */
export function createProgress(options: ProgressOptions): Progress {
  if (options.enabled === false || options.total <= 0)
    return { update: () => undefined, stop: () => undefined };
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) return barProgress(options, stream);
  return lineProgress(options, stream);
}

function barProgress(options: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} |{bar}| {value}/{total} {percentage}% | ETA {eta_formatted} {fields}`,
      stream: stream as NodeJS.WriteStream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, 0, { fields: '' });
  return {
    update: (done, fields) => bar.update(done, { fields: formatFields(fields) }),
    stop: () => bar.stop(),
  };
}

function lineProgress(options: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 10_000;
  const every = options.everyItems ?? Math.max(1, Math.ceil(options.total / 10));
  const started = now();
  let lastTime = started;
  let lastDone = 0;
  let printed = -1;
  let lastFields: Record<string, string | number> | undefined;
  const print = (done: number): void => {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const extra = formatFields(lastFields);
    stream.write(
      `${options.label}: ${done}/${options.total} (${Math.floor((100 * done) / options.total)}%) ${elapsed.toFixed(1)}s, ${rate.toFixed(2)} it/s${extra ? ` | ${extra}` : ''}\n`,
    );
    printed = done;
    lastTime = now();
  };
  return {
    update: (done, fields) => {
      lastFields = fields ?? lastFields;
      lastDone = done;
      const crossed = Math.floor(done / every) > Math.floor(Math.max(printed, 0) / every);
      if (printed < 0 || crossed || now() - lastTime >= interval || done === options.total)
        if (done !== printed) print(done);
    },
    stop: () => {
      if (lastDone !== printed) print(lastDone);
    },
  };
}
