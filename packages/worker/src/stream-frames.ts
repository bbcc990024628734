/**
 * Frames of the data plane (data-plane.ts): a fixed 40-byte little-endian header followed by
 * the raw payload bytes (a Float32Array's own bytes for fp32; no protobuf, no copy on send).
 *   0 u32 magic   4 u8 kind   5 u8 format   6 u16 zero   8 u32 step   12 u32 piece
 *  16 u32 origin  20 u32 payload length     24 f64 op    32 f64 total
 * A header is checked before anything is allocated for its payload.
 */
import { ProtocolError } from './process-group.js';
import type { FrameKind, RingFrame, WireFormat } from './ring-link.js';

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 40;
/** 'NERF' little-endian: the first four bytes of every frame. */
const MAGIC = 0x4652454e;

const KINDS: ReadonlyArray<FrameKind | 'GOODBYE'> = [
  'FRAME_KIND_ALL_REDUCE',
  'FRAME_KIND_BROADCAST',
  'FRAME_KIND_ALL_GATHER',
  'GOODBYE',
];
const FORMATS: readonly WireFormat[] = [
  'WIRE_FORMAT_FP32',
  'WIRE_FORMAT_FP16',
  'WIRE_FORMAT_BF16',
  'WIRE_FORMAT_BYTES',
];

/** A decoded header: the frame without its payload, or the goodbye that precedes a clean close. */
export type FrameHeader =
  { kind: 'GOODBYE'; payloadBytes: 0 } | (Omit<RingFrame, 'payload'> & { payloadBytes: number });

/** Writes the header of `frame` (or of a goodbye) into a fresh 40-byte buffer. */
export function encodeHeader(frame: RingFrame | 'GOODBYE'): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  if (frame === 'GOODBYE') {
    view.setUint8(4, KINDS.indexOf('GOODBYE') + 1);
    return bytes;
  }
  view.setUint8(4, KINDS.indexOf(frame.kind) + 1);
  view.setUint8(5, FORMATS.indexOf(frame.format));
  view.setUint32(8, frame.step, true);
  view.setUint32(12, frame.piece, true);
  view.setUint32(16, frame.origin, true);
  view.setUint32(20, frame.payload.byteLength, true);
  view.setFloat64(24, frame.op, true);
  view.setFloat64(32, frame.total, true);
  return bytes;
}

/** Decodes and validates a header from `fromRank`; a payload above `maxPayloadBytes` is refused. */
export function decodeHeader(
  bytes: Uint8Array,
  fromRank: number,
  maxPayloadBytes: number,
): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC)
    throw new ProtocolError(
      `rank ${fromRank} sent bytes that are not a data-plane frame (header starts 0x${magic.toString(16).padStart(8, '0')})`,
    );
  const kind = KINDS[view.getUint8(4) - 1];
  const format = FORMATS[view.getUint8(5)];
  if (kind === undefined || format === undefined)
    throw new ProtocolError(
      `rank ${fromRank} sent a data-plane frame of unknown kind ${view.getUint8(4)} / format ${view.getUint8(5)}`,
    );
  const payloadBytes = view.getUint32(20, true);
  if (kind === 'GOODBYE') {
    if (payloadBytes !== 0)
      throw new ProtocolError(`rank ${fromRank} sent a goodbye frame with a payload`);
    return { kind, payloadBytes: 0 };
  }
  if (payloadBytes > maxPayloadBytes)
    throw new ProtocolError(
      `rank ${fromRank} announced a data-plane frame of ${payloadBytes} payload bytes, above the cap of ${maxPayloadBytes}: refused before reading it`,
    );
  const op = view.getFloat64(24, true);
  const total = view.getFloat64(32, true);
  if (!Number.isSafeInteger(op) || op < 0 || !Number.isSafeInteger(total) || total < 0)
    throw new ProtocolError(`rank ${fromRank} sent a data-plane frame with a malformed header`);
  return {
    kind,
    format,
    op,
    total,
    step: view.getUint32(8, true),
    piece: view.getUint32(12, true),
    origin: view.getUint32(16, true),
    payloadBytes,
  };
}
