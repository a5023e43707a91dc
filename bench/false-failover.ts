/**
 * False failovers: a vipd pair (fa MASTER, fb BACKUP) and a keepalived pair (ka, kb),
 * 50 instances each at advert_int 1 on one LAN, side by side, with a CPU hog on every
 * core for the whole run. The client captures every advert: a false failover is the
 * backup sending an advert for a VRID whose last advert came from the master. The
 * daemons' own count of MASTER entries on the backup is reported next to it.
 */
import type { Lan } from '../test/helpers/netns.js';
import { Capture, advertJitterMs, takeovers } from './lib/capture.js';
import { makeDaemon, waitForStates, type Daemon, type DaemonOptions, type Impl } from './lib/daemons.js';
import { Hog, type HogKind } from './lib/hog.js';
import { sleep, wallMs } from './lib/stats.js';
import { instanceName, pairConf } from './lib/topology.js';

export const FF_HOSTS = ['fa', 'fb', 'ka', 'kb', 'client'] as const;
export const FF_INSTANCES = 50;

export interface FalseFailoverRun {
  /** Takeovers by the backup seen on the wire. */
  readonly wire: number;
  /** MASTER entries the backup daemon itself reports. */
  readonly daemon: number;
  readonly jitterHog: number[];
}

export type FalseFailoverResults = Partial<Record<Impl, FalseFailoverRun>>;

export interface FalseFailoverOptions {
  readonly lan: Lan;
  readonly dir: string;
  readonly minutes: number;
  readonly impls: readonly Impl[];
  readonly hog: HogKind;
  readonly daemonOptions: DaemonOptions;
  readonly progress: (msg: string) => void;
  readonly failures: string[];
}

export async function runFalseFailovers(o: FalseFailoverOptions): Promise<FalseFailoverResults> {
  const { lan, dir } = o;
  const names = Array.from({ length: FF_INSTANCES }, (_, i) => instanceName(i));
  const pairs: Array<{ impl: Impl; master: Daemon; backup: Daemon; vrids: Set<number>; mSrc: string; bSrc: string }> = [];
  for (const [impl, m, b, vrid0, vip0] of [
    ['vipd', 'fa', 'fb', 1, 100],
    ['keepalived', 'ka', 'kb', 101, 150],
  ] as const) {
    if (!o.impls.includes(impl)) continue;
    const spec = {
      count: FF_INSTANCES,
      interfaces: ['eth0'],
      vrid: (i: number) => vrid0 + i,
      vip: (i: number) => lan.addr(vip0 + i),
      version: 2 as const,
      advertInt: 1,
    };
    const master = makeDaemon(impl, lan, m, dir, o.daemonOptions);
    const backup = makeDaemon(impl, lan, b, dir, o.daemonOptions);
    await master.writeConfig(pairConf(m, 'master', spec));
    await backup.writeConfig(pairConf(b, 'backup', spec));
    pairs.push({
      impl, master, backup,
      vrids: new Set(names.map((_, i) => vrid0 + i)),
      mSrc: lan.host(m).ipv4,
      bSrc: lan.host(b).ipv4,
    });
  }
  const results: FalseFailoverResults = {};
  try {
    o.progress(`false failovers: starting ${pairs.length} pair(s) of ${FF_INSTANCES} instances`);
    await Promise.all(pairs.map((p) => p.master.start()));
    await Promise.all(pairs.map((p) => waitForStates(p.master, names, 'MASTER', 60_000)));
    await Promise.all(pairs.map((p) => p.backup.start()));
    await Promise.all(pairs.map((p) => waitForStates(p.backup, names, 'BACKUP', 60_000)));
    await sleep(6000);
    const before = await Promise.all(pairs.map((p) => p.backup.masterEntries()));
    const capture = await Capture.start(lan, 'client', `${dir}/false-failovers.pcap`);
    const hog = Hog.start(lan, 'client', o.hog);
    const from = wallMs() / 1000 + 2; // jitter: not the seconds in which tcpdump and the hog start
    const t0 = performance.now();
    const end = t0 + o.minutes * 60_000;
    try {
      while (performance.now() < end) {
        await sleep(Math.min(30_000, end - performance.now()));
        o.progress(`false failovers: ${((performance.now() - t0) / 60_000).toFixed(1)} of ${o.minutes} min with the CPU hog`);
      }
    } finally {
      await hog.stop();
    }
    const to = wallMs() / 1000;
    const adverts = await capture.stop();
    for (const [i, p] of pairs.entries()) {
      results[p.impl] = {
        wire: takeovers(adverts, p.bSrc, p.vrids, 1),
        daemon: (await p.backup.masterEntries()) - (before[i] as number),
        jitterHog: advertJitterMs(adverts.filter((a) => p.vrids.has(a.vrid)), p.mSrc, 1, from, to),
      };
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    o.failures.push(`false failovers: ${msg}`);
    o.progress(`  FAILED: ${msg}`);
  } finally {
    await Promise.all(
      pairs.flatMap((p) => [p.master, p.backup]).map(async (d) => (d.running ? (await d.terminate()).exited : undefined)),
    );
  }
  return results;
}
