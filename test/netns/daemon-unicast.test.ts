/**
 * Unicast VRRP (unicast_src_ip / unicast_peer) on a LAN that carries no multicast:
 * the bridge floods no multicast frame to any port (`mcast_flood off`), so adverts to
 * 224.0.0.18 never arrive. The first test proves the block (multicast vipd pair: both
 * end up MASTER); the unicast pair then elects one master and fails over.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { startTcpdump } from '../helpers/ns-packets.js';
import {
  assertSoleHolder,
  holders,
  masterDownMs,
  skewMs,
  timeUntilAddress,
  VipdHost,
  vrrpConf,
  type InstanceSpec,
} from '../helpers/vipd.js';

const MARGIN_MS = 1500;

describe('unicast VRRP with multicast blocked', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost | undefined;
  let h2: VipdHost | undefined;
  let vip: string;

  const instance = (host: 'h1' | 'h2', unicast: boolean): InstanceSpec => {
    const self = lan.host(host).ipv4;
    const peer = lan.host(host === 'h1' ? 'h2' : 'h1').ipv4;
    return {
      name: 'VI_1',
      state: host === 'h1' ? 'MASTER' : 'BACKUP',
      vrid: 51,
      priority: host === 'h1' ? 150 : 100,
      authPass: 'uni',
      vips: [`${vip}/24`],
      ...(unicast ? { unicast: { src: self, peers: [peer] } } : {}),
    };
  };
  const conf = (host: 'h1' | 'h2', unicast: boolean): string =>
    vrrpConf({ routerId: host === 'h1' ? 'lb01' : 'lb02', instances: [instance(host, unicast)] });

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-unicast-'));
    vip = lan.addr(100);
    for (const h of lan.hosts) {
      await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h.name}`, 'mcast_flood', 'off']);
    }
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the LAN really drops multicast: a multicast pair splits into two MASTERs', async () => {
    const dump = await startTcpdump(lan, 'h2', 'ip proto 112');
    [h1, h2] = await Promise.all([
      VipdHost.start(lan, 'h1', dir, conf('h1', false)),
      VipdHost.start(lan, 'h2', dir, conf('h2', false)),
    ]);
    await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForState('VI_1', 'MASTER', masterDownMs(100) + 5000);
    assert.deepEqual(await holders(lan, ['h1', 'h2'], vip), ['h1', 'h2']);
    assert.equal((await h2.instance('VI_1')).stats.advertRx, 0);
    await dump.kill('SIGINT');
    const fromH1 = dump.stdout.filter((l) => l.includes(`${lan.host('h1').ipv4} > 224.0.0.18`));
    assert.deepEqual(fromH1, [], 'h2 must not see h1’s multicast adverts');
    await Promise.all([h1.stop(), h2.stop()]);
    assert.deepEqual(await holders(lan, ['h1', 'h2'], vip), []);
  });

  test('a unicast pair elects one MASTER; only it holds the VIP', async () => {
    const dump = await startTcpdump(lan, 'h2', 'ip proto 112');
    assert.ok(h1 && h2);
    await h1.writeConfig(conf('h1', true));
    await h2.writeConfig(conf('h2', true));
    await h1.restart();
    await h1.waitForState('VI_1', 'MASTER');
    await h2.restart();
    const b = await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    assert.deepEqual(b.master, { address: lan.host('h1').ipv4, priority: 150 });
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', masterDownMs(100) + 1000);
    const st = await h2.instance('VI_1');
    assert.equal(st.state, 'BACKUP');
    assert.ok(st.stats.advertRx >= 3, JSON.stringify(st.stats));
    assert.equal(st.stats.becameMaster, 0);
    await dump.kill('SIGINT');
    const h1ip = lan.host('h1').ipv4;
    const h2ip = lan.host('h2').ipv4;
    assert.ok(dump.stdout.some((l) => l.includes(`${h1ip} > ${h2ip}: VRRPv2, Advertisement, vrid 51, prio 150`)), dump.stdout.join('\n'));
  });

  test('unicast failover: SIGTERM on the master (priority 0 to the peer), then SIGKILL the other way', async (t) => {
    assert.ok(h1 && h2);
    await h1.waitForState('VI_1', 'MASTER');
    let t0 = performance.now();
    assert.equal((await h1.stop()).code, 0);
    let took = await timeUntilAddress(lan, 'h2', vip, t0, 10_000);
    t.diagnostic(`VIP on h2 ${took.toFixed(0)} ms after SIGTERM`);
    assert.ok(took <= skewMs(100) + MARGIN_MS, `h2 took ${took.toFixed(0)} ms`);
    assert.ok((await h2.instance('VI_1')).stats.priorityZeroRx >= 1);

    await h1.restart();
    await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForState('VI_1', 'BACKUP');
    await lan.waitForAddress('h2', vip, { present: false });

    t0 = performance.now();
    await h1.kill('SIGKILL');
    took = await timeUntilAddress(lan, 'h2', vip, t0, 15_000);
    t.diagnostic(`VIP on h2 ${took.toFixed(0)} ms after SIGKILL`);
    assert.ok(took <= masterDownMs(100) + MARGIN_MS, `h2 took ${took.toFixed(0)} ms`);
  });

  test('multicast back on: a unicast and a multicast instance on the same eth0 both hear their peer', async () => {
    assert.ok(h1 && h2);
    await Promise.all([h1.stop(), h2.stop()]);
    for (const h of lan.hosts) {
      await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h.name}`, 'mcast_flood', 'on']);
    }
    const vi2 = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
      name: 'VI_2', state, vrid: 52, priority, vips: [`${lan.addr(101)}/24`],
    });
    // VI_1 (unicast) comes first in the file: the shared socket must still join the group for VI_2.
    await h1.writeConfig(vrrpConf({ routerId: 'lb01', instances: [instance('h1', true), vi2(150, 'MASTER')] }));
    await h2.writeConfig(vrrpConf({ routerId: 'lb02', instances: [instance('h2', true), vi2(100, 'BACKUP')] }));
    await h1.restart();
    await h1.waitForState('VI_1', 'MASTER');
    await h1.waitForState('VI_2', 'MASTER');
    await h2.restart();
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    await h2.waitForBackupOf('VI_2', lan.host('h1').ipv4);
    await Promise.all([
      assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', masterDownMs(100) + 1000),
      assertSoleHolder(lan, ['h1', 'h2'], lan.addr(101), 'h1', masterDownMs(100) + 1000),
    ]);
    for (const name of ['VI_1', 'VI_2']) {
      const st = await h2.instance(name);
      assert.equal(st.stats.becameMaster, 0, `${name} on h2: ${JSON.stringify(st)}`);
    }
  });
});
