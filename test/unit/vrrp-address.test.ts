// RFC 3768 §6.4.3 / RFC 5798 §6.4.3 tie-break: primary addresses compared as unsigned
// numbers in network byte order (keepalived inet_inaddrcmp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressBytes, compareAddresses } from '../../src/vrrp/address.js';

describe('compareAddresses', () => {
  const cases: Array<[string, string, -1 | 0 | 1]> = [
    ['10.0.0.1', '10.0.0.2', -1],
    ['10.0.0.2', '10.0.0.1', 1],
    ['10.0.0.1', '10.0.0.1', 0],
    // unsigned: a high first octet is greater (a signed int32 compare says the opposite)
    ['192.168.0.1', '10.0.0.1', 1],
    ['255.255.255.255', '127.255.255.255', 1],
    ['10.0.0.10', '10.0.0.9', 1], // numeric, not text order
    ['fe80::1', 'fe80::2', -1],
    ['fe80::1:0', 'fe80::2', 1],
    ['FE80::A', 'fe80::a', 0],
    ['fe80::1%eth0', 'fe80::1', 0],
    ['2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', 0],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.2', -1],
    ['ff02::12', '2001:db8::1', 1],
    ['::', '::1', -1],
  ];
  for (const [a, b, want] of cases) {
    it(`${a} vs ${b} → ${want}`, () => {
      assert.equal(compareAddresses(a, b), want);
      assert.equal(compareAddresses(b, a), want === 0 ? 0 : -want);
    });
  }

  it('rejects what is not an address', () => {
    for (const bad of ['', '10.0.0', '10.0.0.256', '1.2.3.4.5', 'a::b::c', '12345::', 'fe80:::1', '1:2:3:4:5:6:7:8:9', 'x']) {
      assert.equal(addressBytes(bad), null, bad);
    }
    assert.equal(compareAddresses('garbage', '10.0.0.1'), -1);
  });

  it('agrees with the numeric order of random IPv4 addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), (a, b) => {
        const n = (s: string): number => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
        assert.equal(compareAddresses(a, b), Math.sign(n(a) - n(b)));
      }),
    );
  });

  it('parses every IPv6 form fast-check makes, to 16 bytes', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const b = addressBytes(a);
        assert.ok(b !== null && b.length === 16, a);
        assert.equal(compareAddresses(a, a), 0);
      }),
    );
  });
});
