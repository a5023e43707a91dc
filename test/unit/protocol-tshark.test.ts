// An independent judge of our bytes: packets we encode are written to a pcap file and
// tshark's VRRP dissector must read them as well-formed VRRP with good checksums.
// Two deliberately broken control frames prove the judge is awake.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  encode,
  encodeIpv4Header,
  encodeIpv4Packet,
  parseIpv6,
  type Advert,
} from '../../src/protocol/index.js';

const run = promisify(execFile);

async function tsharkMissing(): Promise<string | false> {
  try {
    await run('tshark', ['--version']);
    return false;
  } catch {
    return 'tshark is not installed';
  }
}
// In CI tshark is installed and this test must run; elsewhere it may be missing.
const skip = process.env['CI'] === 'true' ? false : await tsharkMissing();

const LINKTYPE_RAW = 101; // the packet starts with the IPv4 or IPv6 header

/** A classic pcap file (24-byte global header, 16-byte record headers). */
function pcap(packets: readonly Buffer[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(LINKTYPE_RAW, 20);
  const records = packets.map((p, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    return Buffer.concat([h, p]);
  });
  return Buffer.concat([global, ...records]);
}

/** The IPv6 header the kernel would put in front of our message (RFC 8200 §3). */
function ipv6Packet(message: Buffer, src: string, dst: string): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x6c000000, 0); // version 6, traffic class 0xc0 as keepalived sends
  h.writeUInt16BE(message.length, 4);
  h[6] = 112;
  h[7] = 255;
  h.set(parseIpv6(src) ?? [], 8);
  h.set(parseIpv6(dst) ?? [], 24);
  return Buffer.concat([h, message]);
}

const v2pass: Advert = {
  version: 2, type: 1, vrid: 51, priority: 150, addresses: ['10.0.0.50', '10.0.0.51'],
  intervalCs: 100, authType: 1, authData: Buffer.from('secret\0\0'),
};
const v2none: Advert = { ...v2pass, vrid: 52, priority: 0, addresses: ['10.0.0.52'], authType: 0, authData: Buffer.alloc(8) };
const v3v4: Advert = {
  version: 3, type: 1, vrid: 53, priority: 200, addresses: ['10.0.0.53'], intervalCs: 10, authType: 0, authData: Buffer.alloc(0),
};
const v3v6: Advert = { ...v3v4, vrid: 55, priority: 110, addresses: ['fd00::55', 'fd00::56'], intervalCs: 4095 };

interface Frame {
  readonly version: string;
  readonly vrid: string;
  readonly prio: string;
  readonly count: string;
  readonly interval: string;
  readonly addresses: string;
  readonly auth: string;
  readonly checksum: string; // 1 Good, 0 Bad, 2 Unverified
  readonly ipChecksum: string;
  readonly malformed: string;
}

async function dissect(file: string, v3AsV2: boolean): Promise<Frame[]> {
  const fields = [
    'vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.adver_int', 'vrrp.short_adver_int',
    'vrrp.ip_addr', 'vrrp.ipv6_addr', 'vrrp.auth_string', 'vrrp.checksum.status', 'ip.checksum.status', '_ws.malformed',
  ];
  const { stdout } = await run('tshark', [
    '-r', file,
    '-o', `vrrp.v3_checksum_as_in_v2:${v3AsV2 ? 'TRUE' : 'FALSE'}`,
    '-o', 'ip.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,',
    ...fields.flatMap((f) => ['-e', f]),
  ]);
  return stdout.trimEnd().split('\n').map((line) => {
    const c = line.split('|');
    const f = (i: number): string => c[i] ?? '';
    return {
      version: f(0), vrid: f(1), prio: f(2), count: f(3), interval: f(4) || f(5),
      addresses: f(6) || f(7), auth: f(8), checksum: f(9), ipChecksum: f(10), malformed: f(11),
    };
  });
}

describe('tshark reads our packets as good VRRP', { skip }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-tshark-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('v2 (PASS and none), v3 over IPv4 with the pseudo-header, v3 over IPv6', async () => {
    const badChecksum = encodeIpv4Packet(v2none, { src: '10.0.0.1', dst: '224.0.0.18' });
    badChecksum[27] = (badChecksum[27] as number) ^ 0x01;
    const short = encode(v3v4, { family: 4, src: '10.0.0.1', dst: '224.0.0.18' });
    short[3] = 5; // claims five addresses, carries one
    const malformed = Buffer.concat([encodeIpv4Header({ src: '10.0.0.1', dst: '224.0.0.18', payloadLength: short.length }), short]);

    const file = join(dir, 'ours.pcap');
    await writeFile(file, pcap([
      encodeIpv4Packet(v2pass, { src: '10.0.0.1', dst: '224.0.0.18' }),
      encodeIpv4Packet(v2none, { src: '10.0.0.1', dst: '224.0.0.18' }),
      encodeIpv4Packet(v3v4, { src: '10.0.0.2', dst: '224.0.0.18' }),
      encodeIpv4Packet(v3v4, { src: '10.0.0.2', dst: '10.0.0.3' }),
      ipv6Packet(encode(v3v6, { family: 6, src: 'fe80::1', dst: 'ff02::12' }), 'fe80::1', 'ff02::12'),
      badChecksum,
      malformed,
    ]));
    const frames = await dissect(file, false);
    assert.equal(frames.length, 7);
    const [pass, none, mcast, unicast, six, bad, broken] = frames as [Frame, Frame, Frame, Frame, Frame, Frame, Frame];

    assert.deepEqual(pass, {
      version: '2', vrid: '51', prio: '150', count: '2', interval: '1', addresses: '10.0.0.50,10.0.0.51',
      auth: 'secret', checksum: '1', ipChecksum: '1', malformed: '',
    });
    assert.deepEqual(none, {
      version: '2', vrid: '52', prio: '0', count: '1', interval: '1', addresses: '10.0.0.52',
      auth: '', checksum: '1', ipChecksum: '1', malformed: '',
    });
    for (const f of [mcast, unicast])
      assert.deepEqual(f, {
        version: '3', vrid: '53', prio: '200', count: '1', interval: '10', addresses: '10.0.0.53',
        auth: '', checksum: '1', ipChecksum: '1', malformed: '',
      });
    assert.deepEqual(six, {
      version: '3', vrid: '55', prio: '110', count: '2', interval: '4095', addresses: 'fd00::55,fd00::56',
      auth: '', checksum: '1', ipChecksum: '', malformed: '',
    });

    // the controls: tshark does notice a bad checksum and a malformed packet
    assert.equal(bad.checksum, '0');
    assert.match(broken.malformed, /Malformed/);
  });

  it('v3 over IPv4 without the pseudo-header, when tshark is told to expect that form', async () => {
    const plain = encodeIpv4Packet(v3v4, { src: '10.0.0.2', dst: '224.0.0.18', checksumForm: 'noPseudoHeader' });
    const pseudo = encodeIpv4Packet(v3v4, { src: '10.0.0.2', dst: '224.0.0.18' });
    const file = join(dir, 'plain.pcap');
    await writeFile(file, pcap([plain, pseudo]));
    const [a, b] = (await dissect(file, true)) as [Frame, Frame];
    assert.equal(a.checksum, '1');
    assert.equal(a.malformed, '');
    assert.equal(b.checksum, '0'); // the two forms really differ
  });
});
