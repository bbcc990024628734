/**
 * The questions of `ner-launch config` (accelerate config's, where they apply), independent of
 * the terminal: `ask` is a readline prompt in the CLI and a scripted answerer in tests.
 */
import { DEFAULT_MAIN_PROCESS_PORT } from '@ner-launch/worker';
import type { ConfigFileSettings } from './config-file.js';
import { parseGpuIds } from './gpu-ids.js';
import { launchOption, type LaunchFlags } from './launch-options.js';

/** Asks one question and returns the raw answer ('' = take the default). */
export type Ask = (question: string) => Promise<string>;

async function askUntilValid<T>(
  ask: Ask,
  question: string,
  fallback: T,
  parse: (answer: string) => T,
): Promise<T> {
  for (;;) {
    const answer = (await ask(`${question} [${String(fallback)}]: `)).trim();
    if (answer === '') return fallback;
    try {
      return parse(answer);
    } catch (error) {
      await ask(`  ${(error as Error).message} (press Enter to answer again) `);
    }
  }
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER): (a: string) => number {
  return (a) => {
    if (!/^\d+$/.test(a) || Number(a) < min || Number(a) > max)
      throw new Error(`expected an integer from ${min} to ${max}, got '${a}'`);
    return Number(a);
  };
}

function yesNo(a: string): boolean {
  if (/^(y|yes|true)$/i.test(a)) return true;
  if (/^(n|no|false)$/i.test(a)) return false;
  throw new Error(`expected yes or no, got '${a}'`);
}

function oneOf<T extends string>(choices: readonly T[]): (a: string) => T {
  return (a) => {
    const found = choices.find((c) => c.toLowerCase() === a.toLowerCase());
    if (!found) throw new Error(`expected one of ${choices.join(', ')}, got '${a}'`);
    return found;
  };
}

/** Runs the questionnaire; `gpuCount` is what this machine has (default answers follow it). */
export async function askConfigSettings(ask: Ask, gpuCount: number): Promise<ConfigFileSettings> {
  const kind = await askUntilValid(
    ask,
    'Which type of machine are you using? (no = one process, multi-CPU, multi-GPU)',
    gpuCount > 1 ? 'multi-GPU' : 'no',
    oneOf(['no', 'multi-CPU', 'multi-GPU'] as const),
  );
  let numMachines = 1;
  let machineRank = 0;
  let mainProcessIp: string | undefined;
  let mainProcessPort = DEFAULT_MAIN_PROCESS_PORT;
  let sameNetwork = true;
  if (kind !== 'no') {
    numMachines = await askUntilValid(
      ask,
      'How many different machines will you use?',
      1,
      integer(1),
    );
    if (numMachines > 1) {
      machineRank = await askUntilValid(
        ask,
        'What is the rank of this machine?',
        0,
        integer(0, numMachines - 1),
      );
      mainProcessIp = await askUntilValid(
        ask,
        'What is the IP address of the machine that will host the main process?',
        '127.0.0.1',
        (a) => a,
      );
      mainProcessPort = await askUntilValid(
        ask,
        'What is the port you will use to communicate with the main process?',
        DEFAULT_MAIN_PROCESS_PORT,
        integer(1, 65535),
      );
      sameNetwork = await askUntilValid(
        ask,
        'Are all the machines on the same local network?',
        true,
        yesNo,
      );
    }
  }
  const useCpu =
    kind === 'multi-CPU' ||
    (kind === 'no' &&
      (await askUntilValid(
        ask,
        'Do you want to run your training on CPU only?',
        gpuCount === 0,
        yesNo,
      )));
  let numProcesses = 1;
  if (kind !== 'no') {
    const perMachine = kind === 'multi-GPU' ? Math.max(gpuCount, 1) : 2;
    numProcesses = await askUntilValid(
      ask,
      'How many processes in total (all machines together) should be used?',
      perMachine * numMachines,
      integer(numMachines),
    );
  }
  let gpuIds = 'all';
  if (!useCpu)
    gpuIds = await askUntilValid(
      ask,
      "What GPU(s) (by id) should be used, as a comma-separated list or 'all'?",
      'all',
      (a) => {
        parseGpuIds(a, 'gpu_ids');
        return a;
      },
    );
  const choicesOf = (key: keyof LaunchFlags): readonly string[] => launchOption(key).choices!;
  const mixedPrecision = await askUntilValid(
    ask,
    `Do you wish to use mixed precision? (${choicesOf('mixedPrecision').join(', ')})`,
    'no',
    oneOf(choicesOf('mixedPrecision')),
  );
  const backend = await askUntilValid(
    ask,
    `Which backend? (${choicesOf('backend').join(', ')}; auto keeps the file readable by accelerate)`,
    'auto',
    oneOf(choicesOf('backend')),
  );
  const maxRestarts = await askUntilValid(
    ask,
    'How many times should a failed worker group be restarted? (0 keeps the file readable by accelerate)',
    0,
    integer(0),
  );
  const settings: ConfigFileSettings = {
    distributedType: kind === 'multi-GPU' ? 'MULTI_GPU' : kind === 'multi-CPU' ? 'MULTI_CPU' : 'NO',
    mixedPrecision,
    useCpu,
    numProcesses,
    numMachines,
    machineRank,
    gpuIds,
    mainProcessPort,
    sameNetwork,
    backend,
    maxRestarts,
  };
  if (mainProcessIp !== undefined) settings.mainProcessIp = mainProcessIp;
  return settings;
}

/** The non-interactive default config for a machine with `gpuCount` GPUs (as accelerate's write_basic_config). */
export function defaultConfigSettings(gpuCount: number, mixedPrecision = 'no'): ConfigFileSettings {
  return {
    distributedType: gpuCount > 1 ? 'MULTI_GPU' : 'NO',
    mixedPrecision,
    useCpu: gpuCount === 0,
    numProcesses: Math.max(gpuCount, 1),
    numMachines: 1,
    machineRank: 0,
    gpuIds: 'all',
    mainProcessPort: DEFAULT_MAIN_PROCESS_PORT,
    sameNetwork: true,
    // auto: tensorflow where tfjs-node is installed, else wasm on CPU; and accelerate reads the file.
    backend: 'auto',
    maxRestarts: 0,
  };
}
