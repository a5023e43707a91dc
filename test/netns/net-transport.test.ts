/**
 * src/net/transport.ts between two namespaces: what h1 sends, h2's transport gets
 * (and tshark on h2 sees), for IPv4 multicast, IPv4 unicast, IPv6 multicast and
 * IPv6 unicast; failures come back as values and leave the receive side alive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv6ToBytes } from '../../src/protocol/ndisc.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { AgentCallError, NetAgent, type AgentEvent } from '../helpers/ns-agent.js';
import { vrrp2Advert, vrrp3Advert6, vrrp3Checksum6Ok } from '../helpers/ns-packets.js';

const FIELDS = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'ip.ttl', 'ipv6.hlim', 'ip.proto', 'ipv6.nxt', 'vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.checksum.status'];

interface WireLine {
  readonly src: string;
  readonly dst: string;
  readonly hops: number;
  readonly proto: number;
  readonly version: number;
  readonly vrid: number;
  /** tshark: 1 = good, 0 = bad, 2 = unverified */
  readonly checksum: string;
}

function parseWire(line: string): WireLine {
  const [s4, s6, d4, d6, ttl, hlim, p4, p6, ver, vrid, csum] = line.split('|');
  return {
    src: s4 || s6 || '',
    dst: d4 || d6 || '',
    hops: Number(ttl || hlim),
    proto: Number(p4 || p6),
    version: Number(ver),
    vrid: Number(vrid),
    checksum: csum ?? '',
  };
}

const isPacket = (family: 4 | 6, src: string, vrid: number) => (e: AgentEvent) =>
  e.event === 'packet' &&
  e['family'] === family &&
  e['src'] === src &&
  Buffer.from(String(e['hex']), 'hex')[family === 4 ? 21 : 1] === vrid;

describe('VRRP transport between namespaces', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let a1: NetAgent;
  let a2: NetAgent;
  let tshark: NsProcess;

  before(async () => {
    lan = await Lan.create();
    [a1, a2] = await Promise.all([NetAgent.start(lan, 'h1'), NetAgent.start(lan, 'h2')]);
    for (const a of [a1, a2]) {
      await a.call('transport.open', { family: 4 });
      await a.call('transport.open', { family: 6 });
    }
    tshark = lan.spawn('h2', [
      'tshark', '-i', 'eth0', '-l', '-n', '-f', 'ip proto 112 or ip6 proto 112',
      '-T', 'fields', '-E', 'separator=|', ...FIELDS.flatMap((f) => ['-e', f]),
    ]);
    await tshark.waitForLine(/Capturing on/, { stream: 'stderr', timeoutMs: 30_000 });
    // dumpcap is not always capturing yet when tshark says so: probe until it shows a packet.
    const probe = vrrp2Advert(1, 1, []).toString('hex');
    const deadline = Date.now() + 20_000;
    while (!tshark.stdout.some((l) => /\|1\|[0-9]*$/.test(l))) {
      assert.ok(Date.now() < deadline, `tshark never saw a packet\n${tshark.tail()}`);
      await a1.call('transport.send', { family: 4, hex: probe, src: lan.host('h1').ipv4, dst: '224.0.0.18' });
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    await lan?.destroy();
  });

  async function wire(vrid: number): Promise<WireLine> {
    const m = await tshark.waitForLine(new RegExp(`\\|${vrid}\\|[0-9]*$`), { stream: 'stdout', timeoutMs: 10_000 });
    return parseWire(m.input ?? '');
  }

  test('IPv4 multicast: h2 gets the whole IP packet with TTL 255, protocol 112 and h1 as source', async () => {
    const h1 = lan.host('h1');
    const advert = vrrp2Advert(41, 100, [lan.addr(100)]);
    await a1.call('transport.send', { family: 4, hex: advert.toString('hex'), src: h1.ipv4, dst: '224.0.0.18' });

    const ev = await a2.waitForEvent(isPacket(4, h1.ipv4, 41));
    const bytes = Buffer.from(String(ev['hex']), 'hex');
    assert.equal(bytes[0], 0x45);
    assert.equal(bytes[8], 255, 'TTL');
    assert.equal(bytes[9], 112, 'protocol');
    assert.equal(bytes[1], 0xc0, 'TOS internetwork control, as keepalived');
    assert.deepEqual(bytes.subarray(20), advert);
    assert.equal(ev['dst'], '224.0.0.18');
    assert.equal(ev['hopLimit'], 255);
    assert.equal(ev['ifname'], 'eth0');

    const w = await wire(41);
    assert.deepEqual(w, { src: h1.ipv4, dst: '224.0.0.18', hops: 255, proto: 112, version: 2, vrid: 41, checksum: '1' });
  });

  test('IPv4 multicast: our own advert is not looped back to us', async () => {
    const h1 = lan.host('h1');
    const advert = vrrp2Advert(42, 100, [lan.addr(100)]);
    await a1.call('transport.send', { family: 4, hex: advert.toString('hex'), src: h1.ipv4, dst: '224.0.0.18' });
    await a2.waitForEvent(isPacket(4, h1.ipv4, 42));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a1.events().filter(isPacket(4, h1.ipv4, 42)).length, 0);
  });

  test('IPv4 unicast (unicast_peer): h2 gets it addressed to its own address', async () => {
    const h1 = lan.host('h1');
    const h2 = lan.host('h2');
    const advert = vrrp2Advert(43, 150, [lan.addr(100)]);
    await a1.call('transport.send', { family: 4, hex: advert.toString('hex'), src: h1.ipv4, dst: h2.ipv4 });
    const ev = await a2.waitForEvent(isPacket(4, h1.ipv4, 43));
    assert.equal(ev['dst'], h2.ipv4);
    assert.equal(ev['hopLimit'], 255);
    const w = await wire(43);
    assert.deepEqual(w, { src: h1.ipv4, dst: h2.ipv4, hops: 255, proto: 112, version: 2, vrid: 43, checksum: '1' });
  });

  test('IPv6 multicast: from h1 link-local to ff02::12, hop limit 255 known, kernel checksum valid', async () => {
    const h1 = lan.host('h1');
    const advert = vrrp3Advert6(61, 100, [ipv6ToBytes(lan.addr6(100))]);
    await a1.call('transport.send', { family: 6, hex: advert.toString('hex'), dst: 'ff02::12' });

    const ev = await a2.waitForEvent(isPacket(6, h1.linkLocal, 61));
    assert.equal(ev['dst'], 'ff02::12');
    assert.equal(ev['hopLimit'], 255);
    const bytes = Buffer.from(String(ev['hex']), 'hex');
    assert.equal(bytes.length, advert.length, 'IPv6: the VRRP message alone');
    assert.deepEqual(bytes.subarray(8), advert.subarray(8));
    assert.notEqual(bytes.readUInt16BE(6), 0, 'the kernel filled the checksum in');
    assert.ok(vrrp3Checksum6Ok(bytes, ipv6ToBytes(h1.linkLocal), ipv6ToBytes('ff02::12')));

    const w = await wire(61);
    assert.deepEqual(w, { src: h1.linkLocal, dst: 'ff02::12', hops: 255, proto: 112, version: 3, vrid: 61, checksum: '1' });
  });

  test('IPv6 unicast: hop limit 255 too, and an explicit source is used', async () => {
    const h1 = lan.host('h1');
    const h2 = lan.host('h2');
    const advert = vrrp3Advert6(62, 100, [ipv6ToBytes(lan.addr6(100))]);
    await a1.call('transport.send', { family: 6, hex: advert.toString('hex'), dst: h2.ipv6, src: h1.ipv6 });
    const ev = await a2.waitForEvent(isPacket(6, h1.ipv6, 62));
    assert.equal(ev['dst'], h2.ipv6);
    assert.equal(ev['hopLimit'], 255);
    const w = await wire(62);
    assert.equal(w.hops, 255);
    assert.equal(w.checksum, '1');
  });

  test('a failed send is an error value with its errno, and both sides keep working', async () => {
    const h1 = lan.host('h1');
    const advert = vrrp2Advert(44, 100, [lan.addr(100)]);
    // A bound raw IPv4 socket treats every destination as on-link, so provoke errors differently:
    // broadcast without SO_BROADCAST, and a packet larger than the MTU.
    await assert.rejects(
      a1.call('transport.send', { family: 4, hex: advert.toString('hex'), src: h1.ipv4, dst: lan.addr(255) }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && err.errno === 'EACCES',
    );
    await assert.rejects(
      a1.call('transport.send', { family: 4, hex: Buffer.alloc(2000).toString('hex'), src: h1.ipv4, dst: '224.0.0.18' }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && err.errno === 'EMSGSIZE',
    );
    await assert.rejects(
      a1.call('transport.send', { family: 6, hex: advert.toString('hex'), dst: 'fd99::1' }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && err.errno === 'ENETUNREACH',
    );
    await assert.rejects(
      a1.call('transport.send', { family: 4, hex: advert.toString('hex'), dst: '224.0.0.18' }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && /src/.test(err.message),
    );
    await a1.call('transport.send', { family: 4, hex: advert.toString('hex'), src: h1.ipv4, dst: '224.0.0.18' });
    await a2.waitForEvent(isPacket(4, h1.ipv4, 44));
    // h1's receive side is alive too
    const back = vrrp2Advert(45, 100, [lan.addr(100)]);
    await a2.call('transport.send', { family: 4, hex: back.toString('hex'), src: lan.host('h2').ipv4, dst: '224.0.0.18' });
    await a1.waitForEvent(isPacket(4, lan.host('h2').ipv4, 45));
    assert.equal(a1.events().filter((e) => e.event === 'error').length, 0, 'no receive-side errors');
  });

  test('membership survives the interface going down and up', async () => {
    const h1 = lan.host('h1');
    await lan.linkDown('h2');
    await lan.linkUp('h2');
    const advert4 = vrrp2Advert(46, 100, [lan.addr(100)]);
    const advert6 = vrrp3Advert6(63, 100, [ipv6ToBytes(lan.addr6(100))]);
    // The bridge port needs a moment after the veth comes back; resend until it arrives.
    const deadline = Date.now() + 10_000;
    while (!a2.events().some(isPacket(4, h1.ipv4, 46)) || !a2.events().some(isPacket(6, h1.linkLocal, 63))) {
      assert.ok(Date.now() < deadline, 'no advert received after link down/up');
      await a1.call('transport.send', { family: 4, hex: advert4.toString('hex'), src: h1.ipv4, dst: '224.0.0.18' }).catch(() => undefined);
      await a1.call('transport.send', { family: 6, hex: advert6.toString('hex'), dst: 'ff02::12' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  test('after raw-socket closes its socket on an error, the transport reports it and reopens', async () => {
    const h1 = lan.host('h1');
    assert.equal(await a2.call('transport.openFaulty'), 1);
    const fault = await a2.call<{ sockets: number; sendWhileDown: string }>('transport.fault');
    assert.equal(fault.sockets, 1);
    assert.match(fault.sendWhileDown, /reopening/, 'a send while the socket is down is refused, not lost');
    const err = await a2.waitForEvent((e) => e.event === 'error' && e['source'] === 'faulty' && /reopening/.test(String((e['error'] as { message: string }).message)));
    assert.equal((err['error'] as { code: string }).code, 'ESOCKET');
    const advert = vrrp2Advert(47, 100, [lan.addr(100)]).toString('hex');
    const deadline = Date.now() + 10_000;
    while (!a2.events().some((e) => e['faulty'] === true && isPacket(4, h1.ipv4, 47)(e))) {
      assert.ok(Date.now() < deadline, 'the reopened socket never received anything');
      await a1.call('transport.send', { family: 4, hex: advert, src: h1.ipv4, dst: '224.0.0.18' });
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await a2.call<{ sockets: number }>('transport.fault')).sockets, 2, 'a second socket was opened');
    await a2.call('transport.close', { faulty: true });
  });

  test('opening on a missing interface fails with a clear error; close is idempotent; send after close fails', async () => {
    await assert.rejects(a1.call('transport.open', { family: 4, ifname: 'nope0' }), (err: unknown) => {
      return err instanceof AgentCallError && err.code === 'ESOCKET' && /nope0/.test(err.message);
    });
    assert.equal(await a1.call('transport.close', { family: 4 }), true);
    await assert.rejects(
      a1.call('transport.send', { family: 4, hex: '00', src: lan.host('h1').ipv4, dst: '224.0.0.18' }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && /closed/.test(err.message),
    );
    assert.equal(await a1.call('transport.close', { family: 6 }), true);
    await assert.rejects(
      a1.call('transport.send', { family: 6, hex: '00', dst: 'ff02::12' }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ESOCKET' && /closed/.test(err.message),
    );
    await a1.call('transport.open', { family: 4 });
    await a1.call('transport.open', { family: 6 });
  });
});
