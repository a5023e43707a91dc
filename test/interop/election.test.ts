/**
 * Election rules where the two implementations must agree, each implementation once on
 * each side:
 *   - equal priorities: of two MASTERs that meet, the one with the lower primary address
 *     yields (RFC 3768 §6.4.3, RFC 5798 §6.4.3). The pair starts with multicast blocked
 *     between its two ports (bridge `mcast_flood off`), so both become MASTER; then the
 *     block is lifted and the split brain must heal towards the higher address.
 *   - nopreempt on the higher-priority backup (both hosts `state BACKUP`, as keepalived
 *     requires): it does not take over from a live lower-priority master, but does
 *     replace a dead one.
 * The four pairs run side by side, each on its own two hosts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import {
  KeepalivedPeer,
  MARGIN_MS,
  masterDownIntervalMs,
  PAIRS,
  startPeer,
  stopAll,
  VipdPeer,
  vipHolders,
  waitForHolders,
  type Peer,
} from '../helpers/interop.js';
import { assertSoleHolder, timeUntilAddress, vrrpConf } from '../helpers/vipd.js';

const PRIO = 100;

describe('election rules shared by vipd and keepalived', { skip: netnsSkip(), concurrency: true }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    // Order matters: lo<i> gets the lower address of its pair.
    lan = await Lan.create({ hosts: ['lo0', 'hi0', 'lo1', 'hi1', 'np0', 'lp0', 'np1', 'lp1'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-election-'));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const mcastFlood = async (hosts: readonly string[], on: boolean): Promise<void> => {
    for (const h of hosts) await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h}`, 'mcast_flood', on ? 'on' : 'off']);
  };

  PAIRS.forEach(([loImpl, hiImpl], i) => {
    describe(`equal priorities: ${loImpl} on the lower address, ${hiImpl} on the higher`, { concurrency: false }, () => {
      const lo = `lo${i}`;
      const hi = `hi${i}`;
      let pLo: Peer | undefined;
      let pHi: Peer | undefined;
      const vip = (): string => lan.addr(150 + i);
      const conf = (host: string): string =>
        vrrpConf({
          routerId: `${lan.id}-${host}`,
          instances: [{ name: 'VI_1', state: 'BACKUP', vrid: 101 + i, priority: PRIO, authPass: 'tie', vips: [`${vip()}/24`] }],
        });

      after(async () => {
        await stopAll([pLo, pHi]);
        await mcastFlood([lo, hi], true);
        assert.deepEqual(await vipHolders(lan, [lo, hi], vip()), []);
      });

      test('two MASTERs that meet: the lower address yields, the higher keeps the VIP', async (t) => {
        if (!requireRoot(t)) return;
        const last = (h: string): number => Number(lan.host(h).ipv4.split('.')[3]);
        assert.ok(last(lo) < last(hi), 'the LAN numbers hosts in order');
        await mcastFlood([lo, hi], false);
        [pLo, pHi] = await Promise.all([startPeer(loImpl, lan, lo, dir, conf(lo)), startPeer(hiImpl, lan, hi, dir, conf(hi))]);
        const down = masterDownIntervalMs(2, PRIO, 1);
        await Promise.all([pLo.waitForState('VI_1', 'MASTER', down + MARGIN_MS + 5000), pHi.waitForState('VI_1', 'MASTER', down + MARGIN_MS + 5000)]);
        await waitForHolders(lan, [lo, hi], vip(), [lo, hi], 5000);

        await mcastFlood([lo, hi], true);
        const t0 = performance.now();
        // The next advert of the higher address (≤ 1 s away) makes the lower one yield.
        await lan.waitForAddress(lo, vip(), { present: false, timeoutMs: 1000 + MARGIN_MS });
        t.diagnostic(`${loImpl} released the VIP ${(performance.now() - t0).toFixed(0)} ms after the LAN healed`);
        await pLo.waitForState('VI_1', 'BACKUP', 2000);
        // Longer than the lower one's Master_Down_Interval: it stays BACKUP on equal-priority adverts.
        await assertSoleHolder(lan, [lo, hi], vip(), hi, down + 1000);
        assert.equal(await pHi.state('VI_1'), 'MASTER');
        assert.equal(await pLo.state('VI_1'), 'BACKUP');
        if (pHi instanceof VipdPeer) {
          const st = await pHi.vipd.instance('VI_1');
          assert.equal(st.stats.becameMaster, 1, 'the higher address never left MASTER');
          assert.equal(st.stats.releasedMaster, 0, 'the higher address never left MASTER');
        }
        if (pHi instanceof KeepalivedPeer) assert.equal(pHi.ka.entered('VI_1', 'BACKUP'), 1, `only the initial BACKUP\n${pHi.tail()}`);
        if (pLo instanceof VipdPeer) {
          const st = await pLo.vipd.instance('VI_1');
          assert.deepEqual(st.master, { address: lan.host(hi).ipv4, priority: PRIO });
          assert.equal(st.stats.releasedMaster, 1);
        }
        if (pLo instanceof KeepalivedPeer) assert.equal(pLo.ka.entered('VI_1', 'BACKUP'), 2, `init, then yield\n${pLo.tail()}`);
      });
    });
  });

  PAIRS.forEach(([hiImpl, loImpl], i) => {
    describe(`nopreempt on the higher-priority ${hiImpl} backup, ${loImpl} MASTER`, { concurrency: false }, () => {
      const np = `np${i}`; // nopreempt, priority 150
      const lp = `lp${i}`; // priority 100
      let pNp: Peer | undefined;
      let pLp: Peer | undefined;
      const vip = (): string => lan.addr(160 + i);
      const conf = (host: string): string =>
        vrrpConf({
          routerId: `${lan.id}-${host}`,
          instances: [{
            name: 'VI_1',
            state: 'BACKUP',
            vrid: 111 + i,
            priority: host === np ? 150 : 100,
            authPass: 'np',
            vips: [`${vip()}/24`],
            ...(host === np ? { nopreempt: true } : {}),
          }],
        });

      after(async () => {
        await stopAll([pNp, pLp]);
        assert.deepEqual(await vipHolders(lan, [np, lp], vip()), []);
      });

      test('a live lower-priority master keeps the VIP; a dead one is replaced', async (t) => {
        if (!requireRoot(t)) return;
        pLp = await startPeer(loImpl, lan, lp, dir, conf(lp));
        await pLp.waitForState('VI_1', 'MASTER', masterDownIntervalMs(2, 100, 1) + MARGIN_MS + 5000);
        pNp = await startPeer(hiImpl, lan, np, dir, conf(np));
        await pNp.waitForState('VI_1', 'BACKUP', 15_000);
        // Twice its Master_Down_Interval and more: a backup that preempted would have done so.
        const npDown = masterDownIntervalMs(2, 150, 1);
        await assertSoleHolder(lan, [np, lp], vip(), lp, 2 * npDown + 1000);
        assert.equal(await pNp.state('VI_1'), 'BACKUP');
        if (pNp instanceof VipdPeer) {
          const st = await pNp.vipd.instance('VI_1');
          assert.deepEqual(st.master, { address: lan.host(lp).ipv4, priority: 100 });
          assert.equal(st.effectivePriority, 150);
          assert.equal(st.stats.becameMaster, 0);
        }
        if (pNp instanceof KeepalivedPeer) assert.equal(pNp.ka.entered('VI_1', 'MASTER'), 0, pNp.tail());

        // nopreempt only means "do not take over from a live master".
        const t0 = performance.now();
        await pLp.crash();
        const took = await timeUntilAddress(lan, np, vip(), t0, npDown + MARGIN_MS + 5000);
        t.diagnostic(`${hiImpl} took over ${took.toFixed(0)} ms after ${loImpl} was killed (Master_Down_Interval ${npDown.toFixed(0)} ms)`);
        assert.ok(took <= npDown + MARGIN_MS, `${hiImpl} took ${took.toFixed(0)} ms`);
        await pNp.waitForState('VI_1', 'MASTER', 2000);

        // The lower priority comes back (clearing the VIP its crash left): it stays BACKUP.
        await pLp.restart();
        await pLp.waitForState('VI_1', 'BACKUP', 10_000);
        await waitForHolders(lan, [np, lp], vip(), [np], 5000);
        await assertSoleHolder(lan, [np, lp], vip(), np, masterDownIntervalMs(2, 100, 1) + 1000);
      });
    });
  });
});
