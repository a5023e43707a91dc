// The codec's round-trip check (after dns-packet's): encode, check the length against
// encodingLength, decode (also from inside a bigger buffer), compare, re-encode.
import assert from 'node:assert/strict';
import {
  decode,
  encode,
  encodeIpv4Packet,
  encodingLength,
  type Advert,
  type ChecksumForm,
  type DecodeContext,
  type VrrpPacket,
} from '../../src/protocol/index.js';

export interface RoundTripOptions {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly checksumForm?: ChecksumForm;
}

/** Asserts the round trip and returns the decoded packet. */
export function roundTrip(advert: Advert, opts: RoundTripOptions): VrrpPacket {
  const ctx = { family: opts.family, src: opts.src, dst: opts.dst, checksumForm: opts.checksumForm };
  const message = encode(advert, ctx);
  assert.equal(message.length, encodingLength(advert), 'encode length = encodingLength');

  let wire: Buffer;
  let dctx: DecodeContext;
  if (opts.family === 4) {
    wire = encodeIpv4Packet(advert, { src: opts.src, dst: opts.dst, checksumForm: opts.checksumForm });
    assert.deepEqual(wire.subarray(20), message, 'encodeIpv4Packet carries the same message');
    dctx = { family: 4 };
  } else {
    wire = message;
    dctx = { family: 6, src: opts.src, dst: opts.dst, hopLimit: 255 };
  }

  const result = decode(wire, dctx);
  assert.ok(result.ok, `decode failed: ${result.ok ? '' : `${result.reason}: ${result.detail}`}`);
  const packet = result.packet;
  assert.deepEqual(packet.advert, advert, 'decode(encode(advert)) = advert');
  assert.equal(packet.family, opts.family);
  if (advert.version === 3) assert.equal(packet.checksumForm, opts.checksumForm ?? 'pseudoHeader');

  // Decode at an offset: the codec must not assume byteOffset 0.
  const padded = Buffer.alloc(wire.length + 13, 0xa5);
  wire.copy(padded, 7);
  const again = decode(padded.subarray(7, 7 + wire.length), dctx);
  assert.ok(again.ok);
  assert.deepEqual(again.packet, packet, 'decode at an offset gives the same packet');

  assert.deepEqual(encode(packet.advert, ctx), message, 're-encode gives the same bytes');
  return packet;
}
