/**
 * Election rules where the two implementations must agree, each implementation once on
 * each side:
 *   - equal priorities: of two MASTERs that meet, the one with the lower primary address
 *     yields (RFC 3768 §6.4.3, RFC 5798 §6.4.3). The pair starts with multicast blocked
 *     between its two ports (bridge `mcast_flood off`), so both become MASTER; then the
 *     block is lifted and the split brain must heal towards the higher address.
 *     Over IPv4 (VRRPv2) and over IPv6 (VRRPv3, link-local primary addresses).
 *   - nopreempt on the higher-priority backup (both hosts `state BACKUP`, as keepalived
 *     requires): it does not take over from a live lower-priority master, but does
 *     replace a dead one.
 *   - preempt_delay on the higher-priority backup: it takes over from a live lower-priority
 *     master only after the delay (keepalived: lower adverts count as higher until then,
 *     so the takeover comes one Master_Down_Interval after the last of them).
 * The pairs run side by side, each on its own two hosts.
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
import { parseIpv4, parseIpv6 } from '../../src/protocol/index.js';

const addrBytes = (a: string): Buffer => Buffer.from((a.includes(':') ? parseIpv6(a) : parseIpv4(a)) ?? []);

const PRIO = 100;

describe('election rules shared by vipd and keepalived', { skip: netnsSkip(), concurrency: true }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    // Order matters: lo<i> gets the lower address of its pair.
    lan = await Lan.create({
      hosts: ['lo0', 'hi0', 'lo1', 'hi1', 'lo2', 'hi2', 'lo3', 'hi3', 'np0', 'lp0', 'np1', 'lp1', 'pd0', 'lq0', 'pd1', 'lq1'],
    });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-election-'));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const mcastFlood = async (hosts: readonly string[], on: boolean): Promise<void> => {
    for (const h of hosts) await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h}`, 'mcast_flood', on ? 'on' : 'off']);
  };

  const TIES = ([4, 6] as const).flatMap((family) => PAIRS.map((impls) => ({ family, impls }))).map((c, i) => ({ ...c, i }));

  TIES.forEach(({ family, impls: [loImpl, hiImpl], i }) => {
    const what = family === 4 ? 'VRRPv2/IPv4' : 'VRRPv3/IPv6';
    describe(`equal priorities, ${what}: ${loImpl} on the lower address, ${hiImpl} on the higher`, { concurrency: false }, () => {
      const lo = `lo${i}`;
      const hi = `hi${i}`;
      let pLo: Peer | undefined;
      let pHi: Peer | undefined;
      const vip = (): string => (family === 4 ? lan.addr(150 + i) : lan.addr6(150 + i));
      const primary = (host: string): string => (family === 4 ? lan.host(host).ipv4 : lan.host(host).linkLocal);
      const conf = (host: string): string =>
        vrrpConf({
          routerId: `${lan.id}-${host}`,
          instances: [{
            name: 'VI_1',
            state: 'BACKUP',
            vrid: 101 + i,
            priority: PRIO,
            vips: family === 4 ? [`${vip()}/24`] : [`${vip()}/64`],
            ...(family === 4 ? { authPass: 'tie' } : { extra: ['version 3'] }),
          }],
        });

      after(async () => {
        await stopAll([pLo, pHi]);
        await mcastFlood([lo, hi], true);
        assert.deepEqual(await vipHolders(lan, [lo, hi], vip()), []);
      });

      test('two MASTERs that meet: the lower address yields, the higher keeps the VIP', async (t) => {
        if (!requireRoot(t)) return;
        assert.ok(Buffer.compare(addrBytes(primary(lo)), addrBytes(primary(hi))) < 0, `${primary(lo)} < ${primary(hi)}`);
        await mcastFlood([lo, hi], false);
        [pLo, pHi] = await Promise.all([startPeer(loImpl, lan, lo, dir, conf(lo)), startPeer(hiImpl, lan, hi, dir, conf(hi))]);
        const down = masterDownIntervalMs(family === 4 ? 2 : 3, PRIO, 1);
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
          assert.deepEqual(st.master, { address: primary(hi), priority: PRIO });
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
        const crashed = pLp.crash();
        const took = await timeUntilAddress(lan, np, vip(), t0, npDown + MARGIN_MS + 5000);
        await crashed;
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

  PAIRS.forEach(([hiImpl, loImpl], i) => {
    describe(`preempt_delay on the higher-priority ${hiImpl} backup, ${loImpl} MASTER`, { concurrency: false }, () => {
      const pd = `pd${i}`; // priority 150, preempt_delay
      const lq = `lq${i}`; // priority 100
      let pPd: Peer | undefined;
      let pLq: Peer | undefined;
      const DELAY_S = 4;
      const vip = (): string => lan.addr(170 + i);
      const conf = (host: string): string =>
        vrrpConf({
          routerId: `${lan.id}-${host}`,
          instances: [{
            name: 'VI_1',
            state: 'BACKUP',
            vrid: 121 + i,
            priority: host === pd ? 150 : 100,
            authPass: 'pd',
            vips: [`${vip()}/24`],
            ...(host === pd ? { extra: [`preempt_delay ${DELAY_S}`] } : {}),
          }],
        });

      after(async () => {
        await stopAll([pPd, pLq]);
        assert.deepEqual(await vipHolders(lan, [pd, lq], vip()), []);
      });

      test('the higher priority joins a live lower master and takes over only after the delay', async (t) => {
        if (!requireRoot(t)) return;
        pLq = await startPeer(loImpl, lan, lq, dir, conf(lq));
        await pLq.waitForState('VI_1', 'MASTER', masterDownIntervalMs(2, 100, 1) + MARGIN_MS + 5000);
        const down = masterDownIntervalMs(2, 150, 1);
        const t0 = performance.now();
        pPd = await startPeer(hiImpl, lan, pd, dir, conf(pd));
        const took = await timeUntilAddress(lan, pd, vip(), t0, DELAY_S * 1000 + down + 1000 + MARGIN_MS + 10_000);
        t.diagnostic(`${hiImpl} preempted ${took.toFixed(0)} ms after it was started (preempt_delay ${DELAY_S} s, Master_Down_Interval ${down.toFixed(0)} ms)`);
        // Lower adverts reset its down timer until the delay is over (counted from the first one
        // seen, at or after start-up); the last of them came at most one interval before that.
        const earliest = DELAY_S * 1000 + down - 1000 - 250;
        const latest = DELAY_S * 1000 + down + 1000 + MARGIN_MS;
        assert.ok(took >= earliest, `${hiImpl} preempted after ${took.toFixed(0)} ms, before preempt_delay + Master_Down_Interval − 1 s (${earliest.toFixed(0)} ms)`);
        assert.ok(took <= latest, `${hiImpl} preempted after ${took.toFixed(0)} ms, later than ${latest.toFixed(0)} ms`);
        await pPd.waitForState('VI_1', 'MASTER', 2000);
        await pLq.waitForState('VI_1', 'BACKUP', 5000);
        await waitForHolders(lan, [pd, lq], vip(), [pd], 5000);
        await assertSoleHolder(lan, [pd, lq], vip(), pd, 1500);
      });
    });
  });
});
