/**
 * Runs `ner-launch` as a user would (node + the bin, in its own process group) and timestamps
 * the moment each marker line first appears on its stdout or stderr, as seen by the caller.
 * Shared by the start-up and training-scaling benchmarks. A run can be stopped once a given
 * marker appears (SIGTERM to the whole group, as Ctrl-C would do), to skip work that is not
 * being measured.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..). */
export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The CLI entry as installed (`ner-launch`). */
export const BIN = join(REPO_ROOT, 'packages/launcher/bin/ner-launch.mjs');

/** A named line to wait for. */
export interface Marker {
  name: string;
  pattern: RegExp;
}

/** What one run gave. */
export interface TimedRun {
  args: string[];
  /** Seconds from spawn to the process group's exit. */
  wallSeconds: number;
  exitCode: number | null;
  signal: string | null;
  /** Seconds from spawn to the first line matching each marker (absent: never seen). */
  marks: Record<string, number>;
  /** CPU seconds (user + system) used so far by the live processes of the group, at each marker. */
  cpuMarks: Record<string, number>;
  /** The matched lines themselves (first match of each marker). */
  lines: Record<string, string>;
  /** true when the run was stopped at `stopAt`. */
  stopped: boolean;
  /** Worker pids still alive after the launcher exited (then killed by the benchmark). */
  leftovers: number[];
  /** Last output, for diagnosing failures. */
  tail: string;
}

/** Options of timeRun. */
export interface TimeRunOptions {
  markers?: Marker[];
  /** Marker name after which the group gets SIGTERM (then SIGKILL after 10 s). */
  stopAt?: string;
  env?: NodeJS.ProcessEnv;
  /** Kills the group after this many seconds. Default 600. */
  timeoutSeconds?: number;
}

/** Runs in flight: stopped if the benchmark itself is interrupted (timeout, Ctrl-C). */
const active = new Set<() => void>();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    for (const abort of active) abort();
    process.exit(130);
  });

/** Spawns `node BIN ...args` and times its markers. */
export function timeRun(args: string[], options: TimeRunOptions = {}): Promise<TimedRun> {
  const markers = options.markers ?? [];
  const start = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    // Its own group, so stopping it reaches the launcher and every worker at once.
    detached: true,
    env: { ...process.env, NER_LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const marks: Record<string, number> = {};
  const cpuMarks: Record<string, number> = {};
  // Every pid seen in the tree, to find workers that outlive the launcher (a bug to report).
  const seen = new Set<number>();
  const lines: Record<string, string> = {};
  let tail = '';
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
  };
  const timeout = setTimeout(
    () => {
      tail += '\n[bench] timeout: killing the run\n';
      signalGroup('SIGKILL');
    },
    (options.timeoutSeconds ?? 600) * 1000,
  );
  const pending = { out: '', err: '' };
  const onData = (which: 'out' | 'err') => (chunk: Buffer) => {
    const now = (performance.now() - start) / 1000;
    pending[which] += chunk.toString();
    const parts = pending[which].split('\n');
    pending[which] = parts.pop() ?? '';
    for (const line of parts) {
      tail = (tail + line.slice(0, 400) + '\n').slice(-4000);
      for (const m of markers)
        if (!(m.name in marks) && m.pattern.test(line)) {
          marks[m.name] = now;
          const tree = processTree(child.pid!);
          for (const p of tree) seen.add(p.pid);
          cpuMarks[m.name] = tree.reduce((a, p) => a + p.cpuSeconds, 0);
          lines[m.name] = line.slice(0, 300);
          if (m.name === options.stopAt) stop();
        }
    }
  };
  // On interruption: the launcher and every worker seen go at once (no grace period).
  const abort = (): void => {
    signalGroup('SIGKILL');
    for (const p of processTree(child.pid!)) seen.add(p.pid);
    for (const pid of seen) if (isOurWorker(pid)) process.kill(pid, 'SIGKILL');
  };
  active.add(abort);
  child.stdout.on('data', onData('out'));
  child.stderr.on('data', onData('err'));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      active.delete(abort);
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      // Whatever the launcher left behind (it should leave nothing) goes too.
      signalGroup('SIGKILL');
      const leftovers = [...seen].filter((pid) => pid !== child.pid && isOurWorker(pid));
      for (const pid of leftovers) process.kill(pid, 'SIGKILL');
      resolve({
        args,
        wallSeconds: (performance.now() - start) / 1000,
        exitCode,
        signal,
        marks,
        cpuMarks,
        lines,
        stopped,
        leftovers,
        tail,
      });
    });
  });
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** A process of the tree: its pid and CPU seconds so far. */
interface TreeProcess {
  pid: number;
  cpuSeconds: number;
}

/**
 * The live processes descending from `root` (itself included), with their user + system CPU
 * seconds (Linux /proc; empty elsewhere). Walked by parent pid because the launcher starts each
 * worker in its own session. CPU seconds are load-independent, unlike wall time on a machine
 * shared with others.
 */
export function processTree(root: number): TreeProcess[] {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name "(...)": state ppid pgrp ... utime(12th) stime(13th).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / USER_HZ);
    } catch {
      // The process exited meanwhile.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && hops < 64; hops++) {
      if (p === root) return true;
      p = parent.get(p);
    }
    return false;
  };
  return [...cpu.keys()].filter(inTree).map((pid) => ({ pid, cpuSeconds: cpu.get(pid)! }));
}

/** Whether `pid` is alive and runs the ner-launch bin (so killing it is ours to do). */
function isOurWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ner-launch.mjs');
  } catch {
    return false;
  }
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value of `--name` on the command line, or `fallback`. */
export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
