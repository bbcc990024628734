/**
 * `ner-launch test --benchmark`: all-reduce throughput on the launched set-up, as nccl-tests'
 * all_reduce_perf reports it (algbw = bytes / time; busbw = algbw × 2(n−1)/n, comparable with
 * a link's speed), with CPU seconds per rank per op, next to the raw transport between ranks 0
 * and 1 measured in the same processes and interleaved with the all-reduces (so background
 * load falls on both alike): one stream one way, and one stream each way at once (the ring's
 * own traffic pattern), over the transport the data plane uses between those two ranks.
 * Those streams write from and read into one 4 MiB buffer, which stays in cache; the two-way
 * round is also run from and into arrays of the measured size ("resident"), whose bytes, like
 * a gradient's, start and end in main memory: the transport's speed for that tensor.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import type { Accelerator } from './accelerator.js';
import { dialEndpoint, listenEndpoint, type DataEndpoint } from './data-plane.js';
import { GrpcProcessGroup } from './grpc-process-group.js';
import type { JsonValue } from '@ner-launch/common';
import type { WireDType } from './process-group.js';

/** What to measure. */
export interface BenchmarkOptions {
  /** Sizes in MB (2^20 bytes) of the array in the wire dtype (nccl-tests' size: count × bytes per element). */
  sizesMb: number[];
  dtypes: WireDType[];
  /** Timed all-reduces per size (default: 10 up to 32 MB, 5 up to 128 MB, else 3). */
  iterations?: number;
  /**
   * 'registered' (default): the arrays come from the group's `allocateBuffer`, as the trainer's
   * gradient buckets do; 'plain': ordinary arrays, copied into the transport's buffers.
   */
  buffers?: BufferKind;
}

/** Where the all-reduced arrays live. */
export type BufferKind = 'registered' | 'plain';

/** The raw transport between ranks 0 and 1, in GB/s (1e9 bytes/s). */
export interface RawStreamResult {
  oneWayGBps: number;
  bothWaysGBps: number;
  /** A stream each way from and into arrays of the measured size (bytes in main memory), per direction. */
  bothWaysResidentGBps: number;
  /** CPU seconds of a round with a stream each way, mean of ranks 0 and 1. */
  bothWaysCpuSecondsPerRank: number;
}

/** One size and dtype. */
export interface BenchmarkRow {
  sizeMB: number;
  dtype: WireDType;
  elements: number;
  iterations: number;
  meanSeconds: number;
  minSeconds: number;
  algbwGBps: number;
  busbwGBps: number;
  /** CPU seconds (user + system) per all-reduce: mean over ranks, and the busiest rank. */
  cpuSecondsPerOpPerRank: number;
  cpuSecondsPerOpMaxRank: number;
  /** Raw transport of the same bytes, measured between the all-reduces (null with one process). */
  raw: RawStreamResult | null;
  busbwOverRawOneWay: number | null;
  busbwOverRawBothWays: number | null;
  busbwOverRawBothWaysResident: number | null;
}

/** The whole report (rank 0's). */
export interface BenchmarkReport {
  processes: number;
  transport: string;
  buffers: BufferKind;
  definitions: Record<string, string>;
  rows: BenchmarkRow[];
}

const MB = 1 << 20;
const CHUNK = 4 * MB;
const BYTES_PER_ELEMENT: Record<WireDType, number> = { fp32: 4, fp16: 2, bf16: 2 };

/** Two sockets between ranks 0 and 1 (each written by one rank and read by the other). */
class RawPair {
  private received = 0;
  private want = 0;
  private arrived: (() => void) | undefined;
  private readonly sink = new Uint8Array(CHUNK);
  private readonly source = Buffer.alloc(CHUNK, 7);
  /** Arrays of the measured size for the resident rounds (undefined: the 4 MiB buffers). */
  private resident: { source: Uint8Array; sink: Uint8Array; start: number } | undefined;

  private out: Socket | undefined;
  private incoming: Socket | undefined;
  private servers: Server[] = [];

  /** Both ranks listen, exchange endpoints through the group, dial each other; the dialler proves a nonce only the group knows. */
  static async open(acc: Accelerator): Promise<RawPair | undefined> {
    const group = acc.group;
    const inPair = acc.rank <= 1;
    const host = group instanceof GrpcProcessGroup ? group.dataHost : '127.0.0.1';
    let accepted: ((s: Socket) => void) | undefined;
    const acceptedSocket = new Promise<Socket>((resolve) => (accepted = resolve));
    const nonce = await group.broadcastObject(
      acc.rank === 0 ? randomBytes(16).toString('hex') : undefined,
      0,
    );
    const expected = Buffer.from(nonce, 'hex');
    const listening = inPair
      ? await listenEndpoint(host, (socket) => {
          socket.once('data', (d: Buffer) => {
            if (d.length === expected.length && timingSafeEqual(d, expected)) accepted?.(socket);
            else socket.destroy();
          });
          socket.on('error', () => undefined);
        })
      : undefined;
    const endpoints = await group.gatherObject(
      (listening?.endpoint ?? null) as unknown as JsonValue,
    );
    if (!inPair) return undefined;
    const pair = new RawPair();
    pair.servers = listening!.servers;
    ({ socket: pair.incoming } = await dialEndpoint(
      endpoints[1 - acc.rank] as unknown as DataEndpoint,
      {
        buffer: () => pair.readTarget(),
        callback: (n) => {
          pair.receivedBytes(n);
          return true;
        },
      },
    ));
    pair.incoming.write(expected);
    pair.out = await acceptedSocket;
    return pair;
  }

  /** Where the next incoming bytes go: the cached sink, or the resident sink at the round's offset. */
  private readTarget(): Uint8Array {
    const resident = this.resident;
    if (!resident) return this.sink;
    const at = (this.received - resident.start) % resident.sink.byteLength;
    return resident.sink.subarray(at, Math.min(resident.sink.byteLength, at + CHUNK));
  }

  /** Rounds from now on stream from and into arrays of `bytes` bytes (0: back to the 4 MiB buffers); call before the barrier that starts a round. */
  useResident(bytes: number): void {
    if (bytes === 0) this.resident = undefined;
    else {
      const source =
        this.resident?.source.byteLength === bytes
          ? this.resident.source
          : new Uint8Array(bytes).fill(7);
      const sink =
        this.resident?.sink.byteLength === bytes
          ? this.resident.sink
          : new Uint8Array(bytes).fill(0);
      this.resident = { source, sink, start: this.received };
    }
  }

  private receivedBytes(n: number): void {
    this.received += n;
    if (this.received >= this.want) this.arrived?.();
  }

  /** Seconds until this rank sent and/or received `bytes`. */
  async round(bytes: number, send: boolean, receive: boolean): Promise<number> {
    // Counted from the start of the run: the peer may start sending before this rank gets here.
    if (receive) this.want += bytes;
    const arrived = new Promise<void>((resolve) => {
      this.arrived = resolve;
      if (this.received >= this.want) resolve();
    });
    const start = performance.now();
    const work: Array<Promise<void>> = [];
    if (receive) work.push(arrived);
    if (send) work.push(this.write(bytes));
    await Promise.all(work);
    return (performance.now() - start) / 1000;
  }

  private async write(bytes: number): Promise<void> {
    const out = this.out!;
    for (let sent = 0; sent < bytes; sent += CHUNK) {
      const end = Math.min(CHUNK, bytes - sent);
      const chunk = this.resident
        ? this.resident.source.subarray(sent, sent + end)
        : this.source.subarray(0, end);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise<void>((resolve) => out.write(new Uint8Array(0), () => resolve()));
  }

  close(): void {
    this.out?.destroy();
    this.incoming?.destroy();
    for (const s of this.servers) s.close();
  }
}

/** Runs the benchmark on every rank; resolves with the report on every rank. */
export async function runAllReduceBenchmark(
  acc: Accelerator,
  options: BenchmarkOptions,
): Promise<BenchmarkReport> {
  const group = acc.group;
  const n = acc.worldSize;
  const raw = n > 1 ? await RawPair.open(acc) : undefined;
  const rows: BenchmarkRow[] = [];
  try {
    for (const dtype of options.dtypes) {
      for (const sizeMb of options.sizesMb) {
        const bytes = Math.round(sizeMb * MB);
        const elements = Math.floor(bytes / BYTES_PER_ELEMENT[dtype]);
        const data = (
          options.buffers === 'plain' ? new Float32Array(elements) : group.allocateBuffer(elements)
        ).fill(1);
        const iterations = options.iterations ?? (sizeMb <= 32 ? 10 : sizeMb <= 128 ? 5 : 3);
        await group.allReduce(data, 'sum', { wire: dtype }); // warm-up (JIT, buffers)
        const times: number[] = [];
        const oneWay: number[] = [];
        const bothWays: number[] = [];
        const bothWaysResident: number[] = [];
        let cpuSeconds = 0;
        let rawCpuSeconds = 0;
        for (let i = 0; i < iterations; i++) {
          await group.barrier();
          const cpu = process.cpuUsage();
          const start = performance.now();
          await group.allReduce(data, 'sum', { wire: dtype });
          times.push((performance.now() - start) / 1000);
          const used = process.cpuUsage(cpu);
          cpuSeconds += (used.user + used.system) / 1e6;
          if (n === 1) continue;
          await group.barrier();
          oneWay.push(raw ? await raw.round(bytes, acc.rank === 0, acc.rank === 1) : 0);
          await group.barrier();
          const rawCpu = process.cpuUsage();
          bothWays.push(raw ? await raw.round(bytes, true, true) : 0);
          const rawUsed = process.cpuUsage(rawCpu);
          rawCpuSeconds += (rawUsed.user + rawUsed.system) / 1e6;
          raw?.useResident(bytes);
          await group.barrier();
          bothWaysResident.push(raw ? await raw.round(bytes, true, true) : 0);
          raw?.useResident(0);
        }
        // An op ends when its slowest rank ends: the max over ranks, per op.
        const slowest = (mine: number[]): Promise<number[]> =>
          group
            .gatherObject(mine)
            .then((all) => mine.map((_, i) => Math.max(...all.map((t) => t[i]))));
        const perOp = await slowest(times);
        const cpuPerRank = await group.gatherObject(cpuSeconds / iterations);
        const mean = perOp.reduce((a, b) => a + b, 0) / perOp.length;
        const algbw = bytes / mean / 1e9;
        const busbw = (algbw * 2 * (n - 1)) / n;
        let rawResult: RawStreamResult | null = null;
        if (n > 1) {
          // Best of the rounds: the transport's speed when the machine let it run.
          const best = async (t: number[]): Promise<number> =>
            bytes / Math.min(...(await slowest(t))) / 1e9;
          const rawCpuPerRank = await group.gatherObject(rawCpuSeconds / iterations);
          rawResult = {
            oneWayGBps: await best(oneWay),
            bothWaysGBps: await best(bothWays),
            bothWaysResidentGBps: await best(bothWaysResident),
            bothWaysCpuSecondsPerRank: (rawCpuPerRank[0] + rawCpuPerRank[1]) / 2,
          };
        }
        rows.push({
          sizeMB: sizeMb,
          dtype,
          elements,
          iterations,
          meanSeconds: mean,
          minSeconds: Math.min(...perOp),
          algbwGBps: algbw,
          busbwGBps: busbw,
          cpuSecondsPerOpPerRank: cpuPerRank.reduce((a, b) => a + b, 0) / n,
          cpuSecondsPerOpMaxRank: Math.max(...cpuPerRank),
          raw: rawResult,
          busbwOverRawOneWay: rawResult ? busbw / rawResult.oneWayGBps : null,
          busbwOverRawBothWays: rawResult ? busbw / rawResult.bothWaysGBps : null,
          busbwOverRawBothWaysResident: rawResult ? busbw / rawResult.bothWaysResidentGBps : null,
        });
        group.releaseBuffer(data);
      }
    }
  } finally {
    raw?.close();
  }
  return {
    processes: n,
    buffers: options.buffers ?? 'registered',
    transport:
      group instanceof GrpcProcessGroup
        ? `${group.dataTransport} (data plane into rank ${acc.rank})`
        : 'none (one process)',
    definitions: {
      sizeMB: "bytes of the array in the wire dtype / 2^20 (nccl-tests' size)",
      algbwGBps: 'size / mean seconds per all-reduce (1e9 bytes/s)',
      busbwGBps: 'algbw × 2(n−1)/n (nccl-tests): each link carries this many bytes/s',
      cpuSecondsPerOpPerRank: 'user + system CPU seconds of one all-reduce, mean over ranks',
      rawOneWayGBps:
        'one stream rank 0 → rank 1 of the same bytes, same transport, read into a fixed buffer; best round',
      rawBothWaysGBps:
        'a stream each way between ranks 0 and 1 at once (the ring traffic of 2 ranks), per direction; best round',
      rawBothWaysResidentGBps:
        'a stream each way between ranks 0 and 1 from and into arrays of the measured size (bytes in main memory, as a tensor), per direction; best round',
      rawBothWaysCpuSecondsPerRank:
        'user + system CPU seconds of ranks 0 and 1 during that two-way round (the transport cost alone)',
    },
    rows,
  };
}

const fixed = (v: number | null, digits: number): string => (v === null ? '-' : v.toFixed(digits));

/** The report as a terminal table, one row per size and dtype. */
export function formatBenchmarkTable(report: BenchmarkReport): string {
  const header = [
    'size MB',
    'dtype',
    'elements',
    'time ms',
    'algbw GB/s',
    'busbw GB/s',
    'CPU s/rank',
    'raw CPU s',
    'raw 1-way',
    'raw 2-way',
    'raw 2-way res',
    'bus/raw1',
    'bus/raw2',
    'bus/raw2 res',
  ];
  const lines = report.rows.map((r) => [
    String(r.sizeMB),
    r.dtype,
    String(r.elements),
    (r.meanSeconds * 1000).toFixed(1),
    r.algbwGBps.toFixed(2),
    r.busbwGBps.toFixed(2),
    r.cpuSecondsPerOpPerRank.toFixed(3),
    fixed(r.raw?.bothWaysCpuSecondsPerRank ?? null, 3),
    fixed(r.raw?.oneWayGBps ?? null, 2),
    fixed(r.raw?.bothWaysGBps ?? null, 2),
    fixed(r.raw?.bothWaysResidentGBps ?? null, 2),
    fixed(r.busbwOverRawOneWay, 2),
    fixed(r.busbwOverRawBothWays, 2),
    fixed(r.busbwOverRawBothWaysResident, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]): string =>
    cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `# all-reduce (sum) over ${report.processes} process(es); data plane: ${report.transport}; arrays: ${report.buffers}`,
    `# raw = a plain stream between ranks 0 and 1 over a socket, same run (GB/s per direction), from a cached 4 MiB buffer; res = from and into arrays of the size (main memory)`,
    row(header),
    ...lines.map(row),
  ].join('\n');
}

/** Parses `--sizes_mb 4,64,440` (or `--sizes-mb`) style lists; a bad entry is a one-line error. */
export function parseBenchmarkOptions(args: readonly string[]): BenchmarkOptions {
  const value = (name: string, fallback: string): string => {
    const i = args.findIndex((a) => a === `--${name}` || a === `--${name.replace('_', '-')}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const sizesMb = value('sizes_mb', '4,64,440')
    .split(',')
    .map((s) => {
      const mb = Number(s);
      if (s.trim() === '' || !Number.isFinite(mb) || mb <= 0 || mb > 64 * 1024)
        throw new RangeError(`--sizes_mb: '${s}' is not a size in MB between 0 and 65536`);
      return mb;
    });
  const dtypes = value('dtype', 'fp32')
    .split(',')
    .map((d) => {
      if (d !== 'fp32' && d !== 'fp16' && d !== 'bf16')
        throw new RangeError(`--dtype: '${d}' is not one of fp32, fp16, bf16`);
      return d;
    });
  const iterations = value('iterations', '');
  const buffers = value('buffers', 'registered');
  if (buffers !== 'registered' && buffers !== 'plain')
    throw new RangeError(`--buffers: '${buffers}' is not one of registered, plain`);
  return {
    sizesMb,
    dtypes,
    buffers,
    iterations: iterations === '' ? undefined : Math.max(1, Number(iterations) | 0),
  };
}
