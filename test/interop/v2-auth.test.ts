/**
 * Authentication mismatches between vipd and keepalived (VRRPv2, IPv4): each side must
 * drop the other's adverts (RFC 3768 §7.1), so both end up MASTER — the split brain a
 * wrong password really causes. vipd counts the drops under `dropped.auth`; keepalived
 * says so in its log ("received an invalid passwd!", "received a 1 auth, expecting 0!"). Each implementation is once the lower priority, the side that
 * would yield if it accepted the adverts. The two pairs run side by side on one LAN
 * (h1/h2 and h3/h4, different VRIDs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import { KeepalivedPeer, startPeer, stopAll, VipdPeer, vipHolders, waitForHolders, type Impl, type Peer } from '../helpers/interop.js';
import { masterDownMs, sleep, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';

const HIGH = 150;
const LOW = 100;
const MARGIN_MS = 2000;

interface Case {
  readonly title: string;
  readonly high: Impl;
  readonly low: Impl;
  readonly hosts: readonly [string, string];
  readonly vrid: number;
  readonly vipN: number;
  /** Authentication of the high and the low side. */
  readonly auth: readonly [string | undefined, string | undefined];
}

const CASES: readonly Case[] = [
  { title: 'wrong password, vipd high / keepalived low', high: 'vipd', low: 'keepalived', hosts: ['h1', 'h2'], vrid: 61, vipN: 110, auth: ['right-pw', 'wrong-pw'] },
  { title: 'wrong password, keepalived high / vipd low', high: 'keepalived', low: 'vipd', hosts: ['h3', 'h4'], vrid: 62, vipN: 111, auth: ['right-pw', 'wrong-pw'] },
  { title: 'PASS against no authentication, vipd high / keepalived low', high: 'vipd', low: 'keepalived', hosts: ['h1', 'h2'], vrid: 63, vipN: 112, auth: ['right-pw', undefined] },
  { title: 'no authentication against PASS, keepalived high / vipd low', high: 'keepalived', low: 'vipd', hosts: ['h3', 'h4'], vrid: 64, vipN: 113, auth: [undefined, 'right-pw'] },
];

describe('VRRPv2 authentication mismatch between vipd and keepalived', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir = '';
  let peers: Peer[] = [];

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'h2', 'h3', 'h4'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-auth-'));
  });

  after(async () => {
    await stopAll(peers);
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const spec = (c: Case, side: 0 | 1): InstanceSpec => {
    const pass = c.auth[side];
    return {
      name: 'VI_1',
      state: side === 0 ? 'MASTER' : 'BACKUP',
      vrid: c.vrid,
      priority: side === 0 ? HIGH : LOW,
      vips: [`${lan.addr(c.vipN)}/24`],
      ...(pass !== undefined ? { authPass: pass } : {}),
    };
  };

  /** Runs cases side by side (they use different hosts): each side drops the other's adverts. */
  async function runCases(cases: readonly Case[]): Promise<void> {
    await stopAll(peers);
    peers = [];
    const started = await Promise.all(
      cases.map(async (c) => {
        const [hh, lh] = c.hosts;
        const high = await startPeer(c.high, lan, hh, dir, vrrpConf({ routerId: `${lan.id}-${hh}-${c.vrid}`, instances: [spec(c, 0)] }));
        peers.push(high);
        await high.waitForState('VI_1', 'MASTER', 15_000);
        const low = await startPeer(c.low, lan, lh, dir, vrrpConf({ routerId: `${lan.id}-${lh}-${c.vrid}`, instances: [spec(c, 1)] }));
        peers.push(low);
        return { c, high, low };
      }),
    );
    await Promise.all(
      started.map(async ({ c, high, low }) => {
        const vip = lan.addr(c.vipN);
        // The low side hears adverts of a higher priority and still takes over: it dropped them.
        await low.waitForState('VI_1', 'MASTER', masterDownMs(LOW) + MARGIN_MS + 3000);
        await waitForHolders(lan, c.hosts, vip, c.hosts, 5000);
        // Several adverts each way after the low side became MASTER.
        await sleep(3000);
        assert.equal(await high.state('VI_1'), 'MASTER', `${c.title}: ${high.tail()}`);
        assert.equal(await low.state('VI_1'), 'MASTER', `${c.title}: ${low.tail()}`);
        assert.deepEqual((await vipHolders(lan, c.hosts, vip)).sort(), [...c.hosts].sort(), `${c.title}: both hold the VIP`);
        for (const p of [high, low]) {
          const other = p === high ? low : high;
          if (p instanceof VipdPeer) {
            const st = await p.vipd.instance('VI_1');
            // keepalived as MASTER sends irregularly while it receives adverts it rejects: ≥ 1, not ≥ 3.
            assert.ok((st.stats.dropped['auth'] ?? 0) >= 1, `${c.title}: vipd dropped.auth ${JSON.stringify(st.stats)}`);
            assert.equal(st.stats.advertRx, 0, `${c.title}: vipd accepted an advert with the wrong authentication`);
            const others = Object.entries(st.stats.dropped).filter(([k, n]) => k !== 'auth' && n !== 0);
            assert.deepEqual(others, [], `${c.title}: only auth drops`);
            // A BACKUP that had accepted them would name the other side as master.
            assert.notEqual(st.master?.address, lan.host(other.host).ipv4);
          }
          if (p instanceof KeepalivedPeer) {
            const complaints = p.ka.log.filter((l) => /\(VI_1\) received (an invalid passwd!|a [012] auth, expecting [012]!)/.test(l));
            assert.ok(complaints.length >= 1, `${c.title}: keepalived did not report the authentication mismatch\n${p.tail()}`);
            assert.equal(p.ka.entered('VI_1', 'MASTER'), 1, `${c.title}: keepalived left MASTER and came back\n${p.tail()}`);
          }
        }
      }),
    );
  }

  test('wrong password on one side: each side drops the other, both are MASTER', async (t) => {
    if (!requireRoot(t)) return;
    await runCases(CASES.slice(0, 2));
  });

  test('PASS on one side, no authentication on the other: each side drops the other', async (t) => {
    if (!requireRoot(t)) return;
    await runCases(CASES.slice(2, 4));
  });
});
