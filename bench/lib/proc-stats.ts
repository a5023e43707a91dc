/** CPU time and resident memory of a set of processes, from /proc. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

let clkTck: number | undefined;

async function ticksPerSecond(): Promise<number> {
  if (clkTck === undefined) {
    const { stdout } = await promisify(execFile)('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }));
    clkTck = Number(stdout.trim()) || 100;
  }
  return clkTck;
}

/** utime + stime of the processes, in seconds (a vanished process counts 0). */
export async function cpuSeconds(pids: readonly number[]): Promise<number> {
  const hz = await ticksPerSecond();
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after "(comm)": state ppid ... utime is field 14, stime 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
  }
  return ticks / hz;
}

/** Sum of VmRSS of the processes, in MiB. */
export async function rssMiB(pids: readonly number[]): Promise<number> {
  let kib = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (m) kib += Number(m[1]);
  }
  return kib / 1024;
}

export interface Usage {
  /** Percent of one CPU over the window. */
  readonly cpuPercent: number;
  /** Highest RSS sampled (once a second) during the window, MiB. */
  readonly rssMaxMiB: number;
}

/** Watches the processes of each named daemon for `seconds`; returns their usage. */
export async function measureUsage(
  targets: ReadonlyMap<string, () => Promise<number[]>>,
  seconds: number,
): Promise<Map<string, Usage>> {
  const pids = new Map<string, number[]>();
  for (const [name, get] of targets) pids.set(name, await get());
  const cpu0 = new Map<string, number>();
  const rss = new Map<string, number>();
  for (const [name, list] of pids) {
    cpu0.set(name, await cpuSeconds(list));
    rss.set(name, await rssMiB(list));
  }
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - performance.now()))));
    for (const [name, list] of pids) rss.set(name, Math.max(rss.get(name) ?? 0, await rssMiB(list)));
  }
  const out = new Map<string, Usage>();
  const elapsed = (performance.now() - t0) / 1000;
  for (const [name, list] of pids) {
    const used = (await cpuSeconds(list)) - (cpu0.get(name) ?? 0);
    out.set(name, { cpuPercent: (100 * used) / elapsed, rssMaxMiB: rss.get(name) ?? 0 });
  }
  return out;
}

/**
 * Waits until every target has used less than `quietPercent` of a core over 2 s, at
 * least `minMs` and at most `maxMs`; resolves with how long it waited.
 */
export async function waitForQuiet(
  targets: ReadonlyArray<() => Promise<number[]>>,
  opts: { minMs: number; maxMs: number; quietPercent: number },
): Promise<number> {
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, opts.minMs));
  for (;;) {
    const lists = await Promise.all(targets.map((t) => t()));
    const before = await Promise.all(lists.map((l) => cpuSeconds(l)));
    await new Promise((r) => setTimeout(r, 2000));
    const after = await Promise.all(lists.map((l) => cpuSeconds(l)));
    const busiest = Math.max(...after.map((a, i) => ((a - (before[i] as number)) / 2) * 100));
    if (busiest < opts.quietPercent || performance.now() - t0 > opts.maxMs) return performance.now() - t0;
  }
}
