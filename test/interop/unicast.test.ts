/**
 * Unicast VRRP (unicast_src_ip / unicast_peer) between vipd and keepalived 2.2.7, both
 * ways round, VRRPv2 with PASS and VRRPv3. The bridge floods no multicast to any port
 * (`mcast_flood off`), so only unicast adverts can get through: an election that works
 * here worked over unicast. Four pairs run side by side, each on its own two hosts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import { startTcpdump } from '../helpers/ns-packets.js';
import { PAIRS, Pair } from '../helpers/interop.js';

const CASES = ([2, 3] as const).flatMap((version) => PAIRS.map((impls) => ({ version, impls }))).map((c, i) => ({ ...c, i }));

describe('unicast VRRP between vipd and keepalived (multicast blocked)', { skip: netnsSkip(), concurrency: true }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    lan = await Lan.create({ hosts: CASES.flatMap(({ i }) => [`m${i}`, `b${i}`]) });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-unicast-'));
    for (const h of lan.hosts) {
      await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h.name}`, 'mcast_flood', 'off']);
    }
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const { version, impls, i } of CASES) {
    describe(`VRRPv${version} unicast: ${impls[0]} MASTER / ${impls[1]} BACKUP`, { concurrency: false }, () => {
      let pair: Pair;
      const hosts = [`m${i}`, `b${i}`] as const;

      before(() => {
        const vip = lan.addr(130 + i);
        pair = new Pair({
          lan,
          dir,
          impls,
          hosts,
          version,
          advertIntSec: 1,
          masterPrio: 150,
          backupPrio: 100,
          vip,
          masterSource: lan.host(hosts[0]).ipv4,
          spec: (role, host) => {
            const peer = host === hosts[0] ? hosts[1] : hosts[0];
            return {
              name: 'VI_1',
              state: role === 'master' ? 'MASTER' : 'BACKUP',
              vrid: 81 + i,
              priority: role === 'master' ? 150 : 100,
              vips: [`${vip}/24`],
              unicast: { src: lan.host(host).ipv4, peers: [lan.host(peer).ipv4] },
              ...(version === 2 ? { authPass: 'uni-pw' } : { extra: ['version 3'] }),
            };
          },
        });
      });

      after(() => pair.close());

      test('the higher priority is MASTER, alone holding the VIP; its adverts go to the peer by unicast', async (t) => {
        if (!requireRoot(t)) return;
        const dump = await startTcpdump(lan, hosts[1], 'ip proto 112');
        try {
          await pair.elect();
        } finally {
          await dump.kill('SIGINT');
        }
        const m = lan.host(hosts[0]).ipv4.replace(/\./g, '\\.');
        const b = lan.host(hosts[1]).ipv4.replace(/\./g, '\\.');
        const toPeer = new RegExp(`^\\s+${m} > ${b}: VRRPv${version}, Advertisement, vrid ${81 + i}, prio 150`);
        const adverts = dump.stdout.filter((l) => /VRRPv\d, Advertisement/.test(l));
        assert.ok(adverts.some((l) => toPeer.test(l)), `no unicast advert from the master to the backup:\n${adverts.join('\n')}`);
        assert.deepEqual(adverts.filter((l) => /> 224\.0\.0\.18:/.test(l)), [], 'no multicast advert reaches the backup');
      });

      test('SIGKILL the master: the backup takes over within Master_Down_Interval; the restarted master preempts', async (t) => {
        if (!requireRoot(t)) return;
        const took = await pair.crashMaster();
        t.diagnostic(`takeover after ${took.toFixed(0)} ms (Master_Down_Interval ${pair.backupDownMs.toFixed(0)} ms)`);
        await pair.restartMaster();
      });

      test('SIGTERM the master: priority 0 by unicast, the backup takes over within Skew_Time; the restarted master preempts', async (t) => {
        if (!requireRoot(t)) return;
        const took = await pair.stopMaster();
        t.diagnostic(`takeover after ${took.toFixed(0)} ms`);
        await pair.restartMaster();
      });
    });
  }
});
