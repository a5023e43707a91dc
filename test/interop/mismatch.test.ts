/**
 * Misconfigured pairs: vipd and keepalived share a VRID but disagree on something each
 * must check on receipt (RFC 3768 §7.1 / RFC 5798 §7.1, keepalived's vrrp_check_packet):
 * the password, the auth type, the address list, the advert interval (v2), the version.
 * Each side must drop the other's adverts, so both end up MASTER — the split brain such a
 * mistake really causes with two keepalived. vipd counts the drops under
 * `stats.dropped.<reason>`; keepalived says so in its log. Each implementation is once
 * the lower priority, the side that would yield if it accepted the adverts.
 *
 * The cases run in batches; the pairs of a batch run side by side on their own hosts.
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
  startPeer,
  stopAll,
  VipdPeer,
  vipHolders,
  waitForHolders,
  type Impl,
  type Peer,
} from '../helpers/interop.js';
import { sleep, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';

const HIGH = 150;
const LOW = 100;

/** One side's differences from the default instance (VRRPv2, advert_int 1, one VIP, no auth). */
interface Side {
  readonly pass?: string;
  readonly vips?: readonly number[];
  readonly advertInt?: number;
  readonly version?: 2 | 3;
  readonly skipCheckAdvAddr?: boolean;
}

interface Mismatch {
  readonly title: string;
  readonly high: Side;
  readonly low: Side;
  /** vipd's drop counter for it. */
  readonly reason: string;
  /** What keepalived logs when it drops such an advert. */
  readonly keepalived: RegExp;
}

const MISMATCHES: readonly Mismatch[] = [
  {
    title: 'wrong password',
    high: { pass: 'right-pw' },
    low: { pass: 'wrong-pw' },
    reason: 'auth',
    keepalived: /\(VI_1\) received an invalid passwd!/,
  },
  {
    title: 'PASS against no authentication',
    high: { pass: 'right-pw' },
    low: {},
    reason: 'auth',
    keepalived: /\(VI_1\) received a [01] auth, expecting [01]!/,
  },
  // keepalived 2.2.7 drops these (vrrp_check_packet: the count, then each of its own VIPs must
  // be in the advert) whether or not vrrp_strict is set.
  {
    title: 'a VIP more on the high side',
    high: { vips: [0, 1] },
    low: { vips: [0] },
    reason: 'addressList',
    keepalived: /\(VI_1\) received an unexpected ip number count \d+, expected \d+!/,
  },
  {
    title: 'as many VIPs, one different',
    high: { vips: [0, 1] },
    low: { vips: [0, 2] },
    reason: 'addressList',
    keepalived: /\(VI_1\) ip address associated with VRID \d+ not present in MASTER advert/,
  },
  {
    title: 'advert_int 1 against 2 (VRRPv2)',
    high: { advertInt: 1 },
    low: { advertInt: 2 },
    reason: 'interval',
    keepalived: /\(VI_1\) advertisement interval mismatch mine=\d+ sec rcv'd=\d+ sec/,
  },
  {
    title: 'VRRPv2 against VRRPv3',
    high: { version: 2 },
    low: { version: 3 },
    reason: 'version',
    keepalived: /\(VI_1\) wrong version\. Received \d and expect \d/,
  },
  // skip_check_adv_addr skips the check only in BACKUP and only for an advert from the master
  // already accepted (keepalived vrrp_state_backup: check_addr unless the source is
  // master_saddr; vrrp_state_master_rx always checks), so a list that differs from the start
  // is still dropped.
  {
    title: 'a VIP more on the high side, skip_check_adv_addr on both',
    high: { vips: [0, 1], skipCheckAdvAddr: true },
    low: { vips: [0], skipCheckAdvAddr: true },
    reason: 'addressList',
    keepalived: /\(VI_1\) received an unexpected ip number count \d+, expected \d+!/,
  },
];

interface Case {
  readonly m: Mismatch;
  readonly highImpl: Impl;
  readonly lowImpl: Impl;
  readonly n: number;
}

const CASES: readonly Case[] = MISMATCHES.flatMap((m, j) => [
  { m, highImpl: 'vipd' as const, lowImpl: 'keepalived' as const, n: 2 * j },
  { m, highImpl: 'keepalived' as const, lowImpl: 'vipd' as const, n: 2 * j + 1 },
]);
const BATCH = 4;

describe('misconfigured pairs: vipd and keepalived drop each other the same way', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir = '';
  let peers: Peer[] = [];

  before(async () => {
    lan = await Lan.create({ hosts: CASES.flatMap((c) => [`hi${c.n}`, `lo${c.n}`]) });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-mismatch-'));
  });

  after(async () => {
    await stopAll(peers);
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const vipOf = (c: Case, k: number): string => lan.addr(100 + 3 * c.n + k);

  const spec = (c: Case, high: boolean): InstanceSpec => {
    const s = high ? c.m.high : c.m.low;
    return {
      name: 'VI_1',
      state: high ? 'MASTER' : 'BACKUP',
      vrid: 131 + c.n,
      priority: high ? HIGH : LOW,
      advertInt: s.advertInt ?? 1,
      vips: (s.vips ?? [0]).map((k) => `${vipOf(c, k)}/24`),
      ...(s.pass !== undefined ? { authPass: s.pass } : {}),
      extra: [...(s.version === 3 ? ['version 3'] : []), ...(s.skipCheckAdvAddr ? ['skip_check_adv_addr'] : [])],
    };
  };

  async function runBatch(cases: readonly Case[]): Promise<void> {
    await stopAll(peers);
    peers = [];
    const started = await Promise.all(
      cases.map(async (c) => {
        const hh = `hi${c.n}`;
        const lh = `lo${c.n}`;
        const high = await startPeer(c.highImpl, lan, hh, dir, vrrpConf({ routerId: `${lan.id}-${hh}`, instances: [spec(c, true)] }));
        peers.push(high);
        await high.waitForState('VI_1', 'MASTER', 20_000);
        const low = await startPeer(c.lowImpl, lan, lh, dir, vrrpConf({ routerId: `${lan.id}-${lh}`, instances: [spec(c, false)] }));
        peers.push(low);
        return { c, high, low, hosts: [hh, lh] as const };
      }),
    );
    const failures: string[] = [];
    await Promise.all(
      started.map(async ({ c, high, low, hosts }) => {
        const title = `${c.m.title}, ${c.highImpl} high / ${c.lowImpl} low`;
        try {
          // The low side hears adverts of a higher priority and still takes over: it dropped them.
          const lowDown = masterDownIntervalMs(2, LOW, c.m.low.advertInt ?? 1);
          try {
            await low.waitForState('VI_1', 'MASTER', lowDown + MARGIN_MS + 3000);
          } catch {
            const st = low instanceof VipdPeer ? ` stats ${JSON.stringify((await low.vipd.instance('VI_1')).stats)}` : '';
            assert.fail(`the low side (${low.impl}) stayed ${await low.state('VI_1')}: it accepted the other's adverts${st}\n${low.tail(6)}`);
          }
          const vip = vipOf(c, 0); // the VIP both sides have
          await waitForHolders(lan, hosts, vip, hosts, 5000);
          await sleep(2500); // adverts both ways while both are MASTER
          assert.equal(await high.state('VI_1'), 'MASTER', high.tail(8));
          assert.equal(await low.state('VI_1'), 'MASTER', low.tail(8));
          assert.deepEqual((await vipHolders(lan, hosts, vip)).sort(), [...hosts].sort(), 'both hold the VIP');
          for (const p of [high, low]) {
            if (p instanceof VipdPeer) {
              const st = await p.vipd.instance('VI_1');
              const why = `vipd (${p === high ? 'high' : 'low'} side) stats ${JSON.stringify(st.stats)}`;
              // keepalived as MASTER sends irregularly while it receives adverts it rejects: ≥ 1, not ≥ 3.
              assert.ok((st.stats.dropped[c.m.reason] ?? 0) >= 1, `no drop counted under dropped.${c.m.reason}: ${why}`);
              assert.equal(st.stats.advertRx, 0, `vipd accepted keepalived's adverts: ${why}`);
            }
            if (p instanceof KeepalivedPeer) {
              assert.ok(p.ka.log.some((l) => c.m.keepalived.test(l)), `keepalived did not log ${c.m.keepalived}\n${p.tail(8)}`);
              assert.equal(p.ka.entered('VI_1', 'MASTER'), 1, `keepalived left MASTER and came back\n${p.tail(8)}`);
            }
          }
        } catch (err) {
          failures.push(`${title}: ${(err as Error).message}`);
        }
      }),
    );
    // Every case of the batch is judged, and all failures are reported together.
    if (failures.length > 0) assert.fail(`${failures.length} of ${cases.length} cases failed:\n\n${failures.join('\n\n')}`);
  }

  for (let b = 0; b < CASES.length; b += BATCH) {
    const batch = CASES.slice(b, b + BATCH);
    const names = [...new Set(batch.map((c) => c.m.title))].join('; ');
    test(`each side drops the other's adverts and both are MASTER: ${names}`, async (t) => {
      if (!requireRoot(t)) return;
      await runBatch(batch);
    });
  }
});
