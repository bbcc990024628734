/**
 * Broadcast and all-gather (variable sizes) over the ring, pipelined piece by piece like
 * ring-allreduce.ts. Payloads are bytes; Float32Arrays travel as their bytes.
 */
import { ProtocolError } from './process-group.js';
import { checkFrame, type RingLink, type WireFormat } from './ring-link.js';

/** Largest block one rank may contribute to an all-gather (a malformed size is refused, not allocated). */
export const MAX_GATHER_BYTES = 1 << 30;

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** Copies `root`'s bytes into every rank's `data` (same length everywhere), in place. */
export async function ringBroadcast(
  link: RingLink,
  op: number,
  data: Uint8Array,
  root: number,
  format: WireFormat,
): Promise<Uint8Array> {
  const n = link.worldSize;
  const r = link.rank;
  if (n === 1 || data.byteLength === 0) return data;
  const total = data.byteLength;
  const size = link.maxPayloadBytes - (link.maxPayloadBytes % 4);
  const forward = mod(r + 1, n) !== root;
  for (let p = 0, s = 0; s < total; p++, s += size) {
    const e = Math.min(total, s + size);
    if (r !== root) {
      const frame = await link.recv();
      checkFrame(
        frame,
        {
          op,
          kind: 'FRAME_KIND_BROADCAST',
          step: 0,
          piece: p,
          total,
          origin: root,
          format,
          payloadBytes: e - s,
        },
        mod(r - 1, n),
      );
      data.set(frame.payload, s);
    }
    if (forward)
      await link.send({
        op,
        kind: 'FRAME_KIND_BROADCAST',
        step: 0,
        piece: p,
        total,
        origin: root,
        format,
        payload: data.subarray(s, e),
      });
  }
  return data;
}

/** Every rank's bytes (lengths may differ), indexed by rank. */
export async function ringAllGather(
  link: RingLink,
  op: number,
  data: Uint8Array,
  format: WireFormat,
): Promise<Uint8Array[]> {
  const n = link.worldSize;
  const r = link.rank;
  if (data.byteLength > MAX_GATHER_BYTES)
    throw new RangeError(
      `all-gather block of ${data.byteLength} bytes exceeds the ${MAX_GATHER_BYTES}-byte cap`,
    );
  const blocks: Uint8Array[] = new Array<Uint8Array>(n);
  blocks[r] = data;
  if (n === 1) return blocks;
  const size = link.maxPayloadBytes - (link.maxPayloadBytes % 4);
  const sendBlock = async (step: number, origin: number): Promise<void> => {
    const block = blocks[origin];
    const count = Math.max(1, Math.ceil(block.byteLength / size));
    for (let p = 0; p < count; p++)
      await link.send({
        op,
        kind: 'FRAME_KIND_ALL_GATHER',
        step,
        piece: p,
        total: block.byteLength,
        origin,
        format,
        payload: block.subarray(p * size, Math.min(block.byteLength, (p + 1) * size)),
      });
  };
  const left = mod(r - 1, n);
  await sendBlock(0, r);
  for (let t = 0; t < n - 1; t++) {
    const origin = mod(r - t - 1, n);
    const head = await link.recv();
    checkFrame(
      head,
      { op, kind: 'FRAME_KIND_ALL_GATHER', step: t, piece: 0, origin, format },
      left,
    );
    const total = head.total;
    if (!Number.isSafeInteger(total) || total < 0 || total > MAX_GATHER_BYTES)
      throw new ProtocolError(
        `rank ${left} announced an all-gather block of ${total} bytes (cap ${MAX_GATHER_BYTES})`,
      );
    if (format === 'WIRE_FORMAT_FP32' && total % 4 !== 0)
      throw new ProtocolError(
        `rank ${left} announced a float32 block of ${total} bytes (not a multiple of 4)`,
      );
    const block = new Uint8Array(total);
    const count = Math.max(1, Math.ceil(total / size));
    for (let p = 0; p < count; p++) {
      const s = p * size;
      const e = Math.min(total, s + size);
      const frame = p === 0 ? head : await link.recv();
      checkFrame(
        frame,
        {
          op,
          kind: 'FRAME_KIND_ALL_GATHER',
          step: t,
          piece: p,
          total,
          origin,
          format,
          payloadBytes: e - s,
        },
        left,
      );
      block.set(frame.payload, s);
      // Forward piece by piece (pipelining) unless the right neighbour is the block's origin.
      if (t < n - 2)
        await link.send({
          op,
          kind: 'FRAME_KIND_ALL_GATHER',
          step: t + 1,
          piece: p,
          total,
          origin,
          format,
          payload: block.subarray(s, e),
        });
    }
    blocks[origin] = block;
  }
  return blocks;
}
