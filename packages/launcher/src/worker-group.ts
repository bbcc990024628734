/**
 * One attempt of the local worker group, supervised as torchrun does: start every worker in
 * its own process group, poll them every monitor interval, and when one fails (non-zero exit
 * or killed) SIGTERM the rest, SIGKILL them after a grace period, and report the first failure
 * as the root cause.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { RankOutput, type OutputOptions } from './worker-output.js';

/** How to start one worker. */
export interface WorkerProcessSpec {
  rank: number;
  localRank: number;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** How one worker ended. */
export interface WorkerExit {
  rank: number;
  localRank: number;
  pid?: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds since the attempt started. */
  atMs: number;
  /** True when the launcher stopped it (teardown), so it is not a cause. */
  stoppedByLauncher: boolean;
  stderrTail: string[];
}

/** How an attempt ended. */
export interface AttemptResult {
  ok: boolean;
  exits: WorkerExit[];
  /** The first worker to fail on its own. */
  rootCause?: WorkerExit;
  /** Set when the launcher was asked to stop (SIGINT/SIGTERM) rather than a worker failing. */
  interruptedBy?: NodeJS.Signals;
  /** Pids of every worker of the attempt (for tests that check nothing survives). */
  pids: number[];
}

/** Supervision settings. */
export interface GroupOptions {
  monitorIntervalMs: number;
  termGraceMs: number;
  output: Omit<OutputOptions, 'rank'>;
}

/** Did the exit fail? A worker that ends by a signal has failed, whatever the signal. */
export function failed(exit: Pick<WorkerExit, 'exitCode' | 'signal'>): boolean {
  return exit.signal !== null || exit.exitCode !== 0;
}

/** A running worker group; `done` settles when every worker has ended. */
export class WorkerGroup {
  readonly done: Promise<AttemptResult>;
  private readonly children: ChildProcess[] = [];
  private readonly outputs: RankOutput[] = [];
  private readonly exits: (WorkerExit | undefined)[];
  private readonly closed: Promise<void>[] = [];
  private readonly started = performance.now();
  private stopping = false;
  private stopAtMs = Infinity;
  private interruptedBy?: NodeJS.Signals;
  private killTimer?: NodeJS.Timeout;

  constructor(
    private readonly specs: readonly WorkerProcessSpec[],
    private readonly options: GroupOptions,
  ) {
    this.exits = specs.map(() => undefined);
    for (const [i, spec] of specs.entries()) this.start(i, spec);
    this.done = this.monitor();
  }

  private start(i: number, spec: WorkerProcessSpec): void {
    const output = new RankOutput(spec.rank, this.options.output);
    this.outputs.push(output);
    // detached: each worker leads its own process group, so a signal to -pid also reaches
    // whatever the worker started, and a Ctrl-C on the terminal reaches the launcher only,
    // which forwards it (and can escalate to SIGKILL).
    const child = spawn(spec.command, spec.args, {
      env: spec.env,
      cwd: spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.children.push(child);
    child.stdout?.on('data', (c: Buffer) => output.stdout(c));
    child.stderr?.on('data', (c: Buffer) => output.stderr(c));
    const record = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (this.exits[i]) return;
      const atMs = performance.now() - this.started;
      this.exits[i] = {
        rank: spec.rank,
        localRank: spec.localRank,
        pid: child.pid,
        exitCode,
        signal,
        atMs,
        stoppedByLauncher: this.stopping && atMs >= this.stopAtMs,
        stderrTail: [],
      };
    };
    this.closed.push(
      new Promise<void>((resolve) => {
        child.once('error', (error) => {
          output.note(`ner-launch: cannot start worker: ${error.message}`);
          record(127, null);
          resolve();
        });
        child.once('exit', (code, signal) => record(code, signal));
        child.once('close', (code, signal) => {
          record(code, signal);
          resolve();
        });
      }),
    );
  }

  private async monitor(): Promise<AttemptResult> {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const exits = this.exits;
        if (!this.stopping && exits.some((e) => e !== undefined && failed(e))) this.stop('SIGTERM');
        if (exits.every((e) => e !== undefined)) {
          clearInterval(timer);
          resolve();
        }
      }, this.options.monitorIntervalMs);
    });
    if (this.killTimer) clearTimeout(this.killTimer);
    // Whatever a worker left behind in its process group goes too.
    if (this.stopping) this.signalAll('SIGKILL', true);
    await Promise.race([
      Promise.all(this.closed),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    await Promise.all(this.outputs.map((o) => o.close()));
    const exits = this.exits.map((e, i) => ({ ...e!, stderrTail: this.outputs[i].stderrTail() }));
    const causes = exits
      .filter((e) => failed(e) && !e.stoppedByLauncher)
      .sort((a, b) => a.atMs - b.atMs);
    const result: AttemptResult = {
      ok: exits.every((e) => !failed(e)) && this.interruptedBy === undefined,
      exits,
      pids: this.children.map((c) => c.pid).filter((p): p is number => p !== undefined),
    };
    if (causes.length > 0) result.rootCause = causes[0];
    if (this.interruptedBy) result.interruptedBy = this.interruptedBy;
    return result;
  }

  private signalAll(signal: NodeJS.Signals, includeExited = false): void {
    for (const [i, child] of this.children.entries()) {
      if (child.pid === undefined) continue;
      if (!includeExited && this.exits[i] !== undefined) continue;
      try {
        process.kill(-child.pid, signal);
        // A stopped worker (SIGSTOP, a debugger) only acts on SIGTERM once continued.
        if (signal !== 'SIGKILL') process.kill(-child.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stops every worker still running: `signal` first (SIGTERM, or the signal the launcher
   * received), SIGKILL after the grace period.
   */
  stop(signal: NodeJS.Signals): void {
    if (!this.stopping) {
      this.stopping = true;
      this.stopAtMs = performance.now() - this.started;
      this.killTimer = setTimeout(() => this.signalAll('SIGKILL'), this.options.termGraceMs);
    }
    this.signalAll(signal);
  }

  /** The launcher itself was asked to stop: forward the signal, no restart follows. */
  interrupt(signal: NodeJS.Signals): void {
    this.interruptedBy ??= signal;
    this.stop(signal);
  }
}

/** Shell-style exit status for a worker exit: the code, or 128 + signal number. */
export function exitStatus(exit: Pick<WorkerExit, 'exitCode' | 'signal'>): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.exitCode ?? 1;
}
