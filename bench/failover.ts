/**
 * Failover timings on one LAN: a vipd pair (va MASTER, vb BACKUP) and a keepalived pair
 * (ka, kb), nginx on all four, a client probing each VIP over HTTP, `ip monitor` in
 * every load balancer and tcpdump in the client. Each trial, for each implementation:
 *   crash:    SIGKILL the master right after one of its adverts (the worst case: the
 *             backup waits a full Master_Down_Interval; no luck of phase in the numbers)
 *             → VIP added on the backup, first HTTP answer from it
 *   preempt:  start the master again → VIP added on it, first HTTP answer from it
 *   graceful: SIGTERM the master    → VIP on the backup, first HTTP answer from it
 *   preempt:  start it again
 * then the same crash trials with VRRPv3 at advert_int 0.1. Afterwards the capture gives
 * Master_Down on the wire: the dead master's last advert → the new master's first advert
 * (priority-0 advert → first advert for SIGTERM), minus what the RFC says it should be.
 */
import type { Lan } from '../test/helpers/netns.js';
import { AddrMonitor } from './lib/addr-monitor.js';
import { Capture, LiveAdverts, type Advert } from './lib/capture.js';
import { makeDaemon, waitForStates, type Daemon, type DaemonOptions, type Impl } from './lib/daemons.js';
import { HttpProbe } from './lib/http-probe.js';
import { sleep, wallMs } from './lib/stats.js';
import { BACKUP_PRIO, MASTER_PRIO, masterDownMs, pairConf, skewMs, startNginx } from './lib/topology.js';

export type FailoverMeasure =
  | 'crashVip' | 'crashHttp' | 'crashWire'
  | 'termVip' | 'termHttp' | 'termWire'
  | 'preemptVip' | 'preemptHttp' | 'preemptWire'
  | 'fastVip' | 'fastHttp' | 'fastWire';

export type FailoverResults = Record<Impl, Record<FailoverMeasure, number[]>>;

export interface FailoverOptions {
  readonly lan: Lan;
  readonly dir: string;
  readonly trials: number;
  readonly impls: readonly Impl[];
  readonly daemonOptions: DaemonOptions;
  readonly progress: (msg: string) => void;
  readonly failures: string[];
}

/** Hosts of the failover LAN. */
export const FAILOVER_HOSTS = ['va', 'vb', 'ka', 'kb', 'client'] as const;

interface Pair {
  readonly lan: Lan;
  readonly impl: Impl;
  readonly master: Daemon;
  readonly backup: Daemon;
  readonly mHost: string;
  readonly bHost: string;
  readonly mSrc: string;
  readonly bSrc: string;
  readonly vip: string;
  readonly vrid: number;
  readonly probe: HttpProbe;
  readonly monM: AddrMonitor;
  readonly monB: AddrMonitor;
  readonly live: LiveAdverts;
  version: 2 | 3;
  advertInt: number;
}

interface WireEvent {
  readonly impl: Impl;
  readonly kind: 'crash' | 'term' | 'fast' | 'preempt';
  readonly at: number;
  readonly pair: Pair;
}

const empty = (): Record<FailoverMeasure, number[]> => ({
  crashVip: [], crashHttp: [], crashWire: [],
  termVip: [], termHttp: [], termWire: [],
  preemptVip: [], preemptHttp: [], preemptWire: [],
  fastVip: [], fastHttp: [], fastWire: [],
});

export async function runFailover(o: FailoverOptions): Promise<FailoverResults> {
  const { lan, dir } = o;
  const results: FailoverResults = { vipd: empty(), keepalived: empty() };
  const wire: WireEvent[] = [];

  await Promise.all(['va', 'vb', 'ka', 'kb'].map((h) => startNginx(lan, h, dir)));
  const pairs: Pair[] = [];
  const live = await LiveAdverts.start(lan, 'client');
  for (const [impl, mHost, bHost, n, vrid] of [
    ['vipd', 'va', 'vb', 100, 51],
    ['keepalived', 'ka', 'kb', 101, 52],
  ] as const) {
    if (!o.impls.includes(impl)) continue;
    const vip = lan.addr(n);
    pairs.push({
      lan, impl, mHost, bHost, vip, vrid,
      mSrc: lan.host(mHost).ipv4,
      bSrc: lan.host(bHost).ipv4,
      master: makeDaemon(impl, lan, mHost, dir, o.daemonOptions),
      backup: makeDaemon(impl, lan, bHost, dir, o.daemonOptions),
      probe: await HttpProbe.start(lan, 'client', vip),
      monM: await AddrMonitor.start(lan, mHost),
      monB: await AddrMonitor.start(lan, bHost),
      live,
      version: 2,
      advertInt: 1,
    });
  }
  const capture = await Capture.start(lan, 'client', `${dir}/failover.pcap`);

  try {
    for (const p of pairs) await configure(p, 2, 1);
    await Promise.all(pairs.map((p) => elect(p)));
    for (let trial = 1; trial <= o.trials; trial++) {
      for (const p of pairs) {
        o.progress(`failover trial ${trial}/${o.trials}: ${p.impl} (VRRPv2, advert_int 1)`);
        await guarded(o, p, `${p.impl} v2 trial ${trial}`, () => v2Trial(p, results[p.impl], wire, o.progress));
      }
    }
    for (const p of pairs) {
      await Promise.all([p.master, p.backup].map((d) => (d.running ? d.terminate().then((x) => x.exited) : undefined)));
      await configure(p, 3, 0.1);
      await elect(p);
    }
    for (let trial = 1; trial <= o.trials; trial++) {
      for (const p of pairs) {
        o.progress(`fast-timer trial ${trial}/${o.trials}: ${p.impl} (VRRPv3, advert_int 0.1)`);
        await guarded(o, p, `${p.impl} v3 0.1 s trial ${trial}`, () => fastTrial(p, results[p.impl], wire, o.progress));
      }
    }
  } finally {
    for (const p of pairs) {
      p.probe.off();
      await Promise.all([p.master, p.backup].map((d) => (d.running ? d.terminate().then((x) => x.exited) : undefined)));
    }
    await live.stop();
    const adverts = await capture.stop();
    for (const e of wire) {
      const r = results[e.impl];
      const ms = wireDelta(adverts, e);
      if (ms === undefined) o.failures.push(`${e.impl} ${e.kind} at ${new Date(e.at).toISOString()}: adverts not found in the capture`);
      else r[`${e.kind}Wire` as const].push(ms);
    }
  }
  return results;
}

async function configure(p: Pair, version: 2 | 3, advertInt: number): Promise<void> {
  p.version = version;
  p.advertInt = advertInt;
  const spec = { count: 1, interfaces: ['eth0'], vrid: () => p.vrid, vip: () => p.vip, version, advertInt, name: () => 'VI_1' };
  await p.master.writeConfig(pairConf(`${p.mHost}-master`, 'master', spec));
  await p.backup.writeConfig(pairConf(`${p.bHost}-backup`, 'backup', spec));
}

/** Starts the master, then the backup; both settle. */
async function elect(p: Pair): Promise<void> {
  if (!p.master.running) await p.master.start();
  await waitForStates(p.master, ['VI_1'], 'MASTER', 30_000);
  if (!p.backup.running) await p.backup.start();
  await steady(p);
}

/** Waits until the master alone holds the VIP, the backup is BACKUP, and the client's answers come from the master. */
async function steady(p: Pair): Promise<void> {
  await waitForStates(p.master, ['VI_1'], 'MASTER', 30_000);
  await waitForStates(p.backup, ['VI_1'], 'BACKUP', 30_000);
  const deadline = performance.now() + 15_000;
  while (await p.lan.hasAddress(p.bHost, p.vip)) {
    if (performance.now() > deadline) throw new Error(`${p.impl}: the backup ${p.bHost} still holds ${p.vip}`);
    await sleep(50);
  }
  const t = wallMs();
  p.probe.off();
  p.probe.on();
  await p.probe.waitFor(p.mHost, t, 15_000);
  await sleep(200);
}

/** Runs one trial; on failure records why and brings the pair back to a steady state. */
async function guarded(o: FailoverOptions, p: Pair, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    o.failures.push(`${what}: ${msg}`);
    o.progress(`  FAILED: ${msg}; restarting the pair`);
    for (const d of [p.master, p.backup]) if (d.running) await (await d.crash()).exited;
    await Promise.all([p.mHost, p.bHost].map((h) => o.lan.exec(h, ['ip', 'addr', 'del', `${p.vip}/24`, 'dev', 'eth0']).catch(() => '')));
    await elect(p);
  }
}

async function v2Trial(p: Pair, r: Record<FailoverMeasure, number[]>, wire: WireEvent[], log: (m: string) => void): Promise<void> {
  const down = masterDownMs(2, BACKUP_PRIO, 1);
  await steady(p);
  // crash, right after an advert: the backup waits a full Master_Down_Interval
  {
    await p.live.next(p.mSrc, p.vrid);
    const { at, exited } = await p.master.crash();
    wire.push({ impl: p.impl, kind: 'crash', at, pair: p });
    const vipAt = await p.monB.waitFor(p.vip, at, down + 10_000);
    const httpAt = await p.probe.waitFor(p.bHost, at, down + 15_000);
    r.crashVip.push(vipAt - at);
    r.crashHttp.push(httpAt - at);
    log(`  crash: VIP on ${p.bHost} after ${(vipAt - at).toFixed(0)} ms, HTTP after ${(httpAt - at).toFixed(0)} ms`);
    await exited;
  }
  await preempt(p, r, wire, log);
  await steady(p);
  // graceful
  {
    const { at, exited } = await p.master.terminate();
    wire.push({ impl: p.impl, kind: 'term', at, pair: p });
    const vipAt = await p.monB.waitFor(p.vip, at, down + 10_000);
    const httpAt = await p.probe.waitFor(p.bHost, at, down + 15_000);
    r.termVip.push(vipAt - at);
    r.termHttp.push(httpAt - at);
    log(`  graceful: VIP on ${p.bHost} after ${(vipAt - at).toFixed(0)} ms, HTTP after ${(httpAt - at).toFixed(0)} ms`);
    await exited;
  }
  await preempt(p, r, wire, log);
}

/** Starts the stopped master again: time until it holds the VIP and answers the client. */
async function preempt(p: Pair, r: Record<FailoverMeasure, number[]>, wire: WireEvent[], log: (m: string) => void): Promise<void> {
  await sleep(500);
  const at = wallMs();
  wire.push({ impl: p.impl, kind: 'preempt', at, pair: p });
  await p.master.start();
  const vipAt = await p.monM.waitFor(p.vip, at, 30_000);
  const httpAt = await p.probe.waitFor(p.mHost, at, 35_000);
  r.preemptVip.push(vipAt - at);
  r.preemptHttp.push(httpAt - at);
  log(`  preemption: VIP back on ${p.mHost} ${(vipAt - at).toFixed(0)} ms after its start, HTTP after ${(httpAt - at).toFixed(0)} ms`);
}

async function fastTrial(p: Pair, r: Record<FailoverMeasure, number[]>, wire: WireEvent[], log: (m: string) => void): Promise<void> {
  await steady(p);
  await p.live.next(p.mSrc, p.vrid);
  const { at, exited } = await p.master.crash();
  wire.push({ impl: p.impl, kind: 'fast', at, pair: p });
  const vipAt = await p.monB.waitFor(p.vip, at, 10_000);
  const httpAt = await p.probe.waitFor(p.bHost, at, 15_000);
  r.fastVip.push(vipAt - at);
  r.fastHttp.push(httpAt - at);
  log(`  crash: VIP on ${p.bHost} after ${(vipAt - at).toFixed(0)} ms, HTTP after ${(httpAt - at).toFixed(0)} ms`);
  await exited;
  await sleep(300);
  await p.master.start();
  await p.monM.waitFor(p.vip, at, 30_000);
}

/**
 * Master_Down on the wire minus the RFC value, in ms. Crash: the dead master's last
 * advert (sent before the kill) → the backup's first advert. SIGTERM: the priority-0
 * advert → the backup's first advert, against Skew_Time (RFC 3768 §6.4.2).
 */
function wireDelta(adverts: readonly Advert[], e: WireEvent): number | undefined {
  const { mSrc, bSrc, vrid } = e.pair;
  const at = e.at / 1000;
  const mine = adverts.filter((a) => a.vrid === vrid);
  let from: Advert | undefined;
  let expected: number;
  if (e.kind === 'preempt') {
    // RFC 3768 §6.4.2: a restarted master with preempt ignores the lower-priority adverts
    // and takes over when its Master_Down_Timer fires; what is left is its start-up.
    const first = mine.find((a) => a.src === mSrc && a.priority > 0 && a.time > at);
    return first && first.time - at < 30 ? (first.time - at) * 1000 - masterDownMs(2, MASTER_PRIO, 1) : undefined;
  }
  if (e.kind === 'term') {
    from = mine.find((a) => a.src === mSrc && a.priority === 0 && a.time >= at - 0.05);
    expected = skewMs(2, BACKUP_PRIO, 1);
  } else {
    from = mine.filter((a) => a.src === mSrc && a.time <= at + 0.02).at(-1);
    expected = e.kind === 'fast' ? masterDownMs(3, BACKUP_PRIO, 0.1) : masterDownMs(2, BACKUP_PRIO, 1);
  }
  if (!from) return undefined;
  const start = from.time;
  const to = mine.find((a) => a.src === bSrc && a.priority > 0 && a.time > start);
  if (!to || to.time - start > 30) return undefined;
  return (to.time - start) * 1000 - expected;
}
