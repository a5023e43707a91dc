/**
 * Our transport against real keepalived 2.2.7: adverts keepalived sends on h1 (VRRPv2
 * over IPv4, VRRPv3 over IPv6) arrive at our transport on h2 with TTL / hop limit 255,
 * and keepalived accepts the adverts our transport sends (it yields to our higher
 * priority), which proves header, TTL and checksum are right on both paths.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToIpv6, ipv6ToBytes } from '../../src/protocol/ndisc.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { NetAgent, type AgentEvent } from '../helpers/ns-agent.js';
import { buildGratuitousArp } from '../../src/protocol/arp.js';
import { buildUnsolicitedNa } from '../../src/protocol/ndisc.js';
import { startTcpdump, tcpdumpFrames, vrrp2Advert, vrrp3Advert6, vrrp3Checksum6Ok } from '../helpers/ns-packets.js';

const VRID4 = 51;
const VRID6 = 52;

describe('interop with keepalived 2.2.7', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let agent: NetAgent;
  let keepalived: NsProcess;
  let announcements: NsProcess;

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'h2'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-ka-'));
    const conf = join(dir, 'h1.conf');
    await writeFile(
      conf,
      `global_defs {
  router_id ${lan.id}-h1
}
vrrp_instance VI_4 {
  state MASTER
  interface eth0
  virtual_router_id ${VRID4}
  priority 200
  advert_int 1
  version 2
  virtual_ipaddress {
    ${lan.addr(100)}/24
  }
}
vrrp_instance VI_6 {
  state MASTER
  interface eth0
  virtual_router_id ${VRID6}
  priority 200
  advert_int 1
  version 3
  virtual_ipaddress {
    ${lan.addr6(100)}/64
  }
}
`,
    );
    agent = await NetAgent.start(lan, 'h2');
    await agent.call('transport.open', { family: 4 });
    await agent.call('transport.open', { family: 6 });
    announcements = await startTcpdump(lan, 'h2', 'arp or (icmp6 and ip6[40] == 136)', { hex: true });
    keepalived = lan.spawn('h1', [
      'keepalived', '-n', '-l', '-D', '-P', '-f', conf,
      '-p', join(dir, 'k.pid'), '-r', join(dir, 'kv.pid'), '-c', join(dir, 'kc.pid'),
    ]);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fromKeepalived = (family: 4 | 6, vrid: number) => (e: AgentEvent) => {
    if (e.event !== 'packet' || e['family'] !== family) return false;
    const b = Buffer.from(String(e['hex']), 'hex');
    return b[family === 4 ? 21 : 1] === vrid;
  };

  test('a VRRPv2 advert from keepalived reaches our IPv4 transport with TTL 255', async () => {
    const h1 = lan.host('h1');
    const ev = await agent.waitForEvent(fromKeepalived(4, VRID4), 20_000);
    assert.equal(ev['src'], h1.ipv4);
    assert.equal(ev['dst'], '224.0.0.18');
    assert.equal(ev['hopLimit'], 255);
    const b = Buffer.from(String(ev['hex']), 'hex');
    assert.equal(b[9], 112);
    const vrrp = b.subarray(20);
    assert.equal(vrrp[0], 0x21, 'version 2, advertisement');
    assert.equal(vrrp[2], 200, 'priority');
    assert.equal(vrrp[3], 1, 'one address');
    assert.equal([...vrrp.subarray(8, 12)].join('.'), lan.addr(100));
  });

  test('a VRRPv3 advert from keepalived reaches our IPv6 transport with hop limit 255', async () => {
    const h1 = lan.host('h1');
    const ev = await agent.waitForEvent(fromKeepalived(6, VRID6), 20_000);
    assert.equal(ev['src'], h1.linkLocal);
    assert.equal(ev['dst'], 'ff02::12');
    assert.equal(ev['hopLimit'], 255);
    const vrrp = Buffer.from(String(ev['hex']), 'hex');
    assert.equal(vrrp[0], 0x31, 'version 3, advertisement');
    assert.equal(vrrp[2], 200);
    assert.equal(vrrp.readUInt16BE(4) & 0x0fff, 100, 'max advert interval 100 cs');
    assert.equal(bytesToIpv6(vrrp, 8), lan.addr6(100));
    assert.ok(vrrp3Checksum6Ok(vrrp, ipv6ToBytes(h1.linkLocal), ipv6ToBytes('ff02::12')));
  });

  test('our GARP and NA frames are byte-identical to the ones keepalived sends', async () => {
    const h1 = lan.host('h1');
    await keepalived.waitForLine(/\(VI_4\) Entering MASTER STATE/, { timeoutMs: 20_000 });
    await keepalived.waitForLine(/\(VI_6\) Entering MASTER STATE/, { timeoutMs: 20_000 });
    const arp = buildGratuitousArp(h1.mac, lan.addr(100));
    const na = buildUnsolicitedNa({ mac: h1.mac, target: lan.addr6(100) });
    const deadline = Date.now() + 10_000;
    for (;;) {
      // keepalived's announcements: from h1's MAC, about the VIPs
      const frames = tcpdumpFrames(announcements.stdout)
        .map((f) => f.bytes)
        .filter((f) => f.length > 14 && f.subarray(6, 12).equals(arp.subarray(6, 12)));
      const arps = frames.filter((f) => f.readUInt16BE(12) === 0x0806 && f.subarray(28, 32).equals(arp.subarray(28, 32)));
      const nas = frames.filter((f) => f.readUInt16BE(12) === 0x86dd && f.subarray(62, 78).equals(na.subarray(62, 78)));
      if (arps.length >= 5 && nas.length >= 5) {
        for (const f of arps) assert.equal(f.toString('hex'), arp.toString('hex'), 'gratuitous ARP');
        for (const f of nas) assert.equal(f.toString('hex'), na.toString('hex'), 'unsolicited NA');
        break;
      }
      assert.ok(Date.now() < deadline, `keepalived's announcements not seen:\n${announcements.tail(40)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  test('keepalived accepts our adverts: it yields to a higher priority on both paths', async () => {
    const h2 = lan.host('h2');
    await keepalived.waitForLine(/\(VI_4\) Entering MASTER STATE/, { timeoutMs: 20_000 });
    await keepalived.waitForLine(/\(VI_6\) Entering MASTER STATE/, { timeoutMs: 20_000 });
    const mark = keepalived.mark();
    const v4 = vrrp2Advert(VRID4, 250, [lan.addr(100)]).toString('hex');
    const v6 = vrrp3Advert6(VRID6, 250, [ipv6ToBytes(lan.addr6(100))]).toString('hex');
    const deadline = Date.now() + 15_000;
    let yielded4 = false;
    let yielded6 = false;
    while (!(yielded4 && yielded6)) {
      assert.ok(Date.now() < deadline, `keepalived did not yield to our adverts\n${keepalived.tail(30)}`);
      await agent.call('transport.send', { family: 4, hex: v4, src: h2.ipv4, dst: '224.0.0.18' });
      await agent.call('transport.send', { family: 6, hex: v6, dst: 'ff02::12' });
      await new Promise((r) => setTimeout(r, 250));
      const lines = keepalived.stderr.slice(mark.stderr).concat(keepalived.stdout.slice(mark.stdout));
      yielded4 ||= lines.some((l) => /\(VI_4\) Entering BACKUP STATE/.test(l));
      yielded6 ||= lines.some((l) => /\(VI_6\) Entering BACKUP STATE/.test(l));
    }
    const lines = keepalived.stderr.concat(keepalived.stdout);
    assert.ok(!lines.some((l) => /invalid ttl|checksum|bad|Invalid/i.test(l)), `keepalived complained:\n${keepalived.tail(30)}`);
    await lan.waitForAddress('h1', lan.addr(100), { present: false, timeoutMs: 5000 });
  });
});
