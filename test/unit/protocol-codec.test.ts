// Byte-level tests of the VRRP codec against hand-built packets. Expected checksums were
// computed once by an independent implementation (Python, RFC 1071 sum) and are cross-checked
// by tshark in protocol-tshark.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DROP_REASONS,
  decode,
  emptyDropCounters,
  encode,
  encodeIpv4Header,
  encodeIpv4Packet,
  encodingLength,
  internetChecksum,
  isDropReason,
  type Advert,
  type DecodeContext,
  type DecodeResult,
} from '../../src/protocol/index.js';
import { roundTrip } from '../helpers/round-trip.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function v2(fields: Partial<Advert> = {}): Advert {
  return {
    version: 2, type: 1, vrid: 7, priority: 100, addresses: ['10.0.0.50'],
    intervalCs: 100, authType: 0, authData: Buffer.alloc(8), ...fields,
  };
}
function v3(fields: Partial<Advert> = {}): Advert {
  return {
    version: 3, type: 1, vrid: 9, priority: 200, addresses: ['10.0.0.50'],
    intervalCs: 100, authType: 0, authData: Buffer.alloc(0), ...fields,
  };
}

function assertDrop(r: DecodeResult, reason: string): void {
  assert.equal(r.ok, false, `expected a drop for ${reason}, got ${JSON.stringify(r)}`);
  if (!r.ok) {
    assert.equal(r.reason, reason, r.detail);
    assert.ok(r.detail.length > 0);
  }
}

/** An IPv4 packet around an arbitrary VRRP message (valid IP header). */
function ipv4(message: Uint8Array, over: { ttl?: number; protocol?: number; dst?: string } = {}): Buffer {
  const header = encodeIpv4Header({ src: '10.0.0.1', dst: over.dst ?? '224.0.0.18', payloadLength: message.length, ...over });
  return Buffer.concat([header, message]);
}

/** Recomputes a VRRPv2 / message-only checksum after a test changed the bytes. */
function refreshChecksum(message: Buffer): Buffer {
  const m = Buffer.from(message);
  m.writeUInt16BE(0, 6);
  m.writeUInt16BE(internetChecksum(m), 6);
  return m;
}

const V4: DecodeContext = { family: 4 };

describe('RFC 3768 §5.1 / §5.3.8: VRRPv2 packet format and checksum', () => {
  // version 2, type 1 | vrid 7 | prio 100 | 1 address | auth 0 | 1 s | checksum | 10.0.0.50 | 8 zero auth octets
  const A = hex('21 07 64 01 00 01 70 c4 0a 00 00 32 00 00 00 00 00 00 00 00');
  // auth type 1 (§5.3.6.2 simple text password "secret", zero-padded), 3 s, two addresses
  const B = hex('21 07 64 02 01 03 29 42 0a 00 00 32 0a 00 00 33 73 65 63 72 65 74 00 00');

  it('encodes a v2 advert without authentication byte for byte', () => {
    assert.deepEqual(encode(v2(), { family: 4 }), A);
    assert.equal(encodingLength(v2()), 20);
  });

  it('encodes a v2 PASS advert with two addresses byte for byte', () => {
    const advert = v2({ addresses: ['10.0.0.50', '10.0.0.51'], authType: 1, intervalCs: 300, authData: Buffer.from('secret\0\0') });
    assert.deepEqual(encode(advert, { family: 4 }), B);
    assert.equal(encodingLength(advert), 24);
  });

  it('decodes them to the same fields', () => {
    const a = decode(ipv4(A), V4);
    assert.ok(a.ok);
    assert.deepEqual(a.packet, {
      family: 4, src: '10.0.0.1', dst: '224.0.0.18', ttl: 255, advert: v2(), checksumForm: 'noPseudoHeader',
    });
    const b = decode(ipv4(B), V4);
    assert.ok(b.ok);
    assert.equal(b.packet.advert.intervalCs, 300);
    assert.deepEqual(b.packet.advert.addresses, ['10.0.0.50', '10.0.0.51']);
    assert.equal(b.packet.advert.authType, 1);
    assert.deepEqual(b.packet.advert.authData, Buffer.from('secret\0\0'));
  });

  it('round-trips', () => {
    roundTrip(v2(), { family: 4, src: '10.0.0.1', dst: '224.0.0.18' });
    roundTrip(v2({ addresses: [], priority: 0 }), { family: 4, src: '10.0.0.1', dst: '10.0.0.2' });
  });
});

describe('RFC 5798 §5.1 / §5.2.8: VRRPv3 packet format and pseudo-header checksum', () => {
  // version 3, type 1 | vrid 9 | prio 200 | 1 address | rsvd 0 + 100 cs | checksum | 10.0.0.50
  const C = hex('31 09 c8 01 00 64 11 ce 0a 00 00 32'); // pseudo-header 10.0.0.2 → 224.0.0.18
  const Cplain = hex('31 09 c8 01 00 64 fc 5e 0a 00 00 32'); // the message alone
  const Cunicast = hex('31 09 c8 01 00 64 e7 dd 0a 00 00 32'); // pseudo-header 10.0.0.2 → 10.0.0.3
  // IPv6: fe80::1 → ff02::12, 50 cs, fd00::50 and fd00::51
  const D = hex(`31 09 c8 02 00 32 0d f0 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 50
                 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 51`);

  it('encodes v3 over IPv4 with the pseudo-header by default (keepalived form)', () => {
    assert.deepEqual(encode(v3(), { family: 4, src: '10.0.0.2', dst: '224.0.0.18' }), C);
    assert.equal(encodingLength(v3()), 12);
  });

  it('encodes the other v3-over-IPv4 checksum forms on request', () => {
    assert.deepEqual(encode(v3(), { family: 4, checksumForm: 'noPseudoHeader' }), Cplain);
    assert.deepEqual(encode(v3(), { family: 4, src: '10.0.0.2', dst: '10.0.0.3' }), Cunicast);
    // old_unicast_checksum: sent to 10.0.0.3, summed as if to 224.0.0.18
    assert.deepEqual(
      encode(v3(), { family: 4, src: '10.0.0.2', dst: '10.0.0.3', checksumForm: 'pseudoHeaderMcastDst' }),
      C,
    );
  });

  it('encodes v3 over IPv6 with the IPv6 pseudo-header', () => {
    const advert = v3({ addresses: ['fd00::50', 'FD00:0:0::51'], intervalCs: 50 });
    assert.deepEqual(encode(advert, { family: 6, src: 'fe80::1%veth0', dst: 'ff02::12' }), D);
    assert.equal(encodingLength(advert), 40);
  });

  it('accepts every v3-over-IPv4 checksum form on receive and says which it was', () => {
    const src = { src: '10.0.0.2' };
    const mc = (m: Buffer): Buffer => Buffer.concat([encodeIpv4Header({ ...src, dst: '224.0.0.18', payloadLength: m.length }), m]);
    const uc = (m: Buffer): Buffer => Buffer.concat([encodeIpv4Header({ ...src, dst: '10.0.0.3', payloadLength: m.length }), m]);
    const forms = [
      [mc(C), 'pseudoHeader'],
      [mc(Cplain), 'noPseudoHeader'],
      [uc(Cunicast), 'pseudoHeader'],
      [uc(Cplain), 'noPseudoHeader'],
      [uc(C), 'pseudoHeaderMcastDst'],
    ] as const;
    for (const [bytes, form] of forms) {
      const r = decode(bytes, V4);
      assert.ok(r.ok, form);
      assert.equal(r.packet.checksumForm, form);
      assert.deepEqual(r.packet.advert, v3());
    }
    // A unicast packet summed for another unicast destination matches no form.
    assertDrop(decode(uc(encode(v3(), { family: 4, src: '10.0.0.2', dst: '10.0.0.9' })), V4), 'checksum');
  });

  it('decodes v3 over IPv6 from the bare message plus addresses from the socket', () => {
    const r = decode(D, { family: 6, src: 'fe80::1%veth0', dst: 'ff02::12', hopLimit: 255 });
    assert.ok(r.ok);
    assert.deepEqual(r.packet, {
      family: 6, src: 'fe80::1', dst: 'ff02::12', ttl: 255, checksumForm: 'pseudoHeader',
      advert: v3({ addresses: ['fd00::50', 'fd00::51'], intervalCs: 50 }),
    });
    // dst defaults to ff02::12; the hop limit may be unknown
    const r2 = decode(D, { family: 6, src: 'fe80::1' });
    assert.ok(r2.ok);
    assert.equal(r2.packet.ttl, null);
    // no form but the pseudo-header is accepted over IPv6
    assertDrop(decode(D, { family: 6, src: 'fe80::2' }), 'checksum');
  });

  it('ignores the reserved bits on receive but never sends them (§5.2.6)', () => {
    const m = Buffer.from(Cplain);
    m[4] = 0xf0; // reserved bits set, interval still 0x064
    m.writeUInt16BE(0, 6);
    m.writeUInt16BE(internetChecksum(m), 6);
    const r = decode(ipv4(m), V4);
    assert.ok(r.ok);
    assert.equal(r.packet.advert.intervalCs, 100);
    assert.equal(encode(r.packet.advert, { family: 4, checksumForm: 'noPseudoHeader' })[4], 0);
  });

  it('carries the 12-bit interval in centiseconds (1 .. 4095)', () => {
    for (const intervalCs of [1, 10, 100, 255, 256, 4095]) {
      const p = roundTrip(v3({ intervalCs }), { family: 4, src: '10.0.0.2', dst: '224.0.0.18' });
      assert.equal(p.advert.intervalCs, intervalCs);
    }
  });
});

describe('encodeIpv4Packet: the IP_HDRINCL packet', () => {
  it('is a 20-byte header (TOS 0xc0, TTL 255, protocol 112, checksum) plus the message', () => {
    const pkt = encodeIpv4Packet(v2(), { src: '10.0.0.1', dst: '224.0.0.18' });
    assert.deepEqual(
      pkt,
      hex('45 c0 00 28 00 00 00 00 ff 70 d0 92 0a 00 00 01 e0 00 00 12 21 07 64 01 00 01 70 c4 0a 00 00 32 00 00 00 00 00 00 00 00'),
    );
    assert.equal(internetChecksum(pkt.subarray(0, 20)), 0);
  });

  it('computes the v3 pseudo-header from its own src and dst', () => {
    const pkt = encodeIpv4Packet(v3(), { src: '10.0.0.2', dst: '224.0.0.18' });
    assert.deepEqual(pkt.subarray(20), hex('31 09 c8 01 00 64 11 ce 0a 00 00 32'));
  });
});

describe('decode: one reason per receive check (RFC 3768 §7.1, RFC 5798 §7.1)', () => {
  const good = encode(v2(), { family: 4 });

  it('ttl: TTL or hop limit other than 255', () => {
    assertDrop(decode(ipv4(good, { ttl: 64 }), V4), 'ttl');
    assertDrop(decode(ipv4(good, { ttl: 254 }), V4), 'ttl');
    const v6 = encode(v3({ addresses: ['fd00::1'] }), { family: 6, src: 'fe80::1', dst: 'ff02::12' });
    assertDrop(decode(v6, { family: 6, src: 'fe80::1', hopLimit: 1 }), 'ttl');
    // keepalived skips the check for unicast peers; so can the caller
    const r = decode(ipv4(good, { ttl: 64 }), { family: 4, checkTtl: false });
    assert.ok(r.ok);
    assert.equal(r.packet.ttl, 64);
  });

  it('protocol: an IPv4 packet that is not protocol 112', () => {
    assertDrop(decode(ipv4(good, { protocol: 51 }), V4), 'protocol');
  });

  it('family: not IPv4 on an IPv4 socket, or bad addresses in the IPv6 context', () => {
    const p = ipv4(good);
    p[0] = 0x65;
    assertDrop(decode(p, V4), 'family');
    assertDrop(decode(good, { family: 6, src: '10.0.0.1' }), 'family');
    assertDrop(decode(good, { family: 6, src: 'fe80::1', dst: 'nonsense' }), 'family');
    assertDrop(decode(good, { family: 5 } as unknown as DecodeContext), 'family');
  });

  it('length: short or inconsistent IP header, truncated message', () => {
    assertDrop(decode(Buffer.alloc(0), V4), 'length');
    assertDrop(decode(ipv4(good).subarray(0, 19), V4), 'length');
    const ihl4 = ipv4(good);
    ihl4[0] = 0x44;
    assertDrop(decode(ihl4, V4), 'length');
    const ihl15 = Buffer.from(ipv4(good).subarray(0, 30));
    ihl15[0] = 0x4f;
    assertDrop(decode(ihl15, V4), 'length'); // a 60-byte header in 30 bytes
    // total length field disagrees with what arrived (header checksum kept valid)
    const longer = Buffer.concat([ipv4(good), Buffer.alloc(4)]);
    assertDrop(decode(longer, V4), 'length');
    // a VRRP message shorter than its fixed header
    assertDrop(decode(ipv4(good.subarray(0, 7)), V4), 'length');
    // count says 2 addresses, only one is there
    const m = Buffer.from(good);
    m[3] = 2;
    assertDrop(decode(ipv4(refreshChecksum(m)), V4), 'length');
    assertDrop(decode(Buffer.alloc(3), { family: 6, src: 'fe80::1' }), 'length');
  });

  it('addressCount: more bytes than the count field accounts for', () => {
    const m = Buffer.from(encode(v2({ addresses: ['10.0.0.50', '10.0.0.51'] }), { family: 4 }));
    m[3] = 1;
    assertDrop(decode(ipv4(refreshChecksum(m)), V4), 'addressCount');
  });

  it('version: not 2 or 3, or VRRPv2 over IPv6', () => {
    for (const vt of [0x11, 0x41, 0xf1, 0x01]) {
      const m = Buffer.from(good);
      m[0] = vt;
      assertDrop(decode(ipv4(refreshChecksum(m)), V4), 'version');
    }
    assertDrop(decode(good, { family: 6, src: 'fe80::1' }), 'version');
  });

  it('type: anything but ADVERTISEMENT (RFC 3768 §5.3.2)', () => {
    for (const vt of [0x20, 0x22, 0x2f, 0x32]) {
      const m = Buffer.from(good);
      m[0] = vt;
      assertDrop(decode(ipv4(refreshChecksum(m)), V4), 'type');
    }
  });

  it('checksum: VRRP checksum or IPv4 header checksum wrong', () => {
    const m = Buffer.from(good);
    m[7] = (m[7] as number) ^ 0x01;
    assertDrop(decode(ipv4(m), V4), 'checksum');
    const p = ipv4(good);
    p[10] = (p[10] as number) ^ 0x80;
    assertDrop(decode(p, V4), 'checksum');
    const v3m = encode(v3(), { family: 4, src: '10.0.0.1', dst: '224.0.0.18' });
    v3m[2] = 199;
    assertDrop(decode(ipv4(v3m), V4), 'checksum');
  });

  it('auth: an auth type RFC 3768 does not define', () => {
    const m = Buffer.from(good);
    m[4] = 3;
    assertDrop(decode(ipv4(refreshChecksum(m)), V4), 'auth');
  });

  it('finds the message after IPv4 options (IHL > 5)', () => {
    const h = Buffer.concat([encodeIpv4Header({ src: '10.0.0.1', dst: '224.0.0.18', payloadLength: good.length + 4 }), Buffer.from([1, 1, 1, 0])]);
    h[0] = 0x46;
    h.writeUInt16BE(0, 10);
    h.writeUInt16BE(internetChecksum(h), 10);
    const r = decode(Buffer.concat([h, good]), V4);
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.deepEqual(r.packet.advert, v2());
  });

  it('copies the auth data out of the receive buffer', () => {
    const wire = ipv4(encode(v2({ authType: 1, authData: Buffer.from('abcdefgh') }), { family: 4 }));
    const r = decode(wire, V4);
    assert.ok(r.ok);
    wire.fill(0);
    assert.deepEqual(r.packet.advert.authData, Buffer.from('abcdefgh'));
  });
});

describe('encode refuses adverts that cannot go on the wire', () => {
  const cases: Array<[string, Advert, 4 | 6]> = [
    ['vrid 0', v2({ vrid: 0 }), 4],
    ['vrid 256', v2({ vrid: 256 }), 4],
    ['priority 256', v2({ priority: 256 }), 4],
    ['priority 1.5', v2({ priority: 1.5 }), 4],
    ['v2 over IPv6', v2({ addresses: ['fd00::1'] }), 6],
    ['v2 interval 1.5 s', v2({ intervalCs: 150 }), 4],
    ['v2 interval 0', v2({ intervalCs: 0 }), 4],
    ['v2 interval 256 s', v2({ intervalCs: 25600 }), 4],
    ['v2 auth data of 7 bytes', v2({ authData: Buffer.alloc(7) }), 4],
    ['v3 interval 4096 cs', v3({ intervalCs: 4096 }), 4],
    ['v3 interval 0', v3({ intervalCs: 0 }), 4],
    ['v3 with auth type', v3({ authType: 1 }), 4],
    ['v3 with auth data', v3({ authData: Buffer.alloc(8) }), 4],
    ['an IPv6 address in an IPv4 advert', v3({ addresses: ['fd00::1'] }), 4],
    ['an IPv4 address in an IPv6 advert', v3({ addresses: ['10.0.0.1'] }), 6],
    ['256 addresses', v3({ addresses: Array.from({ length: 256 }, () => '10.0.0.1') }), 4],
    ['type 2', { ...v3(), type: 2 } as unknown as Advert, 4],
  ];
  for (const [what, advert, family] of cases) {
    it(what, () => {
      assert.throws(() => encode(advert, { family, src: family === 4 ? '10.0.0.1' : 'fe80::1', dst: family === 4 ? '224.0.0.18' : 'ff02::12' }), RangeError);
    });
  }
  it('v3 without the addresses of the pseudo-header', () => {
    assert.throws(() => encode(v3(), { family: 4 }), RangeError);
    assert.throws(() => encode(v3(), { family: 4, src: '10.0.0.1' }), RangeError);
    assert.throws(() => encode(v3({ addresses: ['fd00::1'] }), { family: 6, src: 'fe80::1', dst: 'ff02::12', checksumForm: 'noPseudoHeader' }), RangeError);
  });
});

describe('DROP_REASONS: the stats.dropped keys', () => {
  it('holds every key of the status contract and only valid reasons', () => {
    for (const k of ['ttl', 'checksum', 'version', 'auth', 'length', 'interval', 'vrid']) assert.ok(isDropReason(k), k);
    assert.equal(new Set(DROP_REASONS).size, DROP_REASONS.length);
    assert.equal(isDropReason('nope'), false);
    const counters = emptyDropCounters();
    assert.deepEqual(Object.keys(counters), [...DROP_REASONS]);
    assert.ok(Object.values(counters).every((v) => v === 0));
  });
});
