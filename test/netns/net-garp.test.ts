/**
 * src/net/garp.ts on a LAN: a VIP moves from h2 to h1, h1 announces it, and the
 * client's neighbour cache follows (IPv4 ARP and IPv6 NDP).
 *
 * Why the client first talks to the VIP on h2: Linux does not *create* neighbour
 * entries from unsolicited announcements by default (net.ipv4.conf.*.arp_accept=0,
 * net.ipv6.conf.*.accept_untracked_na=0), but it does *update* an existing entry
 * (gratuitous ARP: arp_process() overrides for sender IP == target IP; NA: the
 * Override flag). That is the failover that matters in real life: clients that
 * talked to the old master have its MAC cached, and the announcement must move them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { NetAgent } from '../helpers/ns-agent.js';
import { startTcpdump } from '../helpers/ns-packets.js';

interface Burst {
  sent: number;
  failed: number;
  cancelled: boolean;
  errors: Array<{ code: string; errno?: string; message: string }>;
}

async function waitForNeighbour(lan: Lan, host: string, ip: string, mac: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await lan.neighbour(host, ip);
    if (e?.lladdr === mac) return;
    if (Date.now() > deadline) {
      throw new Error(`${host}: neighbour ${ip} is ${e?.lladdr ?? 'absent'} (${e?.state.join(',') ?? ''}), wanted ${mac}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function countLines(p: NsProcess, re: RegExp, want: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = p.stdout.filter((l) => re.test(l)).length;
    if (n >= want || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gratuitous ARP and unsolicited NA', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let a1: NetAgent;
  let a2: NetAgent;

  before(async () => {
    lan = await Lan.create();
    [a1, a2] = await Promise.all([NetAgent.start(lan, 'h1'), NetAgent.start(lan, 'h2')]);
  });

  after(async () => {
    await lan?.destroy();
  });

  test('IPv4: after the VIP moves to h1 and h1 sends a GARP burst, the client maps it to h1', async () => {
    const vip = lan.addr(100);
    const h1 = lan.host('h1');
    const h2 = lan.host('h2');
    await a2.call('nl.add', { spec: { address: vip, prefixLength: 24 } });
    assert.equal((await lan.touch('client', vip)).lladdr, h2.mac, 'the client starts with h2 for the VIP');

    await a2.call('nl.del', { key: { address: vip, prefixLength: 24 } });
    await a1.call('nl.add', { spec: { address: vip, prefixLength: 24 } });
    const dump = await startTcpdump(lan, 'client', 'arp');
    const r = await a1.call<Burst>('garp.burst', { ipv4: [vip], repeat: 5 });
    assert.deepEqual(r, { sent: 5, failed: 0, cancelled: false, errors: [] });

    await waitForNeighbour(lan, 'client', vip, h1.mac);
    const ip = vip.replace(/\./g, '\\.');
    // target MAC broadcast (tcpdump prints it when it is not zero), sender IP = target IP
    const garp = new RegExp(`^\\S+ ${h1.mac} > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has ${ip} \\(ff:ff:ff:ff:ff:ff\\) tell ${ip},`);
    assert.equal(await countLines(dump, garp, 5), 5, `tcpdump on the client:\n${dump.stdout.join('\n')}`);
    await dump.kill('SIGINT');
  });

  test('IPv6: an unsolicited NA burst moves the client’s neighbour entry to h1', async () => {
    const vip6 = lan.addr6(100);
    const h1 = lan.host('h1');
    const h2 = lan.host('h2');
    await a2.call('nl.add', { spec: { address: vip6, prefixLength: 64, noDad: true } });
    assert.equal((await lan.touch('client', vip6)).lladdr, h2.mac);

    await a2.call('nl.del', { key: { address: vip6, prefixLength: 64 } });
    await a1.call('nl.add', { spec: { address: vip6, prefixLength: 64, noDad: true } });
    const dump = await startTcpdump(lan, 'client', 'icmp6 and ip6[40] == 136');
    const r = await a1.call<Burst>('garp.burst', { ipv6: [vip6], repeat: 3 });
    assert.deepEqual(r, { sent: 3, failed: 0, cancelled: false, errors: [] });

    await waitForNeighbour(lan, 'client', vip6, h1.mac);
    const na = new RegExp(`${h1.mac} > 33:33:00:00:00:01.*hlim 255.*${vip6} > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement.*tgt is ${vip6}, Flags \\[override\\]`);
    assert.equal(await countLines(dump, na, 3), 3, `tcpdump on the client:\n${dump.stdout.join('\n')}`);
    await dump.kill('SIGINT');
  });

  test('pacing: vrrp_garp_interval spaces the packets; a burst can be cancelled midway', async () => {
    const vips = [lan.addr(100), lan.addr(101)];
    const t0 = performance.now();
    const paced = await a1.call<Burst>('garp.burst', { ipv4: vips, repeat: 2, garpIntervalMs: 60 });
    const elapsed = performance.now() - t0;
    assert.equal(paced.sent, 4);
    assert.ok(elapsed >= 180, `4 packets 60 ms apart took only ${elapsed.toFixed(0)} ms`);

    const cut = await a1.call<Burst>('garp.burst', { ipv4: vips, repeat: 50, garpIntervalMs: 50, cancelAfterMs: 300 });
    assert.equal(cut.cancelled, true);
    assert.ok(cut.sent >= 1 && cut.sent < 100, `sent ${cut.sent} of 100 before the cancel`);
  });

  test('send failures are counted and reported once per reason, never thrown', async () => {
    await lan.linkDown('h1');
    try {
      const r = await a1.call<Burst>('garp.burst', { ipv4: [lan.addr(100)], ipv6: [lan.addr6(100)], repeat: 3 });
      assert.equal(r.sent, 0);
      assert.equal(r.failed, 6);
      assert.equal(r.cancelled, false);
      assert.equal(r.errors.length, 2, JSON.stringify(r.errors));
      for (const e of r.errors) {
        assert.equal(e.code, 'ESOCKET');
        assert.equal(e.errno, 'ENETDOWN');
      }
    } finally {
      await lan.linkUp('h1');
    }
  });
});
