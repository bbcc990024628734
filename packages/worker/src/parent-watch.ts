/**
 * Workers die with their launcher. Linux's PR_SET_PDEATHSIG is out of Node's reach, so a
 * worker polls its parent pid: when the launcher is gone (killed with SIGKILL, which it
 * cannot forward), the worker is re-parented, and it stops its whole process group (itself
 * and whatever it started) with SIGTERM, then SIGKILL after a grace period. Every target gets
 * this, the built-in trainer (main.ts) and scripts (a preload, parent-watch-preload.ts).
 */

/** How often the parent pid is checked. */
export const PARENT_POLL_MS = 1_000;
/** Time between SIGTERM and SIGKILL once the launcher is gone. */
export const PARENT_GONE_GRACE_MS = 5_000;

let watching = false;

/**
 * Starts watching the current parent (once per process); the timer never keeps the process
 * alive on its own.
 */
export function exitWithParent(
  pollMs: number = PARENT_POLL_MS,
  graceMs: number = PARENT_GONE_GRACE_MS,
): void {
  if (watching) return;
  watching = true;
  const launcher = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    try {
      // The launcher's pipe may be gone too: a failed write must not stop the teardown.
      process.stderr.write(
        `ner-launch worker (pid ${process.pid}): the launcher (pid ${launcher}) is gone; stopping this worker and its children\n`,
      );
    } catch {
      // nowhere to report to
    }
    // Each worker leads its own process group (the launcher starts it detached); should it
    // not, only the worker itself is signalled.
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-process.pid, name);
      } catch {
        process.kill(process.pid, name);
      }
    };
    setTimeout(() => signal('SIGKILL'), graceMs);
    signal('SIGTERM');
  }, pollMs);
  timer.unref();
}
