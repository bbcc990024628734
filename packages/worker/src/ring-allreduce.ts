/**
 * Ring all-reduce (reduce-scatter, then all-gather) over a RingLink, chunked into pieces that
 * are pipelined: a piece is forwarded as soon as it has been reduced (written in place into the
 * link's free shared slot when there is one, or read by the neighbour straight from `data` when
 * it is a registered buffer), so all ring edges carry data at once. Why every
 * rank ends bit-identical: each block's sum is computed once, by the rank that owns it, in
 * ring order; the all-gather then copies those exact bits to everyone (with a half-precision
 * wire the owner rounds its own copy the same way the wire does).
 */
import { ProtocolError, type ReduceOp, type WireDType } from './process-group.js';
import { copyPiece, encodeHalf, reducePiece } from './reduce-kernels.js';
import { checkFrame, type RingFrame, type RingLink, type WireFormat } from './ring-link.js';

const WIRE_FORMATS: Record<WireDType, WireFormat> = {
  fp32: 'WIRE_FORMAT_FP32',
  fp16: 'WIRE_FORMAT_FP16',
  bf16: 'WIRE_FORMAT_BF16',
};

/** [start, end) of block `c` when `length` elements are split into `n` near-equal blocks. */
export function blockRange(length: number, n: number, c: number): [number, number] {
  const base = Math.floor(length / n);
  const extra = length % n;
  const start = c * base + Math.min(c, extra);
  return [start, start + base + (c < extra ? 1 : 0)];
}

/** [start, end) ranges of the pieces of [start, end), each at most `pieceElements` long. */
export function pieceRanges(
  start: number,
  end: number,
  pieceElements: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = start; s < end; s += pieceElements) out.push([s, Math.min(end, s + pieceElements)]);
  return out;
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** All-reduces `data` in place over the ring; `op` is this collective's sequence number. */
export async function ringAllReduce(
  link: RingLink,
  op: number,
  data: Float32Array,
  reduce: ReduceOp,
  wire: WireDType,
  pieceBytes = link.maxPayloadBytes,
): Promise<Float32Array> {
  const n = link.worldSize;
  const r = link.rank;
  if (n === 1 || data.length === 0) return data;
  const format = WIRE_FORMATS[wire];
  const half = wire === 'fp32' ? undefined : wire;
  const elementBytes = half ? 2 : 4;
  if (!(pieceBytes > 0)) throw new RangeError(`piece size ${pieceBytes} must be positive`);
  const pieceElements = Math.max(
    1,
    Math.floor(Math.min(pieceBytes, link.maxPayloadBytes) / elementBytes),
  );
  const total = data.length;
  const pieces = (c: number): Array<[number, number]> => {
    const [s, e] = blockRange(total, n, c);
    return pieceRanges(s, e, pieceElements);
  };
  const frameOf = (step: number, piece: number, payload: Uint8Array): RingFrame => ({
    op,
    kind: 'FRAME_KIND_ALL_REDUCE',
    step,
    piece,
    total,
    origin: 0,
    format,
    payload,
  });
  /** Sends piece [s, e) of `data` as (step, piece): the array's own bytes, or its half encoding. */
  const send = (
    step: number,
    piece: number,
    [s, e]: [number, number],
    spareStage = false,
  ): Promise<void> => {
    if (!half) {
      const payload = new Uint8Array(data.buffer, data.byteOffset + s * 4, (e - s) * 4);
      return link.send(frameOf(step, piece, payload), { spareStage });
    }
    // Encoded straight into a free shared slot when there is one (sparing one as asked);
    // otherwise into an array of its own, which the link may hold until written.
    const payload = link.stage?.((e - s) * 2, spareStage ? 1 : 0) ?? new Uint8Array((e - s) * 2);
    encodeHalf(
      data.subarray(s, e),
      new Uint16Array(payload.buffer, payload.byteOffset, e - s),
      half,
    );
    return link.send(frameOf(step, piece, payload), { spareStage });
  };
  // Wire steps 0..n-2 are the reduce-scatter: at step t this rank receives block (r-t-1) from
  // the left and adds its own contribution; after n-1 steps it owns block (r+1) fully reduced.
  // Steps n-1..2n-3 are the all-gather: at step n-1+t it receives the finished block (r-t).
  // Each piece travels the ring on its own: a rank forwards piece p of step t+1 as soon as it
  // has processed piece p of step t (step 0: this rank's own block), so sending, receiving and
  // adding overlap. Pieces may therefore arrive in any order (each exactly once); their sums do
  // not depend on it, since every piece still passes the ranks in ring order.
  const steps = 2 * (n - 1);
  const received = (step: number): number =>
    step < n - 1 ? mod(r - step - 1, n) : mod(r - (step - n + 1), n);
  const plan = Array.from({ length: steps }, (_, step) => pieces(received(step)));
  const expected = plan.reduce((count, ranges) => count + ranges.length, 0);
  const own = pieces(r);
  const seen = plan.map((ranges) => new Uint8Array(ranges.length));
  // Pieces this rank has handed to the link (marked as the send starts: a peer cannot answer
  // before), per step it sent them at (step t sends what step t-1 received; step 0 its own block).
  const sent = plan.map((_, t) => new Uint8Array((t === 0 ? own : plan[t - 1]).length));
  const left = mod(r - 1, n);

  // Pieces the send loop still has to forward, in the order they became ready.
  const forwards: Array<{ step: number; piece: number }> = [];
  let forwardsLeft = expected - plan[steps - 1].length;
  let wakeSender: (() => void) | undefined;
  let failed: Error | undefined;
  const wake = (): void => {
    const w = wakeSender;
    wakeSender = undefined;
    w?.();
  };

  const checkPiece = (frame: RingFrame): [number, number] => {
    checkFrame(
      frame,
      { op, kind: 'FRAME_KIND_ALL_REDUCE', step: frame.step, piece: frame.piece, total, format },
      left,
    );
    const { step, piece } = frame;
    if (
      !(step >= 0 && step < steps && piece >= 0 && piece < plan[step].length) ||
      seen[step][piece]
    )
      throw new ProtocolError(
        `rank ${left} sent step ${step} piece ${piece} of collective #${op}, which this rank ` +
          `expected ${seen[step]?.[piece] ? 'only once' : 'never'}`,
      );
    const [s, e] = plan[step][piece];
    if (frame.payload.byteLength !== (e - s) * elementBytes)
      throw new ProtocolError(
        `rank ${left} sent ${frame.payload.byteLength} payload bytes where ${(e - s) * elementBytes} ` +
          `were expected (collective #${op}, step ${step}, piece ${piece})`,
      );
    // A finished block comes back only after this rank sent its part of it (at step
    // step-n+1); earlier, it would overwrite values not yet sent. No correct peer does that.
    if (step >= n - 1 && !sent[step - n + 1][piece])
      throw new ProtocolError(
        `rank ${left} sent the finished step ${step} piece ${piece} of collective #${op} ` +
          `before this rank sent its part of it`,
      );
    seen[step][piece] = 1;
    return [s, e];
  };

  /**
   * Processes one received piece. When it is to be forwarded and the link has room for a
   * payload right now (a free shared slot), the outgoing payload is written there as it is
   * computed and sent at once: no second pass over the block, and no wait for the send loop.
   */
  const processPiece = async (frame: RingFrame): Promise<void> => {
    const [s, e] = checkPiece(frame);
    const { step, piece } = frame;
    const block = data.subarray(s, e);
    const forwarded = step + 1 < steps;
    const blockBytes = new Uint8Array(data.buffer, data.byteOffset + s * 4, (e - s) * 4);
    const inPlace = forwarded && !half && link.readsInPlace?.(blockBytes) === true;
    const out = forwarded && !inPlace ? link.stage?.((e - s) * elementBytes) : undefined;
    if (step < n - 1) {
      // Incoming (the ranks before) + own contribution: the order every rank uses.
      const last = step === n - 2;
      reducePiece(block, frame.payload, wire, {
        divisor: last && reduce === 'mean' ? n : undefined,
        round: last && half !== undefined,
        out,
      });
    } else copyPiece(block, frame.payload, wire, out);
    if (!forwarded) return;
    const payload = inPlace ? blockBytes : out;
    if (!payload) {
      forwards.push({ step: step + 1, piece });
      return wake();
    }
    forwardsLeft--;
    sent[step + 1][piece] = 1;
    await link.send(frameOf(step + 1, piece, payload));
    wake();
  };

  const receiveLoop = async (): Promise<void> => {
    try {
      for (let k = 0; k < expected; k++) {
        await processPiece(await link.recv());
        // Frames already queued resolve at once, so without this the loop would add
        // piece after piece without the event loop reading the peer's credits and headers
        // in between, and the send loop (and so the peer) would stall meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      failed = error as Error;
      wake();
      throw error;
    }
  };
  const sendLoop = async (): Promise<void> => {
    let nextOwn = 0;
    while (nextOwn < own.length || forwardsLeft > 0) {
      if (failed) return;
      // Forwarded pieces first: the ranks downstream are waiting for them.
      const next = forwards.shift();
      if (next) {
        forwardsLeft--;
        sent[next.step][next.piece] = 1;
        await send(next.step, next.piece, plan[next.step - 1][next.piece]);
      } else if (nextOwn < own.length) {
        // Leaves a shared slot for the receive loop's forwards when slots run short.
        const piece = nextOwn++;
        sent[0][piece] = 1;
        await send(0, piece, own[piece], true);
      } else await new Promise<void>((resolve) => (wakeSender = resolve));
    }
  };
  await Promise.all([sendLoop(), receiveLoop()]);
  return data;
}
