import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RingFrame } from '../src/ring-link.js';
import {
  FRAME_HEADER_BYTES,
  LOCATOR_BYTES,
  MAX_REGION_ID,
  decodeHeader,
  decodeLocator,
  encodeHeader,
  encodeRegionAnnouncement,
  encodeRegionFreed,
  encodeRegionReference,
} from '../src/stream-frames.js';

const frame: RingFrame = {
  op: 12,
  kind: 'FRAME_KIND_ALL_REDUCE',
  step: 1,
  piece: 3,
  total: 1 << 20,
  origin: 0,
  format: 'WIRE_FORMAT_FP32',
  payload: new Uint8Array(4096),
};

test('a frame placed in a registered buffer carries its header and a locator instead of its payload', () => {
  const bytes = encodeRegionReference(frame, 7, 3 * 4096 + 8);
  assert.equal(bytes.byteLength, FRAME_HEADER_BYTES + LOCATOR_BYTES);
  const { payload: _payload, ...fields } = frame;
  assert.deepEqual(decodeHeader(bytes.subarray(0, FRAME_HEADER_BYTES), 1, 1 << 22), {
    ...fields,
    payloadBytes: 4096,
    inRegion: true,
  });
  assert.deepEqual(decodeLocator(bytes.subarray(FRAME_HEADER_BYTES), 1), {
    region: 7,
    offset: 3 * 4096 + 8,
  });
  const plain = decodeHeader(encodeHeader(frame), 1, 1 << 22);
  assert.ok(!('inRegion' in plain) && !('slot' in plain));
});

test('announcements and withdrawals of registered buffers decode; malformed ones are refused', () => {
  const name = new TextEncoder().encode('ner-launch-1-0123456789abcdef');
  assert.deepEqual(decodeHeader(encodeRegionAnnouncement(name, 5, 1 << 30), 2, 1024), {
    kind: 'REGION',
    payloadBytes: name.byteLength,
    region: 5,
    regionBytes: 1 << 30,
  });
  assert.deepEqual(decodeHeader(encodeRegionFreed(5), 2, 1024), {
    kind: 'REGION_FREED',
    payloadBytes: 0,
    region: 5,
  });
  const tooHigh = encodeRegionAnnouncement(name, 0, 4096);
  new DataView(tooHigh.buffer).setUint32(12, MAX_REGION_ID, true);
  assert.throws(
    () => decodeHeader(tooHigh, 2, 1024),
    /rank 2 sent a malformed registered-buffer announcement/,
  );
  const empty = encodeRegionAnnouncement(name, 0, 0);
  assert.throws(() => decodeHeader(empty, 2, 1024), /malformed registered-buffer announcement/);
  const freedWithPayload = encodeRegionFreed(1);
  new DataView(freedWithPayload.buffer).setUint32(20, 4, true);
  assert.throws(
    () => decodeHeader(freedWithPayload, 2, 1024),
    /malformed registered-buffer withdrawal/,
  );
  const flags = encodeHeader(frame);
  flags[6] = 3;
  assert.throws(() => decodeHeader(flags, 2, 1 << 22), /unknown flags 3/);
  const locator = encodeRegionReference(frame, 0, 0).subarray(FRAME_HEADER_BYTES);
  locator[4] = 1;
  assert.throws(
    () => decodeLocator(locator, 2),
    /rank 2 sent a malformed registered-buffer locator/,
  );
});
