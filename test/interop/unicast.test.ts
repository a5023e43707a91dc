/**
 * Unicast VRRP (unicast_src_ip / unicast_peer) between vipd and keepalived 2.2.7, both
 * ways round, VRRPv2 with PASS and VRRPv3 over IPv4 and IPv6. The bridge floods no multicast to any port
 * (`mcast_flood off`), so only unicast adverts can get through: an election that works
 * here worked over unicast. tshark checks the unicast adverts' checksums (for VRRPv3 the
 * pseudo-header holds the unicast destination). The six pairs run side by side, each on its
 * own two hosts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import { PAIRS, Pair, startCapture, stopCapture, tsharkVrrp } from '../helpers/interop.js';

const VARIANTS = [
  { version: 2, family: 4 },
  { version: 3, family: 4 },
  { version: 3, family: 6 },
] as const;
const CASES = VARIANTS.flatMap(({ version, family }) => PAIRS.map((impls) => ({ version, family, impls }))).map((c, i) => ({ ...c, i }));

describe('unicast VRRP between vipd and keepalived (multicast blocked)', { skip: netnsSkip(), concurrency: true }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    lan = await Lan.create({ hosts: CASES.flatMap(({ i }) => [`m${i}`, `b${i}`]) });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-unicast-'));
    for (const h of lan.hosts) {
      await lan.execSwitch(['bridge', 'link', 'set', 'dev', `p-${h.name}`, 'mcast_flood', 'off']);
    }
    // Neighbour discovery needs multicast, which the bridge no longer floods: IPv6 peers are
    // told each other's MAC instead (IPv4 ARP is broadcast and still works).
    for (const { family, i } of CASES) {
      if (family !== 6) continue;
      for (const [a, b] of [[`m${i}`, `b${i}`], [`b${i}`, `m${i}`]] as const) {
        await lan.exec(a, ['ip', '-6', 'neigh', 'replace', lan.host(b).ipv6, 'lladdr', lan.host(b).mac, 'dev', 'eth0', 'nud', 'permanent']);
      }
    }
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const { version, family, impls, i } of CASES) {
    describe(`VRRPv${version} unicast over IPv${family}: ${impls[0]} MASTER / ${impls[1]} BACKUP`, { concurrency: false }, () => {
      let pair: Pair;
      const hosts = [`m${i}`, `b${i}`] as const;
      const ip = (host: string): string => (family === 4 ? lan.host(host).ipv4 : lan.host(host).ipv6);

      before(() => {
        const vip = family === 4 ? lan.addr(130 + i) : lan.addr6(130 + i);
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
          masterSource: ip(hosts[0]),
          spec: (role, host) => {
            const peer = host === hosts[0] ? hosts[1] : hosts[0];
            return {
              name: 'VI_1',
              state: role === 'master' ? 'MASTER' : 'BACKUP',
              vrid: 81 + i,
              priority: role === 'master' ? 150 : 100,
              vips: [`${vip}/${family === 4 ? 24 : 64}`],
              unicast: { src: ip(host), peers: [ip(peer)] },
              ...(version === 2 ? { authPass: 'uni-pw' } : { extra: ['version 3'] }),
            };
          },
        });
      });

      after(() => pair.close());

      test('the higher priority is MASTER, alone holding the VIP; its adverts reach the peer by unicast, clean in tshark', async (t) => {
        if (!requireRoot(t)) return;
        const pcap = join(dir, `${hosts[1]}.pcap`);
        const capture = await startCapture(lan, hosts[1], pcap, 'ip proto 112 or ip6 proto 112');
        try {
          await pair.elect();
        } finally {
          await stopCapture(capture);
        }
        const frames = (await tsharkVrrp(pcap)).filter((f) => f.vrid === String(81 + i));
        const fromMaster = frames.filter((f) => f.src === ip(hosts[0]));
        assert.ok(fromMaster.length >= 3, `only ${fromMaster.length} adverts from the master reached the backup`);
        // keepalived 2.2.7 sets the hop limit only on its multicast IPv6 socket (open_vrrp_send_socket:
        // if_setsockopt_mcast_hops), so its unicast IPv6 adverts leave with the default 64; vipd
        // sends 255 as RFC 5798 §5.1.2.3 says. Receivers of unicast adverts check only the
        // peer's min_ttl..max_ttl (0..255 by default), so both are accepted.
        const ttl = family === 6 && impls[0] === 'keepalived' ? '64' : '255';
        for (const f of fromMaster) {
          // VRRPv3: the checksum's pseudo-header carries the unicast destination (keepalived's default).
          assert.deepEqual(
            { dst: f.dst, version: f.version, prio: f.prio, checksum: f.checksum, malformed: f.malformed, ttl: f.ttl },
            { dst: ip(hosts[1]), version: String(version), prio: '150', checksum: '1', malformed: '', ttl },
            `${impls[0]}'s unicast advert: ${JSON.stringify(f)}`,
          );
        }
        assert.deepEqual(frames.filter((f) => f.dst === '224.0.0.18' || f.dst === 'ff02::12'), [], 'no multicast advert reaches the backup');
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
