/**
 * `launch(config)`: runs the local worker group of a LaunchConfig under supervision, restarting
 * the whole group up to max_restarts times, and returns how it ended. Callable from tests
 * without the CLI.
 */
import { UsageError, type Logger } from '@ner-launch/common';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { envForRank, processesPerMachine, toEnv, WORKER_ENV_NAMES } from '@ner-launch/worker';
import type { LaunchConfig } from './launch-config.js';
import { routeSourceAddress } from './local-address.js';
import { ensurePortFree, pickFreePort } from './main-port.js';
import {
  exitStatus,
  WorkerGroup,
  type AttemptResult,
  type WorkerExit,
  type WorkerProcessSpec,
} from './worker-group.js';
import { workerArgv } from './worker-command.js';
import { ErrorLines, type ConsoleStreams } from './worker-output.js';

/** How a launch ended. */
export interface LaunchResult {
  /** 0 on success; the root cause's exit status (or 128 + signal) otherwise. */
  exitCode: number;
  /** Attempts made (1 + restarts). */
  attempts: number;
  /** NER_RESTART_COUNT of the last attempt. */
  restartCount: number;
  /** The rendezvous port actually used. */
  mainProcessPort: number;
  /** The last attempt's details. */
  last: AttemptResult;
  /** The failure summary printed, if any. */
  summary?: string;
}

/** Process-level wiring of a launch (the CLI passes the real ones). */
export interface LaunchIo {
  console: ConsoleStreams;
  log?: Logger;
  /** Forward SIGINT/SIGTERM/SIGHUP received by this process to the workers. */
  forwardSignals?: boolean;
  /** Base environment of the workers (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function describeExit(exit: Pick<WorkerExit, 'exitCode' | 'signal'>): string {
  if (exit.signal) return `signal ${exit.signal} (${constants.signals[exit.signal] ?? '?'})`;
  return `exit code ${exit.exitCode}`;
}

/** The torchrun-style failure summary of an attempt. */
export function failureSummary(result: AttemptResult, attempt: number, attempts: number): string {
  const bar = '='.repeat(72);
  const lines = [bar, `ner-launch: worker group failed (attempt ${attempt} of ${attempts})`];
  const cause = result.rootCause;
  if (result.interruptedBy && !cause) {
    lines.push(
      `Stopped by ${result.interruptedBy} sent to the launcher; every worker was stopped.`,
    );
  } else if (cause) {
    lines.push(
      'Root cause (first worker to fail):',
      `  rank       : ${cause.rank} (local rank ${cause.localRank})`,
      `  pid        : ${cause.pid ?? '-'}`,
      `  ended by   : ${describeExit(cause)}`,
      `  after      : ${(cause.atMs / 1000).toFixed(2)} s`,
      '  stderr tail:',
      ...(cause.stderrTail.length ? cause.stderrTail.map((l) => `    ${l}`) : ['    (empty)']),
    );
    const others = result.exits.filter(
      (e) => e !== cause && (e.signal !== null || e.exitCode !== 0),
    );
    if (others.length > 0) {
      lines.push('Other workers:');
      for (const e of others)
        lines.push(
          `  rank ${e.rank}: ${describeExit(e)}${e.stoppedByLauncher ? ' (ended after the launcher stopped the group)' : ''}`,
        );
    }
  }
  lines.push(bar);
  return `${lines.join('\n')}\n`;
}

/**
 * Whether the group stopped on a usage error (the first worker to fail exited with code 2, as
 * a UsageError ends ner-launch): restarting cannot help, and the worker already said why.
 */
function isUsageFailure(result: AttemptResult): boolean {
  const cause = result.rootCause;
  return cause !== undefined && cause.signal === null && cause.exitCode === 2;
}

function newRunToken(config: LaunchConfig, env: NodeJS.ProcessEnv): string {
  if (config.runToken) return config.runToken;
  if (env.NER_RUN_TOKEN) return env.NER_RUN_TOKEN;
  if (config.numMachines > 1)
    throw new UsageError(
      "with several machines, set NER_RUN_TOKEN to the same secret in every launcher's environment (e.g. `export NER_RUN_TOKEN=$(openssl rand -hex 16)` before srun); workers with another token are refused",
    );
  return randomBytes(16).toString('hex');
}

/** Base environment of the workers: ours minus any contract variables inherited from a parent launcher. */
function baseEnv(config: LaunchConfig, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...env };
  const userOmp = env.OMP_NUM_THREADS;
  for (const name of WORKER_ENV_NAMES) delete base[name];
  // The user's own settings of these win, as with torchrun.
  if (userOmp !== undefined) base.OMP_NUM_THREADS = userOmp;
  if (config.debug) base.NER_LOG_LEVEL = 'debug';
  // Workers write to a pipe, so their logger would pick JSON; on a terminal ask for readable lines.
  if (process.stderr.isTTY && config.logDir === undefined) base.NER_LOG_FORMAT ??= 'pretty';
  return base;
}

/**
 * The rendezvous timeout of one attempt. A restart across machines needs every other launcher
 * to restart too; one that is gone never will, so a restart waits --restart_rdzv_timeout
 * rather than the full --rdzv_timeout before failing with the missing ranks.
 */
export function attemptRdzvTimeoutS(
  config: Pick<LaunchConfig, 'numMachines' | 'rdzvTimeoutS' | 'restartRdzvTimeoutS'>,
  restartCount: number,
): number {
  if (restartCount === 0 || config.numMachines === 1) return config.rdzvTimeoutS;
  return Math.min(config.rdzvTimeoutS, config.restartRdzvTimeoutS);
}

/** Runs the launch; never throws for worker failures (see exitCode), only for bad set-up. */
export async function launch(config: LaunchConfig, io: LaunchIo): Promise<LaunchResult> {
  const env = io.env ?? process.env;
  let group: WorkerGroup | undefined;
  let interruptedBy: NodeJS.Signals | undefined;
  // Installed before any preparation, so a signal at any stage stops the launch (rather than
  // being noted and the workers started anyway).
  const onSignal = (signal: NodeJS.Signals): void => {
    io.log?.warn(`ner-launch received ${signal}: stopping every worker`);
    interruptedBy ??= signal;
    group?.interrupt(signal);
  };
  if (io.forwardSignals) for (const s of FORWARDED_SIGNALS) process.on(s, onSignal);
  try {
    const perMachine = processesPerMachine(config);
    const argv = workerArgv(config.target);
    const runToken = newRunToken(config, env);
    let port = config.mainProcessPort;
    const hostsRendezvous = config.machineRank === 0;
    if (hostsRendezvous) {
      if (port === 0) port = await pickFreePort(config.mainProcessIp);
      else await ensurePortFree(config.mainProcessIp, port);
    }
    const localAddr =
      config.localAddr ??
      (hostsRendezvous
        ? config.mainProcessIp
        : await routeSourceAddress(config.mainProcessIp, port));
    const base = baseEnv(config, env);
    const userOmp = env.OMP_NUM_THREADS;
    const attempts = config.maxRestarts + 1;
    for (let restartCount = 0; ; restartCount++) {
      const rdzvTimeoutS = attemptRdzvTimeoutS(config, restartCount);
      const specs: WorkerProcessSpec[] = [];
      for (let localRank = 0; localRank < perMachine; localRank++) {
        const workerEnv = envForRank(
          {
            ...config,
            mainProcessPort: port,
            localAddr,
            rdzvTimeoutS,
            restartCount,
            runToken,
          },
          localRank,
        );
        const vars = toEnv(workerEnv);
        if (userOmp !== undefined) vars.OMP_NUM_THREADS = userOmp;
        specs.push({
          rank: workerEnv.rank,
          localRank,
          command: process.execPath,
          args: argv,
          env: { ...base, ...vars },
        });
      }
      if (!config.quiet)
        io.log?.info(
          `starting ${perMachine} worker(s) (ranks ${specs[0].rank}..${specs[specs.length - 1].rank} of ${config.numProcesses}), rendezvous at ${config.mainProcessIp}:${port}${restartCount ? `, restart ${restartCount} of ${config.maxRestarts} (every machine's workers must rejoin within ${rdzvTimeoutS} s)` : ''}`,
        );
      if (interruptedBy !== undefined) {
        const last: AttemptResult = { ok: false, exits: [], pids: [], interruptedBy };
        const summary = failureSummary(last, restartCount + 1, attempts);
        io.console.stderr.write(summary);
        return {
          exitCode: 128 + (constants.signals[interruptedBy] ?? 0),
          attempts: restartCount,
          restartCount,
          mainProcessPort: port,
          last,
          summary,
        };
      }
      const errorLines = new ErrorLines();
      group = new WorkerGroup(specs, {
        monitorIntervalMs: config.monitorIntervalS * 1000,
        termGraceMs: config.termGraceS * 1000,
        output: {
          console: io.console,
          tee: config.tee,
          attempt: restartCount,
          prefix: config.numProcesses > 1,
          errorLines,
          ...(config.logDir === undefined ? {} : { logDir: config.logDir }),
        },
      });
      const result = await group.done;
      const attempt = restartCount + 1;
      if (result.ok)
        return {
          exitCode: 0,
          attempts: attempt,
          restartCount,
          mainProcessPort: port,
          last: result,
        };
      const usageFailure = isUsageFailure(result);
      // Errors that repeat another rank's are said once for a usage error, else all shown.
      if (!usageFailure) io.console.stderr.write(errorLines.held.join(''));
      if (
        !usageFailure &&
        !result.interruptedBy &&
        !interruptedBy &&
        restartCount < config.maxRestarts
      ) {
        const cause = result.rootCause;
        io.log?.warn(
          `worker group failed${cause ? ` (rank ${cause.rank}: ${describeExit(cause)})` : ''}; restarting it (restart ${restartCount + 1} of ${config.maxRestarts})`,
        );
        continue;
      }
      // A worker's usage error has been said in one line (its stderr reaches the console); it
      // is only repeated here when --log_dir keeps that stderr off the console.
      const stderrShown = config.logDir === undefined || (config.tee & 2) !== 0;
      const summary = usageFailure
        ? stderrShown
          ? ''
          : `${result.rootCause!.stderrTail.at(-1) ?? ''}\n`
        : failureSummary(result, attempt, attempts);
      io.console.stderr.write(summary);
      const exitCode = result.rootCause
        ? exitStatus(result.rootCause)
        : result.interruptedBy
          ? 128 + (constants.signals[result.interruptedBy] ?? 0)
          : 1;
      return {
        exitCode: exitCode === 0 ? 1 : exitCode,
        attempts: attempt,
        restartCount,
        mainProcessPort: port,
        last: result,
        ...(summary === '' ? {} : { summary }),
      };
    }
  } finally {
    if (io.forwardSignals) for (const s of FORWARDED_SIGNALS) process.off(s, onSignal);
  }
}
