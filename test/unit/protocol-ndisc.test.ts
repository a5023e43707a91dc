/**
 * The unsolicited Neighbour Advertisement, byte for byte. References: RFC 4861 §4.4
 * (format), §7.2.6 (unsolicited: Solicited clear, Override set, to all-nodes), §7.1.2
 * (hop limit 255), §4.6.1 (Target Link-Layer Address option); RFC 2464 §7 (33:33
 * mapping); RFC 8200 §8.1 (checksum pseudo-header); keepalived 2.2.7
 * keepalived/vrrp/vrrp_ndisc.c (source = the VIP). The expected frames were decoded
 * by tshark 4: "Checksum 0x4e89 [correct]" and "0xce88 [correct]".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NA_FRAME_LENGTH,
  buildUnsolicitedNa,
  bytesToIpv6,
  icmpv6Checksum,
  ipv6MulticastMac,
  ipv6ToBytes,
  parseNaFrame,
} from '../../src/protocol/ndisc.js';

const MAC = '02:00:0a:0a:01:01';
const VIP6 = 'fd00:10:10:1::64';

const EXPECTED = [
  '333300000001', // Ethernet destination: 33:33 + low 32 bits of ff02::1
  '02000a0a0101', // Ethernet source
  '86dd', // EtherType IPv6
  '60000000', // version 6, traffic class 0, flow label 0
  '0020', // payload length 32
  '3a', // next header ICMPv6
  'ff', // hop limit 255
  'fd000010001000010000000000000064', // source: the VIP
  'ff020000000000000000000000000001', // destination: all-nodes
  '88', // type 136 Neighbour Advertisement
  '00', // code
  '4e89', // checksum
  '20000000', // flags: Override only
  'fd000010001000010000000000000064', // target address
  '02', // option: Target Link-Layer Address
  '01', // length 1 (8 bytes)
  '02000a0a0101', // our MAC
].join('');

test('unsolicited NA: the exact frame, checksum included', () => {
  const frame = buildUnsolicitedNa({ mac: MAC, target: VIP6 });
  assert.equal(frame.length, NA_FRAME_LENGTH);
  assert.equal(frame.toString('hex'), EXPECTED);
});

test('unsolicited NA: the Router flag when the host forwards, with its own checksum', () => {
  const frame = buildUnsolicitedNa({ mac: MAC, target: VIP6, router: true });
  const expected = EXPECTED.replace('4e8920000000', 'ce88a0000000');
  assert.equal(frame.toString('hex'), expected);
});

test('unsolicited NA: parseNaFrame reads it back and verifies the checksum', () => {
  const frame = buildUnsolicitedNa({ mac: 'aa:bb:cc:dd:ee:ff', target: '2001:db8::1' });
  assert.deepEqual(parseNaFrame(frame), {
    ethDst: '33:33:00:00:00:01',
    ethSrc: 'aa:bb:cc:dd:ee:ff',
    hopLimit: 255,
    src: '2001:db8::1',
    dst: 'ff02::1',
    router: false,
    solicited: false,
    override: true,
    target: '2001:db8::1',
    targetMac: 'aa:bb:cc:dd:ee:ff',
    checksumOk: true,
  });
  const corrupt = Buffer.from(frame);
  corrupt.writeUInt8(corrupt.readUInt8(frame.length - 1) ^ 0x01, frame.length - 1);
  assert.equal(parseNaFrame(corrupt)?.checksumOk, false);
  assert.equal(parseNaFrame(Buffer.alloc(60)), null);
});

test('ICMPv6 checksum: RFC 1071 over pseudo-header and message; odd length padded', () => {
  const src = ipv6ToBytes('fe80::1');
  const dst = ipv6ToBytes('ff02::1');
  // A message whose checksum field holds the computed value sums to zero.
  const msg = Buffer.from('8700000000000000fe800000000000000000000000000001', 'hex');
  msg.writeUInt16BE(icmpv6Checksum(src, dst, msg), 2);
  assert.equal(icmpv6Checksum(src, dst, msg), 0);
  // Changing the pseudo-header (another destination) changes the checksum.
  assert.notEqual(icmpv6Checksum(src, ipv6ToBytes('ff02::2'), msg), 0);
  const odd = Buffer.from('800000000001ab', 'hex');
  odd.writeUInt16BE(icmpv6Checksum(src, dst, odd), 2);
  assert.equal(icmpv6Checksum(src, dst, odd), 0);
});

test('IPv6 text ↔ bytes, RFC 5952 canonical output', () => {
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::aff:fe0a:101', 'fe80::aff:fe0a:101'],
    ['FD00:0010:0010:0001:0000:0000:0000:0064', 'fd00:10:10:1::64'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one zero group stays
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'], // §5
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, canonical] of cases) assert.equal(bytesToIpv6(ipv6ToBytes(input)), canonical, input);
  assert.deepEqual([...ipv6ToBytes('ff02::12')], [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]);
  assert.throws(() => ipv6ToBytes('10.0.0.1'), /not an IPv6 address/);
  assert.throws(() => ipv6ToBytes('1::2::3'), /not an IPv6 address/);
  assert.deepEqual([...ipv6MulticastMac(ipv6ToBytes('ff02::1:ff0a:102'))], [0x33, 0x33, 0xff, 0x0a, 0x01, 0x02]);
});
