/**
 * keepalived's garp_lower_prio_repeat/delay (vrrp_state_master_rx): a MASTER that hears a
 * lower-priority master re-announces its VIPs with gratuitous ARPs. This is what brings
 * clients back after a partition heals: during it they followed the other side's ARPs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileFrame, Injector } from '../helpers/injector.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { sleep, VipdHost, vrrpConf, waitForNeighbourMac } from '../helpers/vipd.js';

const BOGUS_MAC = '02:de:ad:be:ef:01';

describe('a MASTER hearing a lower-priority master', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let inj: Injector;

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'client', 'other'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-lowgarp-'));
    const vip = lan.addr(100);
    h1 = await VipdHost.start(
      lan,
      'h1',
      dir,
      vrrpConf({ routerId: 'h1', instances: [{ name: 'VI_1', state: 'MASTER', vrid: 51, priority: 150, authPass: 'p', vips: [`${vip}/24`] }] }),
    );
    await h1.waitForState('VI_1', 'MASTER');
    inj = await Injector.start(lan, 'other');
  });

  after(async () => {
    await inj?.stop();
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('re-announces its VIPs at once, so a client that followed the other side comes back', async () => {
    const vip = lan.addr(100);
    // Let the take-over bursts (now and after garp_master_delay, 5 s) pass first.
    await sleep(6000);
    // The client believes the VIP is elsewhere, as after a partition in which the other side won.
    await lan.exec('client', ['ip', 'neigh', 'replace', vip, 'lladdr', BOGUS_MAC, 'dev', 'eth0', 'nud', 'stale']);
    const mark = h1.proc.mark();
    const other = lan.host('other').ipv4;
    const sent = await inj.send([
      hostileFrame({ src: other, vrrp: { vrid: 51, priority: 100, addresses: [vip], password: 'p' } }),
    ]);
    assert.equal(sent, 1);
    await waitForNeighbourMac(lan, 'client', vip, lan.host('h1').mac, 3000);
    await h1.proc.waitForLine(/\(VI_1\) lower priority master heard: re-announcing our VIPs/, { after: mark, timeoutMs: 1000 });
    assert.equal((await h1.instance('VI_1')).state, 'MASTER');
  });

  test('without one, nothing is re-announced (the client keeps what it has)', async () => {
    const vip = lan.addr(100);
    await sleep(6000); // the second burst of the previous test is over
    await lan.exec('client', ['ip', 'neigh', 'replace', vip, 'lladdr', BOGUS_MAC, 'dev', 'eth0', 'nud', 'stale']);
    await sleep(2500);
    const n = await lan.neighbour('client', vip);
    assert.equal(n?.lladdr, BOGUS_MAC, 'no gratuitous ARP without a lower-priority master');
  });
});
