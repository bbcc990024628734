/**
 * A real SLURM on this machine for the batch-script tests: munged, slurmctld and slurmd
 * daemons from Debian's slurm-wlm (installed by .ci/run), all on loopback addresses, in a
 * private temporary folder. Nodes ner1 (127.0.0.1) and ner2 (127.0.0.2) form the default
 * partition `ner`, each with 2 CPUs and 2 GPUs declared over stand-in device files (SLURM
 * allocates them and sets CUDA_VISIBLE_DEVICES; nothing uses them). Node ner0 has a NodeAddr
 * name that only slurmctld can resolve (it runs in its own mount namespace with its own
 * /etc/hosts), so a job on partition `badmain` (ner0 + ner2) has a main node whose name does
 * not resolve where the job runs. proctrack/linuxproc and task/none, as on the sites the
 * scripts were first tried on.
 *
 * `stop()` kills every process the cluster started (daemons, slurmstepd, job processes: found
 * by a marker variable in the daemons' environment and by descent from them), also when the
 * test process exits early.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../support/python.js';

const PROGRAMS = [
  'munged',
  'slurmctld',
  'slurmd',
  'slurmstepd',
  'sbatch',
  'sh',
  'mount',
  'unshare',
  'setpriv',
];
/** Name of ner0's NodeAddr: resolvable in slurmctld's namespace only (.invalid never resolves in DNS). */
const UNRESOLVED_ADDR = 'ner0-main.invalid';
const MARKER = 'NER_SLURM_HARNESS';

function which(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Why SLURM cannot run here, or undefined when it can. */
function missing(): string | undefined {
  const absent = PROGRAMS.filter((d) => which(d) === undefined);
  if (absent.length > 0)
    return `${absent.join(', ')} not installed (Debian: apt-get install slurm-wlm munge; .ci/run does it)`;
  if (process.getuid?.() !== 0) return 'slurmd must run as root';
  const ns = spawnSync('unshare', ['-m', 'true'], { timeout: 10_000 });
  if (ns.status !== 0) return 'cannot create a mount namespace (unshare -m) for slurmctld';
  return undefined;
}

/**
 * For `describe(name, { skip: skipWithoutSlurm() }, ...)`: a skip reason, or false. In CI
 * (CI=true) SLURM is required: a missing piece throws instead of skipping.
 */
export function skipWithoutSlurm(): string | false {
  const reason = missing();
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true requires the SLURM tests: ${reason}`);
  return `no SLURM here: ${reason}`;
}

/** A job's state as `scontrol show job` reports it. */
export interface JobInfo {
  state: string;
  exitCode: string;
  runTime: string;
  nodeList: string;
}

/** What `sbatch` needs besides the script: options before it and arguments after it. */
export interface SubmitOptions {
  sbatchArgs?: string[];
  scriptArgs?: string[];
  /** Environment of sbatch itself (added to the harness's own). */
  env?: NodeJS.ProcessEnv;
}

/** A running test cluster. */
export class SlurmCluster {
  /** Submit folder of the jobs: links to the checkout's node_modules, configs and examples. */
  readonly submitDir: string;
  /** Where jobs write their output files (<job id>.out) and their models. */
  readonly outDir: string;
  private readonly daemons: ChildProcess[] = [];
  private readonly killOnExit = (): void => this.discard();
  // Interrupted (a test-runner timeout, Ctrl-C): slurmstepd and the jobs would outlive the
  // daemons' parent-death signal, so kill everything before going.
  private readonly killOnSignal = (signal: NodeJS.Signals): void => {
    this.discard();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };

  private constructor(
    readonly dir: string,
    readonly conf: string,
  ) {
    this.submitDir = join(dir, 'submit');
    this.outDir = join(dir, 'out');
  }

  /** The environment of SLURM commands run by the tests. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SLURM_CONF: this.conf, [MARKER]: this.dir };
  }

  /** Writes the configuration and starts munged, slurmctld and three slurmd; waits until every node is idle. */
  static async start(): Promise<SlurmCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'ner-slurm-'));
    chmodSync(dir, 0o700);
    const cluster = new SlurmCluster(dir, join(dir, 'slurm.conf'));
    process.once('exit', cluster.killOnExit);
    process.once('SIGINT', cluster.killOnSignal);
    process.once('SIGTERM', cluster.killOnSignal);
    try {
      cluster.writeFiles();
      await cluster.startDaemons();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  private writeFiles(): void {
    const { dir } = this;
    for (const sub of ['state', 'log', 'out', 'submit', 'spool/ner0', 'spool/ner1', 'spool/ner2'])
      mkdirSync(join(dir, sub), { recursive: true });
    for (const name of ['node_modules', 'configs', 'examples'])
      symlinkSync(join(REPO_ROOT, name), join(this.submitDir, name));
    writeFileSync(join(dir, 'munge.key'), randomBytes(1024), {
      mode: 0o400,
    });
    // Ports below the ephemeral range, apart per test process.
    const base = 6000 + (process.pid % 2000) * 4;
    const host = hostname().split('.')[0];
    const node = (name: string, addr: string, port: number, gres: boolean): string =>
      `NodeName=${name} NodeAddr=${addr} Port=${port} CPUs=2 RealMemory=1000${gres ? ' Gres=gpu:2' : ''} State=UNKNOWN`;
    writeFileSync(
      this.conf,
      [
        'ClusterName=nertest',
        `SlurmctldHost=${host}(127.0.0.1)`,
        `SlurmctldPort=${base}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${join(dir, 'munge.sock')}`,
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool', '%n')}`,
        `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${join(dir, 'slurmd-%n.pid')}`,
        `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
        `SlurmdLogFile=${join(dir, 'log', 'slurmd-%n.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SchedulerType=sched/builtin',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_CPU',
        'MpiDefault=none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'MailProg=/bin/true',
        'ReturnToService=2',
        'SlurmdParameters=config_overrides',
        'GresTypes=gpu',
        // Defined first so that it heads the node list of a job on `badmain`.
        node('ner0', UNRESOLVED_ADDR, base + 1, false),
        node('ner1', '127.0.0.1', base + 2, true),
        node('ner2', '127.0.0.2', base + 3, true),
        'PartitionName=ner Nodes=ner1,ner2 Default=YES MaxTime=INFINITE State=UP',
        'PartitionName=badmain Nodes=ner0,ner2 MaxTime=INFINITE State=UP',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'gres.conf'), 'NodeName=ner[1-2] Name=gpu File=/dev/null,/dev/zero\n');
    writeFileSync(
      join(dir, 'hosts'),
      `${readFileSync('/etc/hosts', 'utf8')}\n127.0.0.3 ${UNRESOLVED_ADDR}\n`,
    );
  }

  private daemon(name: string, argv: string[]): void {
    const log = openSync(join(this.dir, 'log', `${name}.out`), 'a');
    // setpriv --pdeathsig: a daemon dies with the test process even if nothing else runs.
    const [program, ...args] = argv;
    const child = spawn(which('setpriv')!, ['--pdeathsig', 'KILL', which(program)!, ...args], {
      env: this.env,
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    child.unref();
    this.daemons.push(child);
  }

  private async startDaemons(): Promise<void> {
    const { dir, conf } = this;
    this.daemon('munged', [
      'munged',
      '--foreground',
      '--force',
      `--socket=${join(dir, 'munge.sock')}`,
      `--key-file=${join(dir, 'munge.key')}`,
      `--pid-file=${join(dir, 'munged.pid')}`,
      `--seed-file=${join(dir, 'munged.seed')}`,
      `--log-file=${join(dir, 'log', 'munged.log')}`,
    ]);
    await this.until('munged is up', 10_000, () => existsSync(join(dir, 'munge.sock')));
    this.daemon('slurmctld', [
      'unshare',
      '-m',
      'sh',
      '-c',
      'mount --bind "$1" /etc/hosts && exec "$2" -D -c -f "$3"',
      'slurmctld',
      join(dir, 'hosts'),
      which('slurmctld')!,
      conf,
    ]);
    await this.until('slurmctld answers', 20_000, () => this.slurm('scontrol', ['ping']).ok);
    for (const name of ['ner0', 'ner1', 'ner2'])
      this.daemon(`slurmd-${name}`, ['slurmd', '-D', '-N', name, '-f', conf]);
    await this.until('every node is idle', 30_000, () => {
      const states = this.nodeStates();
      return ['ner0', 'ner1', 'ner2'].every((n) => states[n] === 'idle');
    });
  }

  private async until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(
          `SLURM test cluster: ${what} not reached in ${timeoutMs / 1000} s\n${this.logs()}`,
        );
      await sleep(250);
    }
  }

  /** The last lines of every daemon log, for failure messages. */
  logs(): string {
    const logDir = join(this.dir, 'log');
    if (!existsSync(logDir)) return '';
    return readdirSync(logDir)
      .map((f) => {
        const lines = readFileSync(join(logDir, f), 'utf8').trim().split('\n').slice(-8);
        return `--- ${f}\n${lines.join('\n')}`;
      })
      .join('\n');
  }

  /** Runs a SLURM client command with this cluster's configuration. */
  slurm(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): { ok: boolean; out: string } {
    const r = spawnSync(which(command) ?? command, args, {
      env: { ...this.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
      cwd: this.submitDir,
    });
    return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }

  /** State of each node: idle, allocated, mixed, drained, down, ... */
  nodeStates(): Record<string, string> {
    const r = this.slurm('sinfo', ['-h', '-N', '-o', '%N %T']);
    if (!r.ok) return {};
    return Object.fromEntries(
      r.out
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
  }

  /** Submits `script` (relative to the checkout) from the submit folder; returns the job id. */
  submit(script: string, options: SubmitOptions = {}): string {
    const r = this.slurm(
      'sbatch',
      [
        '--parsable',
        `--output=${join(this.outDir, '%j.out')}`,
        ...(options.sbatchArgs ?? []),
        join(REPO_ROOT, script),
        ...(options.scriptArgs ?? []),
      ],
      options.env,
    );
    if (!r.ok) throw new Error(`sbatch ${script} failed: ${r.out}`);
    return r.out.trim().split(';')[0];
  }

  /** The job's output file so far. */
  output(jobId: string): string {
    const path = join(this.outDir, `${jobId}.out`);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  job(jobId: string): JobInfo {
    const r = this.slurm('scontrol', ['-o', 'show', 'job', jobId]);
    const field = (name: string): string => new RegExp(`\\b${name}=(\\S*)`).exec(r.out)?.[1] ?? '';
    return {
      state: field('JobState'),
      exitCode: field('ExitCode'),
      runTime: field('RunTime'),
      nodeList: field('NodeList'),
    };
  }

  /** Waits until the job has ended (not pending, running or completing). */
  async waitJob(jobId: string, timeoutMs: number): Promise<JobInfo> {
    let info = this.job(jobId);
    await this.until(`the end of job ${jobId}`, timeoutMs, () => {
      info = this.job(jobId);
      return (
        info.state !== '' &&
        !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING'].includes(info.state)
      );
    }).catch((error: Error) => {
      throw new Error(`${error.message}\njob output:\n${this.output(jobId).slice(-3000)}`);
    });
    return info;
  }

  /** Waits for `check`, failing with `what` after `timeoutMs`. */
  wait(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
    return this.until(what, timeoutMs, check);
  }

  /** Pids of every process of this cluster: marked ones and all their descendants. */
  processes(): number[] {
    const parent = new Map<number, number>();
    const marked = new Set<number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid === process.pid) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
        if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`\0${MARKER}=${this.dir}\0`))
          marked.add(pid);
      } catch {
        // gone meanwhile
      }
    }
    const ours = new Set(marked);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, ppid] of parent)
        if (!ours.has(pid) && ours.has(ppid)) {
          ours.add(pid);
          grew = true;
        }
    }
    return [...ours];
  }

  private killAll(): void {
    for (const child of this.daemons)
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    for (const pid of this.processes())
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
  }

  /** Last resort on exit or interruption: SIGKILL everything, remove the folder. */
  private discard(): void {
    this.killAll();
    if (process.env.NER_SLURM_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills everything the cluster started and removes its folder (kept with NER_SLURM_KEEP=1). */
  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    process.off('SIGINT', this.killOnSignal);
    process.off('SIGTERM', this.killOnSignal);
    const deadline = Date.now() + 15_000;
    do {
      this.killAll();
      await sleep(200);
    } while (this.processes().length > 0 && Date.now() < deadline);
    const left = this.processes();
    if (process.env.NER_SLURM_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
    if (left.length > 0)
      throw new Error(`SLURM test cluster: processes ${left.join(', ')} survived SIGKILL`);
  }
}
