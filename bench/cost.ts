/**
 * What an idle pair costs: for 1 instance (eth0) and for 200 instances (50 VRIDs on
 * each of eth0..eth3), start the master, then the backup, let the start-up GARP rounds
 * pass, then watch both daemons' CPU time and RSS for one window while the client
 * captures the master's adverts (interval jitter), then a second window with a CPU hog
 * on every core (jitter only). One implementation at a time.
 */
import type { Lan } from '../test/helpers/netns.js';
import { Capture, advertJitterMs } from './lib/capture.js';
import { makeDaemon, waitForStates, type Daemon, type DaemonOptions, type Impl } from './lib/daemons.js';
import { Hog, type HogKind } from './lib/hog.js';
import { cpuSeconds, measureUsage, waitForQuiet, type Usage } from './lib/proc-stats.js';
import { sleep, wallMs } from './lib/stats.js';
import { instanceName, masterDownMs, pairConf } from './lib/topology.js';

export const COST_HOSTS = ['c1', 'c2', 'client'] as const;
export const COST_SUBNET = (k: number): string => `10.77.${k}`;
/** eth0 plus this many: the 200 instances are spread over 4 interfaces. */
export const COST_EXTRA_INTERFACES = 3;
export const SIZES = [1, 200] as const;

export interface CostRun {
  readonly master: Usage;
  readonly backup: Usage;
  /** |advert interval − advert_int| in ms, every instance of the master. */
  readonly jitterIdle: number[];
  readonly jitterHog: number[];
  /** CPU seconds the master used from its start until the pair was idle. */
  readonly startupCpu: number;
  /** How long after the backup's start both daemons were idle. */
  readonly settledMs: number;
}

export type CostResults = Record<Impl, Partial<Record<(typeof SIZES)[number], CostRun>>>;

export interface CostOptions {
  readonly lan: Lan;
  readonly dir: string;
  readonly windowSec: number;
  readonly impls: readonly Impl[];
  readonly hog: HogKind;
  readonly daemonOptions: DaemonOptions;
  readonly progress: (msg: string) => void;
  readonly failures: string[];
}

export async function runCost(o: CostOptions): Promise<CostResults> {
  const results: CostResults = { vipd: {}, keepalived: {} };
  for (const size of SIZES) {
    for (const impl of o.impls) {
      try {
        results[impl][size] = await costRun(o, impl, size);
      } catch (err) {
        const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
        o.failures.push(`cost ${impl} ${size} instance(s): ${msg}`);
        o.progress(`  FAILED: ${msg}`);
      }
    }
  }
  return results;
}

async function costRun(o: CostOptions, impl: Impl, size: number): Promise<CostRun> {
  const { lan, dir } = o;
  const interfaces = size === 1 ? ['eth0'] : Array.from({ length: COST_EXTRA_INTERFACES + 1 }, (_, k) => `eth${k}`);
  const perIf = Math.ceil(size / interfaces.length);
  const spec = {
    count: size,
    interfaces,
    vrid: (i: number) => 1 + i,
    vip: (i: number) => `${COST_SUBNET(Math.floor(i / perIf))}.${100 + (i % perIf)}`,
    version: 2 as const,
    advertInt: 1,
  };
  const names = Array.from({ length: size }, (_, i) => instanceName(i));
  const master = makeDaemon(impl, lan, 'c1', dir, o.daemonOptions);
  const backup = makeDaemon(impl, lan, 'c2', dir, o.daemonOptions);
  await master.writeConfig(pairConf('c1', 'master', spec));
  await backup.writeConfig(pairConf('c2', 'backup', spec));
  const daemons: Daemon[] = [master, backup];
  try {
    o.progress(`cost: ${impl}, ${size} instance(s): starting the pair`);
    await master.start();
    await waitForStates(master, names, 'MASTER', masterDownMs(2, 150, 1) + 60_000);
    await backup.start();
    await waitForStates(backup, names, 'BACKUP', 60_000);
    // Idle means after the start-up work: past the second GARP round (garp_master_delay,
    // 5 s) and until neither daemon is busy any more (at most a minute).
    const settledMs = await waitForQuiet([() => master.pids(), () => backup.pids()], { minMs: 6000, maxMs: 60_000, quietPercent: 5 });
    const startupCpu = await cpuSeconds(await master.pids());
    o.progress(`cost: ${impl}, ${size} instance(s): settled ${(settledMs / 1000).toFixed(1)} s after the backup started; the master used ${startupCpu.toFixed(2)} CPU s since its start`);
    const targets = new Map([
      ['master', () => master.pids()],
      ['backup', () => backup.pids()],
    ]);
    const c1 = lan.host('c1').ipv4.split('.').at(-1) as string;
    const masterSrc = (ifname: string): string => `${COST_SUBNET(Number(ifname.slice(3)))}.${c1}`;

    // Captures start, then 2 s pass before the window opens: starting tcpdump is itself
    // a burst of work on 2 cores, not part of what is measured.
    const window = async (label: string, measure: boolean): Promise<{ jitter: number[]; usage?: Map<string, Usage> }> => {
      const caps = await Promise.all(interfaces.map((i) => Capture.start(lan, 'client', `${dir}/cost-${impl}-${size}-${label}-${i}.pcap`, i)));
      await sleep(2000);
      const from = wallMs() / 1000;
      const usage = measure ? await measureUsage(targets, o.windowSec) : (await sleep(o.windowSec * 1000), undefined);
      const to = wallMs() / 1000;
      const jitter = (await Promise.all(caps.map(async (c, k) => advertJitterMs(await c.stop(), masterSrc(interfaces[k] as string), 1, from, to)))).flat();
      return { jitter, ...(usage ? { usage } : {}) };
    };

    o.progress(`cost: ${impl}, ${size} instance(s): ${o.windowSec} s idle window`);
    const idle = await window('idle', true);
    const usage = idle.usage as Map<string, Usage>;
    const jitterIdle = idle.jitter;

    o.progress(`cost: ${impl}, ${size} instance(s): ${o.windowSec} s window with the CPU hog`);
    const hog = Hog.start(lan, 'client', o.hog);
    let jitterHog: number[];
    try {
      jitterHog = (await window('hog', false)).jitter;
    } finally {
      await hog.stop();
    }
    // Every instance of the master should show up about once a second in both windows.
    const expected = size * (o.windowSec - 1);
    for (const [label, list] of [['idle', jitterIdle], ['hog', jitterHog]] as const) {
      if (list.length < 0.8 * expected) {
        o.failures.push(`cost ${impl} ${size} instance(s), ${label} window: only ${list.length} advert intervals from the master, expected about ${expected}`);
      }
    }
    // The pair must still be as it was: a takeover would spoil the numbers.
    await waitForStates(master, names, 'MASTER', 5000);
    await waitForStates(backup, names, 'BACKUP', 5000);
    return { master: usage.get('master') as Usage, backup: usage.get('backup') as Usage, jitterIdle, jitterHog, startupCpu, settledMs };
  } finally {
    await Promise.all(daemons.map(async (d) => (d.running ? (await d.terminate()).exited : undefined)));
  }
}
