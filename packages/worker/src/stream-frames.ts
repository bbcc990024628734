/**
 * Frames of the data plane (data-plane.ts): a fixed 40-byte little-endian header followed by
 * the raw payload bytes (a Float32Array's own bytes for fp32; no protobuf, no copy on send).
 *   0 u32 magic   4 u8 kind   5 u8 format   6 u8 in-slot flag   7 u8 slot
 *   8 u32 step    12 u32 piece   16 u32 origin   20 u32 payload length   24 f64 op   32 f64 total
 * A frame whose payload waits in a shared-memory slot (shared-slots.ts) has the in-slot flag
 * set to 1 and no payload bytes on the stream. The offer of a shared region is a frame of its own
 * (kind SHARED_MEMORY: piece = slot count, total = slot bytes, payload = the region's name).
 * A frame whose payload lies in one of the sender's registered buffers (registered-buffers.ts)
 * has the flag set to 2 and, instead of the payload, a 16-byte locator on the stream:
 *   0 u32 region id   4 u32 zero   8 f64 byte offset in the region
 * A registered buffer is announced by a REGION frame (piece = region id, total = bytes, payload
 * = the region's name) and withdrawn by a REGION_FREED frame (piece = region id).
 * A header is checked before anything is allocated for its payload.
 */
import { ProtocolError } from './process-group.js';
import type { FrameKind, RingFrame, WireFormat } from './ring-link.js';

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 40;
/** 'NERF' little-endian: the first four bytes of every frame. */
const MAGIC = 0x4652454e;

const KINDS: ReadonlyArray<FrameKind | 'GOODBYE' | 'SHARED_MEMORY' | 'REGION' | 'REGION_FREED'> = [
  'FRAME_KIND_ALL_REDUCE',
  'FRAME_KIND_BROADCAST',
  'FRAME_KIND_ALL_GATHER',
  'GOODBYE',
  'SHARED_MEMORY',
  'REGION',
  'REGION_FREED',
];
/** Bytes of the locator that follows the header of a frame whose payload is in a registered buffer. */
export const LOCATOR_BYTES = 16;
/** Region ids stay below this (they share the credit words with slots, shared-slots.ts). */
export const MAX_REGION_ID = 1 << 24;
/** Longest region name a SHARED_MEMORY offer may carry. */
const MAX_REGION_NAME_BYTES = 255;
const FORMATS: readonly WireFormat[] = [
  'WIRE_FORMAT_FP32',
  'WIRE_FORMAT_FP16',
  'WIRE_FORMAT_BF16',
  'WIRE_FORMAT_BYTES',
];

/**
 * A decoded header: the frame without its payload (`slot`: the shared slot holding it;
 * `inRegion`: a locator of the registered buffer holding it follows), the goodbye that precedes
 * a clean close, the offer of a shared-memory region, or the announcement or withdrawal of a
 * registered buffer.
 */
export type FrameHeader =
  | { kind: 'GOODBYE'; payloadBytes: 0 }
  | { kind: 'SHARED_MEMORY'; payloadBytes: number; slots: number; slotBytes: number }
  | { kind: 'REGION'; payloadBytes: number; region: number; regionBytes: number }
  | { kind: 'REGION_FREED'; payloadBytes: 0; region: number }
  | (Omit<RingFrame, 'payload'> & { payloadBytes: number; slot?: number; inRegion?: true });

/** Writes the header of `frame` (or of a goodbye) into a fresh 40-byte buffer; `slot`: its payload waits there, not on the stream. */
export function encodeHeader(frame: RingFrame | 'GOODBYE', slot?: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  if (frame === 'GOODBYE') {
    view.setUint8(4, KINDS.indexOf('GOODBYE') + 1);
    return bytes;
  }
  if (slot !== undefined) {
    view.setUint8(6, 1);
    view.setUint8(7, slot);
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
  if (kind === 'REGION' || kind === 'REGION_FREED') {
    const region = view.getUint32(12, true);
    const regionBytes = view.getFloat64(32, true);
    const named = kind === 'REGION';
    if (
      region >= MAX_REGION_ID ||
      (named
        ? payloadBytes === 0 ||
          payloadBytes > MAX_REGION_NAME_BYTES ||
          !Number.isSafeInteger(regionBytes) ||
          regionBytes <= 0
        : payloadBytes !== 0)
    )
      throw new ProtocolError(
        `rank ${fromRank} sent a malformed ${named ? 'registered-buffer announcement' : 'registered-buffer withdrawal'}`,
      );
    return named ? { kind, payloadBytes, region, regionBytes } : { kind, payloadBytes: 0, region };
  }
  if (kind === 'SHARED_MEMORY') {
    if (payloadBytes === 0 || payloadBytes > MAX_REGION_NAME_BYTES)
      throw new ProtocolError(
        `rank ${fromRank} offered shared memory with a name of ${payloadBytes} bytes`,
      );
    return {
      kind,
      payloadBytes,
      slots: view.getUint32(12, true),
      slotBytes: view.getFloat64(32, true),
    };
  }
  const inSlot = view.getUint8(6);
  if (inSlot > 2)
    throw new ProtocolError(
      `rank ${fromRank} sent a data-plane frame with unknown flags ${inSlot}`,
    );
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
    ...(inSlot === 1 ? { slot: view.getUint8(7) } : {}),
    ...(inSlot === 2 ? { inRegion: true as const } : {}),
  };
}

/** The header and locator of `frame`, whose payload lies at byte `offset` of registered buffer `region`. */
export function encodeRegionReference(
  frame: RingFrame,
  region: number,
  offset: number,
): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + LOCATOR_BYTES);
  bytes.set(encodeHeader(frame));
  const view = new DataView(bytes.buffer);
  view.setUint8(6, 2);
  view.setUint32(FRAME_HEADER_BYTES, region, true);
  view.setFloat64(FRAME_HEADER_BYTES + 8, offset, true);
  return bytes;
}

/** The region id and byte offset of a locator from `fromRank`. */
export function decodeLocator(
  bytes: Uint8Array,
  fromRank: number,
): { region: number; offset: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, LOCATOR_BYTES);
  const region = view.getUint32(0, true);
  const offset = view.getFloat64(8, true);
  if (view.getUint32(4, true) !== 0 || !Number.isSafeInteger(offset) || offset < 0)
    throw new ProtocolError(`rank ${fromRank} sent a malformed registered-buffer locator`);
  return { region, offset };
}

/**
 * The header of a control frame: a count or id in the piece field, the length of the bytes
 * that follow it in the payload-length field, a size in the total field.
 */
function controlHeader(
  kind: 'SHARED_MEMORY' | 'REGION' | 'REGION_FREED',
  piece: number,
  payloadBytes: number,
  total: number,
): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, KINDS.indexOf(kind) + 1);
  view.setUint32(12, piece, true);
  view.setUint32(20, payloadBytes, true);
  view.setFloat64(32, total, true);
  return bytes;
}

/** The header announcing registered buffer `region` of `regionBytes` bytes, shared as `name` (which follows it). */
export function encodeRegionAnnouncement(
  name: Uint8Array,
  region: number,
  regionBytes: number,
): Uint8Array {
  return controlHeader('REGION', region, name.byteLength, regionBytes);
}

/** The header withdrawing registered buffer `region` (the receiver unmaps it). */
export function encodeRegionFreed(region: number): Uint8Array {
  return controlHeader('REGION_FREED', region, 0, 0);
}

/** The header offering the right neighbour `slots` shared slots of `slotBytes` bytes in the region `name`. */
export function encodeSharedMemoryOffer(
  name: Uint8Array,
  slots: number,
  slotBytes: number,
): Uint8Array {
  return controlHeader('SHARED_MEMORY', slots, name.byteLength, slotBytes);
}
