/**
 * vipd and keepalived 2.2.7 sharing one VRID (VRRPv2, IPv4 multicast), both ways round,
 * with PASS authentication and without: the higher priority is MASTER and alone holds
 * the VIP; a crashed master (SIGKILL: no priority 0) is replaced within
 * Master_Down_Interval; a stopped master (SIGTERM: priority 0, RFC 3768 §6.4.3) within
 * Skew_Time; a restarted master preempts (preempt is keepalived's default).
 *
 * The four pairs run side by side, each on its own two hosts with its own VRID and VIP
 * (their steps are mostly waiting for protocol timers); the steps of one pair run in order.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import { PAIRS, Pair } from '../helpers/interop.js';

const CASES = (['PASS', 'none'] as const).flatMap((auth) => PAIRS.map((impls) => ({ auth, impls })));

describe('VRRPv2 interop with keepalived: election, failover, preemption', { skip: netnsSkip(), concurrency: true }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    lan = await Lan.create({ hosts: CASES.flatMap((_, i) => [`m${i}`, `b${i}`]).concat('client') });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-v2-'));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  CASES.forEach(({ auth, impls }, i) => {
    describe(`${impls[0]} MASTER / ${impls[1]} BACKUP, auth ${auth}`, { concurrency: false }, () => {
      let pair: Pair;

      before(() => {
        const vip = lan.addr(100 + i);
        pair = new Pair({
          lan,
          dir,
          impls,
          hosts: [`m${i}`, `b${i}`],
          client: 'client',
          version: 2,
          advertIntSec: 1,
          masterPrio: 150,
          backupPrio: 100,
          vip,
          masterSource: lan.host(`m${i}`).ipv4,
          spec: (role) => ({
            name: 'VI_1',
            state: role === 'master' ? 'MASTER' : 'BACKUP',
            vrid: 51 + i,
            priority: role === 'master' ? 150 : 100,
            vips: [`${vip}/24`],
            ...(auth === 'PASS' ? { authPass: 'nginx-ha' } : {}),
          }),
        });
      });

      after(() => pair.close());

      test('the higher priority is MASTER, alone holding the VIP; the backup hears it', async (t) => {
        if (!requireRoot(t)) return;
        await pair.elect();
      });

      test('SIGKILL the master: the backup holds the VIP within Master_Down_Interval; the restarted master preempts', async (t) => {
        if (!requireRoot(t)) return;
        const took = await pair.crashMaster();
        t.diagnostic(`takeover after ${took.toFixed(0)} ms (Master_Down_Interval ${pair.backupDownMs.toFixed(0)} ms)`);
        await pair.restartMaster();
      });

      test('SIGTERM the master: priority 0, the backup holds the VIP within Skew_Time; the restarted master preempts', async (t) => {
        if (!requireRoot(t)) return;
        const took = await pair.stopMaster();
        t.diagnostic(`takeover after ${took.toFixed(0)} ms`);
        await pair.restartMaster();
      });
    });
  });
});
