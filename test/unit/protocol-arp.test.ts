/**
 * The gratuitous ARP frame, byte for byte. Reference: keepalived 2.2.7
 * keepalived/vrrp/vrrp_arp.c send_gratuitous_arp_immediate(); RFC 826 field layout;
 * RFC 5227 §3 (an announcement is a request with sender IP = target IP). The
 * expected frame below was decoded by tshark 4 as "ARP request, Is gratuitous: True".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARP_REQUEST,
  GARP_FRAME_LENGTH,
  buildGratuitousArp,
  bytesToMac,
  macToBytes,
  parseArpFrame,
} from '../../src/protocol/arp.js';

const MAC = '02:00:0a:0a:01:01';
const VIP = '10.10.1.100';

test('gratuitous ARP: the exact frame keepalived sends', () => {
  const expected = Buffer.from(
    [
      'ffffffffffff', // Ethernet destination: broadcast
      '02000a0a0101', // Ethernet source: our MAC
      '0806', // EtherType ARP
      '0001', // hardware type Ethernet
      '0800', // protocol type IPv4
      '06', // hardware address length
      '04', // protocol address length
      '0001', // opcode: request (keepalived uses ARPOP_REQUEST)
      '02000a0a0101', // sender MAC
      '0a0a0164', // sender IP = VIP
      'ffffffffffff', // target MAC: broadcast, as keepalived fills it
      '0a0a0164', // target IP = VIP
    ].join(''),
    'hex',
  );
  const frame = buildGratuitousArp(MAC, VIP);
  assert.equal(frame.length, GARP_FRAME_LENGTH);
  assert.deepEqual(frame, expected);
  assert.deepEqual(buildGratuitousArp(macToBytes(MAC), VIP), expected, 'MAC as bytes gives the same frame');
});

test('gratuitous ARP: parseArpFrame reads back what was built', () => {
  const v = parseArpFrame(buildGratuitousArp('AA-BB-CC-DD-EE-0F', '192.168.0.1'));
  assert.deepEqual(v, {
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: 'aa:bb:cc:dd:ee:0f',
    op: ARP_REQUEST,
    senderMac: 'aa:bb:cc:dd:ee:0f',
    senderIp: '192.168.0.1',
    targetMac: 'ff:ff:ff:ff:ff:ff',
    targetIp: '192.168.0.1',
  });
  assert.equal(parseArpFrame(Buffer.alloc(41)), null, 'too short');
  const notArp = buildGratuitousArp(MAC, VIP);
  notArp.writeUInt16BE(0x0800, 12);
  assert.equal(parseArpFrame(notArp), null, 'not an ARP EtherType');
});

test('MAC and address validation', () => {
  assert.equal(bytesToMac(macToBytes('0:1:2:a:b:c')), '00:01:02:0a:0b:0c');
  assert.throws(() => macToBytes('02:00:0a:0a:01'), /not a MAC address/);
  assert.throws(() => macToBytes('02:00:0a:0a:01:zz'), /not a MAC address/);
  assert.throws(() => buildGratuitousArp(new Uint8Array(5), VIP), /6 bytes/);
  assert.throws(() => buildGratuitousArp(MAC, 'fd00::1'), /not an IPv4 address/);
});
