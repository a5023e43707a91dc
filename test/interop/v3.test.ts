/**
 * VRRPv3 (RFC 5798) between vipd and keepalived 2.2.7, both ways round: over IPv4 with
 * advert_int 1 and with advert_int 0.1 (centisecond intervals, Skew_Time scaled by the
 * interval), and over IPv6 (ff02::12, link-local sources, hop limit 255). And a backup
 * configured with a longer advert_int than the master's: it must time the master out by
 * the interval in the master's adverts (RFC 5798 §6.4.2, Master_Adver_Interval), not its own.
 *
 * Each pair has its own two hosts, VRID and VIP. The advert_int 1 pairs run side by side;
 * the advert_int 0.1 pairs (Master_Down_Interval 361 ms) run afterwards, alone, so that
 * the start-up of other daemons on the 2 shared cores cannot starve their timers.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import { PAIRS, Pair } from '../helpers/interop.js';

interface Variant {
  readonly title: string;
  readonly family: 4 | 6;
  /** The master's advert_int (the backup's too unless backupAdvertIntSec is set). */
  readonly advertIntSec: number;
  readonly backupAdvertIntSec?: number;
  readonly vrid: number;
  /** Which group the variant runs in (groups run one after the other). */
  readonly group: 'slow' | 'fast';
}

const VARIANTS: readonly Variant[] = [
  { title: 'VRRPv3 over IPv4, advert_int 1', family: 4, advertIntSec: 1, vrid: 71, group: 'slow' },
  { title: 'VRRPv3 over IPv4, advert_int 0.1', family: 4, advertIntSec: 0.1, vrid: 72, group: 'fast' },
  { title: 'VRRPv3 over IPv6 (ff02::12, link-local sources)', family: 6, advertIntSec: 1, vrid: 73, group: 'slow' },
  {
    title: 'VRRPv3, master advert_int 0.5, backup advert_int 2',
    family: 4,
    advertIntSec: 0.5,
    backupAdvertIntSec: 2,
    vrid: 74,
    group: 'slow',
  },
];

const CASES = VARIANTS.flatMap((v) => PAIRS.map((impls) => ({ v, impls }))).map((c, i) => ({ ...c, i }));

describe('VRRPv3 interop with keepalived', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir = '';

  before(async () => {
    lan = await Lan.create({ hosts: CASES.flatMap(({ i }) => [`m${i}`, `b${i}`]).concat('client') });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-v3-'));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const group of ['slow', 'fast'] as const) {
    describe(group === 'slow' ? 'advert_int 1 and 0.5, side by side' : 'advert_int 0.1, alone', { concurrency: true }, () => {
      for (const { v, impls, i } of CASES.filter((c) => c.v.group === group)) {
        describe(`${v.title}: ${impls[0]} MASTER / ${impls[1]} BACKUP`, { concurrency: false }, () => {
          let pair: Pair;

          before(() => {
            const vip = v.family === 4 ? lan.addr(120 + i) : lan.addr6(120 + i);
            const prefix = v.family === 4 ? 24 : 64;
            pair = new Pair({
              lan,
              dir,
              impls,
              hosts: [`m${i}`, `b${i}`],
              client: 'client',
              version: 3,
              advertIntSec: v.advertIntSec,
              masterPrio: 150,
              backupPrio: 100,
              vip,
              masterSource: v.family === 4 ? lan.host(`m${i}`).ipv4 : lan.host(`m${i}`).linkLocal,
              spec: (role) => ({
                name: 'VI_1',
                state: role === 'master' ? 'MASTER' : 'BACKUP',
                vrid: v.vrid + 10 * (i % 2),
                priority: role === 'master' ? 150 : 100,
                advertInt: role === 'backup' ? (v.backupAdvertIntSec ?? v.advertIntSec) : v.advertIntSec,
                vips: [`${vip}/${prefix}`],
                extra: ['version 3'],
              }),
            });
          });

          after(() => pair.close());

          test('the higher priority is MASTER, alone holding the VIP; the backup hears it', async (t) => {
            if (!requireRoot(t)) return;
            await pair.elect();
          });

          test('SIGKILL the master: the backup takes over within Master_Down_Interval; the restarted master preempts', async (t) => {
            if (!requireRoot(t)) return;
            const took = await pair.crashMaster();
            t.diagnostic(`takeover after ${took.toFixed(0)} ms (Master_Down_Interval ${pair.backupDownMs.toFixed(0)} ms)`);
            await pair.restartMaster();
          });

          test('SIGTERM the master: priority 0, the backup takes over within Skew_Time; the restarted master preempts', async (t) => {
            if (!requireRoot(t)) return;
            const took = await pair.stopMaster();
            t.diagnostic(`takeover after ${took.toFixed(0)} ms`);
            await pair.restartMaster();
          });
        });
      }
    });
  }
});
