// Property tests (fast-check) for the codec: round trips, decode never throws, truncation
// and single-bit corruption are always noticed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DROP_REASONS,
  bytesToIpv4,
  bytesToIpv6,
  canonicalAddress,
  decode,
  encode,
  encodeIpv4Header,
  encodeIpv4Packet,
  parseIpv6,
  type Advert,
  type ChecksumForm,
  type DecodeContext,
  type DecodeResult,
} from '../../src/protocol/index.js';
import { roundTrip } from '../helpers/round-trip.js';

const RUNS = { numRuns: 500 };

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => bytesToIpv4(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIpv6(b));

interface Case {
  readonly advert: Advert;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly checksumForm: ChecksumForm;
}

const v2Case: fc.Arbitrary<Case> = fc
  .record({
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    addresses: fc.array(ipv4, { maxLength: 20 }),
    seconds: fc.integer({ min: 1, max: 255 }),
    authType: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    authData: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    src: ipv4,
    dst: ipv4,
  })
  .map((r): Case => ({
    advert: {
      version: 2, type: 1, vrid: r.vrid, priority: r.priority, addresses: r.addresses,
      intervalCs: r.seconds * 100, authType: r.authType, authData: Buffer.from(r.authData),
    },
    family: 4, src: r.src, dst: r.dst, checksumForm: 'noPseudoHeader',
  }));

const v3Case: fc.Arbitrary<Case> = fc
  .record({
    family: fc.constantFrom(4, 6) as fc.Arbitrary<4 | 6>,
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    count: fc.integer({ min: 0, max: 20 }),
    intervalCs: fc.integer({ min: 1, max: 4095 }),
    form: fc.constantFrom('pseudoHeader', 'noPseudoHeader', 'pseudoHeaderMcastDst') as fc.Arbitrary<ChecksumForm>,
    v4: fc.array(ipv4, { minLength: 22, maxLength: 22 }),
    v6: fc.array(ipv6, { minLength: 22, maxLength: 22 }),
  })
  .map((r): Case => {
    const pool = r.family === 4 ? r.v4 : r.v6;
    return {
      advert: {
        version: 3, type: 1, vrid: r.vrid, priority: r.priority, addresses: pool.slice(2, 2 + r.count),
        intervalCs: r.intervalCs, authType: 0, authData: Buffer.alloc(0),
      },
      family: r.family,
      src: pool[0] as string,
      dst: pool[1] as string,
      checksumForm: r.family === 6 ? 'pseudoHeader' : r.form,
    };
  })
  .filter((c) => !ambiguous(c));

/**
 * decode tries the v3-over-IPv4 checksum forms in this order; when an earlier form happens to
 * give the same checksum (pseudoHeaderMcastDst sent to 224.0.0.18, or addresses whose pseudo-header
 * sums to zero in ones' complement), the receiver cannot tell which form was sent.
 */
const FORM_ORDER: readonly ChecksumForm[] = ['pseudoHeader', 'noPseudoHeader', 'pseudoHeaderMcastDst'];
function ambiguous(c: Case): boolean {
  if (c.advert.version !== 3 || c.family !== 4) return false;
  const sent = encode(c.advert, { family: 4, src: c.src, dst: c.dst, checksumForm: c.checksumForm });
  return FORM_ORDER.slice(0, FORM_ORDER.indexOf(c.checksumForm)).some((f) =>
    encode(c.advert, { family: 4, src: c.src, dst: c.dst, checksumForm: f }).equals(sent),
  );
}

const anyCase = fc.oneof(v2Case, v3Case);

/** The bytes a raw socket hands over for this case, and the decode context. */
function wire(c: Case): { bytes: Buffer; ctx: DecodeContext } {
  if (c.family === 4)
    return { bytes: encodeIpv4Packet(c.advert, { src: c.src, dst: c.dst, checksumForm: c.checksumForm }), ctx: { family: 4 } };
  return {
    bytes: encode(c.advert, { family: 6, src: c.src, dst: c.dst }),
    ctx: { family: 6, src: c.src, dst: c.dst, hopLimit: 255 },
  };
}

function assertWellFormed(r: DecodeResult): void {
  if (r.ok) {
    const a = r.packet.advert;
    assert.ok(a.version === 2 || a.version === 3);
    assert.ok(a.vrid >= 0 && a.vrid <= 255 && a.priority >= 0 && a.priority <= 255);
    assert.ok(a.addresses.every((x) => canonicalAddress(x) === x));
  } else {
    assert.ok((DROP_REASONS as readonly string[]).includes(r.reason), r.reason);
    assert.equal(typeof r.detail, 'string');
    assert.ok(r.detail.length > 0);
  }
}

describe('codec properties', () => {
  it('decode(encode(p)) = p for valid v2 and v3 adverts over IPv4 and IPv6', () => {
    fc.assert(
      fc.property(anyCase, (c) => {
        const opts = { family: c.family, src: c.src, dst: c.dst };
        roundTrip(c.advert, c.advert.version === 3 && c.family === 4 ? { ...opts, checksumForm: c.checksumForm } : opts);
      }),
      RUNS,
    );
  });

  it('round-trips the largest adverts (255 addresses)', () => {
    const v4 = Array.from({ length: 255 }, (_, i) => `10.1.${i}.1`);
    const v6 = Array.from({ length: 255 }, (_, i) => `fd00::${(i + 1).toString(16)}:1`);
    roundTrip({ version: 2, type: 1, vrid: 255, priority: 255, addresses: v4, intervalCs: 25500, authType: 1, authData: Buffer.from('12345678') }, { family: 4, src: '10.0.0.1', dst: '224.0.0.18' });
    roundTrip({ version: 3, type: 1, vrid: 1, priority: 1, addresses: v4, intervalCs: 4095, authType: 0, authData: Buffer.alloc(0) }, { family: 4, src: '10.0.0.1', dst: '224.0.0.18' });
    roundTrip({ version: 3, type: 1, vrid: 1, priority: 1, addresses: v6, intervalCs: 4095, authType: 0, authData: Buffer.alloc(0) }, { family: 6, src: 'fe80::1', dst: 'ff02::12' });
  });

  it('decode never throws on random bytes and always names a valid reason', () => {
    const ctx: fc.Arbitrary<DecodeContext> = fc.oneof(
      fc.record({ family: fc.constant(4 as const), checkTtl: fc.boolean() }),
      fc.record({ family: fc.constant(6 as const), src: ipv6, dst: ipv6, hopLimit: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), ctx, (bytes, c) => {
        assertWellFormed(decode(bytes, c));
      }),
      { numRuns: 3000 },
    );
  });

  it('decode never throws on random VRRP messages behind a valid IPv4 header', () => {
    // Random bytes rarely get past the IP header; this reaches the VRRP checks.
    const message = fc.tuple(fc.constantFrom(0x21, 0x31, 0x22, 0x41, 0x01), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 100 }));
    fc.assert(
      fc.property(message, ([vt, count, rest]) => {
        const m = Buffer.concat([Buffer.from([vt, 1, 100, count % 30]), rest]);
        const bytes = Buffer.concat([encodeIpv4Header({ src: '10.0.0.1', dst: '224.0.0.18', payloadLength: m.length }), m]);
        const r = decode(bytes, { family: 4 });
        assertWellFormed(r);
        return !r.ok || r.packet.advert.addresses.length === m[3];
      }),
      { numRuns: 3000 },
    );
  });

  it('decode never throws on randomly mutated valid packets', () => {
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(anyCase, edits, (c, es) => {
        const { bytes, ctx } = wire(c);
        const b = Buffer.from(bytes);
        for (const [at, v] of es) b[at % b.length] = v;
        assertWellFormed(decode(b, ctx));
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation of a valid packet is rejected with "length"', () => {
    fc.assert(
      fc.property(anyCase, (c) => {
        const { bytes, ctx } = wire(c);
        for (let n = 0; n < bytes.length; n++) {
          const r = decode(bytes.subarray(0, n), ctx);
          assert.ok(!r.ok && r.reason === 'length', `cut to ${n} of ${bytes.length}: ${JSON.stringify(r)}`);
        }
        if (c.family === 4) {
          // also with an IP header that agrees with the cut (the VRRP message itself is short)
          const msg = bytes.subarray(20);
          for (let n = 0; n < msg.length; n++) {
            const cut = msg.subarray(0, n);
            const pkt = Buffer.concat([encodeIpv4Header({ src: c.src, dst: c.dst, payloadLength: n }), cut]);
            const r = decode(pkt, ctx);
            assert.ok(!r.ok && r.reason === 'length', `message cut to ${n} of ${msg.length}: ${JSON.stringify(r)}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('every single-bit flip is rejected or decodes to a different packet', () => {
    fc.assert(
      fc.property(anyCase, (c) => {
        const { bytes, ctx } = wire(c);
        const original = decode(bytes, ctx);
        assert.ok(original.ok);
        for (let bit = 0; bit < bytes.length * 8; bit++) {
          const b = Buffer.from(bytes);
          b[bit >> 3] = (b[bit >> 3] as number) ^ (0x80 >> (bit & 7));
          const r = decode(b, ctx);
          if (r.ok) assert.notDeepEqual(r.packet, original.packet, `bit ${bit} flipped unnoticed`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('address text (RFC 5952)', () => {
  const whatwg = (a: string): string => new URL(`http://[${a}]/`).hostname.slice(1, -1);

  it('prints IPv6 the way the WHATWG URL serializer does, and parses it back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const text = bytesToIpv6(b);
        assert.equal(text, whatwg(text));
        assert.deepEqual(parseIpv6(text), b);
      }),
      { numRuns: 2000 },
    );
  });

  it('canonicalises any IPv6 spelling to the same text', () => {
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        assert.equal(canonicalAddress(s), whatwg(s));
      }),
      { numRuns: 2000 },
    );
    assert.equal(canonicalAddress('FE80::0:1%eth0'), 'fe80::1');
    assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // RFC 5952 §4.2.3: first longest run
    assert.equal(canonicalAddress('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // §4.2.2: one zero group stays
    assert.equal(canonicalAddress('10.0.0.1/24'), '10.0.0.1');
    assert.equal(canonicalAddress('10.0.0.256'), null);
    assert.equal(canonicalAddress('::'), '::');
  });
});
