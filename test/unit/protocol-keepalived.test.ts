// Real keepalived 2.2.7 adverts captured on the wire (test/fixtures/packets/capture.sh):
// they decode to the fields of the config that produced them, and our encoder produces
// the same bytes from those fields — which pins down keepalived's checksum forms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authDataFromPassword,
  decode,
  encode,
  encodeIpv4Packet,
  validate,
  type Advert,
} from '../../src/protocol/index.js';
import { listPacketFixtures, loadPacketFixture, receiveView } from '../helpers/packet-fixtures.js';
import { roundTrip } from '../helpers/round-trip.js';

const pass = authDataFromPassword('pw123');
const none = Buffer.alloc(8);
const v3auth = { authType: 0, authData: Buffer.alloc(0) } as const;

// What each capture must decode to, from the keepalived.conf in its header.
const expected: Record<string, Advert> = {
  'keepalived-v2-pass': { version: 2, type: 1, vrid: 51, priority: 150, addresses: ['10.213.0.51'], intervalCs: 100, authType: 1, authData: pass },
  'keepalived-v2-priority0': { version: 2, type: 1, vrid: 51, priority: 0, addresses: ['10.213.0.51'], intervalCs: 100, authType: 1, authData: pass },
  'keepalived-v2-noauth': { version: 2, type: 1, vrid: 52, priority: 100, addresses: ['10.213.0.52', '10.213.0.53'], intervalCs: 100, authType: 0, authData: none },
  'keepalived-v3-ipv4': { version: 3, type: 1, vrid: 53, priority: 200, addresses: ['10.213.0.54'], intervalCs: 100, ...v3auth },
  'keepalived-v3-ipv4-priority0': { version: 3, type: 1, vrid: 53, priority: 0, addresses: ['10.213.0.54'], intervalCs: 100, ...v3auth },
  'keepalived-v3-ipv4-fast': { version: 3, type: 1, vrid: 54, priority: 120, addresses: ['10.213.0.55'], intervalCs: 10, ...v3auth },
  'keepalived-v3-ipv6': { version: 3, type: 1, vrid: 55, priority: 110, addresses: ['fd00:213::55'], intervalCs: 100, ...v3auth },
};

describe('captured keepalived 2.2.7 adverts', () => {
  it('every fixture file has an expectation and the captures are all there', () => {
    assert.deepEqual(listPacketFixtures().filter((n) => n.startsWith('keepalived-')), Object.keys(expected).sort());
    for (const name of Object.keys(expected)) {
      const f = loadPacketFixture(name);
      assert.match(f.meta['family'] ?? '', /^[46]$/, name);
      assert.ok(f.bytes.length > 0);
    }
  });

  for (const [name, advert] of Object.entries(expected)) {
    describe(name, () => {
      const f = loadPacketFixture(name);

      it('decodes to the configured fields', () => {
        const { bytes, ctx } = receiveView(f);
        const r = decode(bytes, ctx);
        assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
        assert.deepEqual(r.packet.advert, advert);
        assert.equal(r.packet.src, f.src);
        assert.equal(r.packet.dst, f.family === 4 ? '224.0.0.18' : 'ff02::12');
        assert.equal(r.packet.ttl, 255);
        // keepalived sends v3 over IPv4 with the pseudo-header (RFC 5798 §5.2.8)
        assert.equal(r.packet.checksumForm, advert.version === 2 ? 'noPseudoHeader' : 'pseudoHeader');
      });

      it('is what our encoder produces from the same fields', () => {
        assert.deepEqual(encode(advert, { family: f.family, src: f.src, dst: f.dst }), f.message);
        if (f.family === 4) {
          // keepalived leaves the IP id to the kernel; with the same id the whole packet matches.
          assert.deepEqual(encodeIpv4Packet(advert, { src: f.src, dst: f.dst, id: f.ipId }), f.bytes);
        } else {
          // the IPv6 header is the kernel's: hop limit 255 and keepalived's traffic class 0xc0
          assert.equal(f.ttl, 255);
          assert.equal(((f.bytes.readUInt16BE(0) >> 4) & 0xff), 0xc0);
        }
      });

      it('round-trips', () => {
        roundTrip(advert, { family: f.family, src: f.src, dst: f.dst });
      });
    });
  }

  it('passes validate() with the settings keepalived was configured with', () => {
    const f = loadPacketFixture('keepalived-v2-pass');
    const r = decode(f.bytes, { family: 4 });
    assert.ok(r.ok);
    assert.deepEqual(validate(r.packet, { version: 2, intervalCs: 100, authType: 1, authPass: 'pw123', vips: ['10.213.0.51/24'] }), { ok: true, warnings: [] });
    const wrong = validate(r.packet, { version: 2, intervalCs: 100, authType: 1, authPass: 'pw1234' });
    assert.equal(wrong.ok, false);

    const g = loadPacketFixture('keepalived-v3-ipv6');
    const { bytes, ctx } = receiveView(g);
    const r6 = decode(bytes, ctx);
    assert.ok(r6.ok);
    assert.deepEqual(validate(r6.packet, { version: 3, intervalCs: 100, vips: ['fd00:213:0::55/64'] }), { ok: true, warnings: [] });
  });
});
