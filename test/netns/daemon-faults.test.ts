/**
 * What the master does when its host misbehaves (issue 4): a VIP deleted by hand comes
 * back; the master's interface set down (or its cable pulled) puts it in FAULT, it
 * gives the VIP up and the backup takes over; when the link returns it preempts back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip } from '../helpers/netns.js';
import {
  assertSoleHolder,
  masterDownMs,
  sleep,
  timeUntilAddress,
  VipdHost,
  vrrpConf,
  type InstanceSpec,
} from '../helpers/vipd.js';

const MARGIN_MS = 1500;

describe('vipd on a misbehaving host', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let vip: string;
  let vip6: string;

  const instance = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
    name: 'VI_1',
    state,
    vrid: 51,
    priority,
    vips: [`${vip}/24`],
  });

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-faults-'));
    vip = lan.addr(100);
    vip6 = lan.addr6(100);
    // h1 alone also runs a VRRPv3 instance whose VIP is spelled the way a person may write
    // it (upper case, zeros not compressed): keepalived accepts that.
    const spelled = vip6.toUpperCase().replace('::', ':0:0:0:');
    const vi6: InstanceSpec = { name: 'VI_6', state: 'MASTER', vrid: 61, priority: 150, vips: [`${spelled}/64`], extra: ['version 3'] };
    h1 = await VipdHost.start(lan, 'h1', dir, vrrpConf({ routerId: 'lb01', instances: [instance(150, 'MASTER'), vi6] }));
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'lb02', instances: [instance(100, 'BACKUP')] }));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function settled(): Promise<void> {
    await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForState('VI_1', 'BACKUP');
    await lan.waitForAddress('h1', vip);
    await lan.waitForAddress('h2', vip, { present: false });
  }

  test('a VIP deleted by hand on the master comes back', async (t) => {
    await settled();
    const mark = h1.proc.mark();
    for (let round = 0; round < 2; round++) {
      const t0 = performance.now();
      await lan.exec('h1', ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
      const took = await timeUntilAddress(lan, 'h1', vip, t0, 5000);
      t.diagnostic(`round ${round + 1}: VIP back on h1 ${took.toFixed(0)} ms after ip addr del`);
    }
    await h1.proc.waitForLine(/\(VI_1\) VIP .* was removed by someone else while MASTER; putting it back/, { after: mark, timeoutMs: 1000 });

    await h1.waitForState('VI_6', 'MASTER');
    await lan.waitForAddress('h1', vip6);
    const t0 = performance.now();
    await lan.exec('h1', ['ip', 'addr', 'del', `${vip6}/64`, 'dev', 'eth0']);
    const took = await timeUntilAddress(lan, 'h1', vip6, t0, 5000);
    t.diagnostic(`IPv6 VIP back on h1 ${took.toFixed(0)} ms after ip addr del`);

    const st = await h1.instance('VI_1');
    assert.equal(st.state, 'MASTER');
    assert.equal(st.stats.releasedMaster, 0);
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', 1000);
    assert.equal((await h2.instance('VI_1')).state, 'BACKUP');
  });

  test('ip link set eth0 down on the master: FAULT, the backup takes over; link up: the master preempts back', async (t) => {
    await settled();
    const t0 = performance.now();
    await lan.linkDown('h1');
    try {
      const f = await h1.waitForState('VI_1', 'FAULT', 5000);
      assert.ok(f.faultReasons.length > 0, JSON.stringify(f));
      assert.equal(f.lastTransition?.from, 'MASTER');
      // An IPv4 address stays on a downed interface unless someone removes it: vipd must.
      await lan.waitForAddress('h1', vip, { present: false, timeoutMs: 5000 });
      const took = await timeUntilAddress(lan, 'h2', vip, t0, 15_000);
      t.diagnostic(`VIP on h2 ${took.toFixed(0)} ms after h1's link went down`);
      assert.ok(took <= masterDownMs(100) + MARGIN_MS, `h2 took ${took.toFixed(0)} ms`);
      await h2.waitForState('VI_1', 'MASTER', 2000);
      await sleep(1500);
      assert.equal((await h1.instance('VI_1')).state, 'FAULT', 'a downed link keeps the instance in FAULT');
    } finally {
      await lan.linkUp('h1');
    }
    await settled();
    const st = await h1.instance('VI_1');
    assert.deepEqual(st.faultReasons, []);
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', 1000);
  });

  test('the master’s cable pulled (carrier lost, link still up): FAULT, the backup takes over; plugged back: preempts back', async (t) => {
    await settled();
    const t0 = performance.now();
    await lan.unplug('h1');
    try {
      await h1.waitForState('VI_1', 'FAULT', 5000);
      const took = await timeUntilAddress(lan, 'h2', vip, t0, 15_000);
      t.diagnostic(`VIP on h2 ${took.toFixed(0)} ms after h1's cable was pulled`);
      assert.ok(took <= masterDownMs(100) + MARGIN_MS, `h2 took ${took.toFixed(0)} ms`);
      await h2.waitForState('VI_1', 'MASTER', 2000);
      assert.equal(await lan.hasAddress('h1', vip), false);
    } finally {
      await lan.plug('h1');
    }
    await settled();
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', 1000);
  });
});
