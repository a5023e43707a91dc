/** The benchmark's Markdown report. */
import type { CostResults, CostRun } from './cost.js';
import type { Impl } from './lib/daemons.js';
import type { FailoverMeasure, FailoverResults } from './failover.js';
import type { FalseFailoverResults } from './false-failover.js';
import { fmt, max, median, percentile, ratio } from './lib/stats.js';
import { BACKUP_PRIO, MASTER_PRIO, masterDownMs, skewMs } from './lib/topology.js';

export interface ReportInput {
  readonly header: readonly string[];
  readonly failover?: FailoverResults;
  readonly cost?: CostResults;
  readonly falseFailovers?: FalseFailoverResults;
  readonly ffMinutes: number;
  readonly failures: readonly string[];
}

const yesNo = (ok: boolean | undefined): string => (ok === undefined ? '–' : ok ? 'yes' : '**no**');

export function report(r: ReportInput): string {
  const out: string[] = ['# vipd vs keepalived: benchmark', '', ...r.header.map((l) => `- ${l}`), ''];
  if (r.failover) out.push(...failoverTable(r.failover));
  if (r.cost) out.push(...costTable(r.cost));
  if (r.cost || r.falseFailovers) out.push(...jitterTable(r.cost, r.falseFailovers));
  if (r.falseFailovers) out.push(...falseFailoverTable(r.falseFailovers, r.ffMinutes));
  if (r.failures.length > 0) {
    out.push('## Failed trials and runs', '', ...r.failures.map((f) => `- ${f}`), '');
  }
  return out.join('\n');
}

function failoverTable(f: FailoverResults): string[] {
  const down2 = masterDownMs(2, BACKUP_PRIO, 1);
  const skew2 = skewMs(2, BACKUP_PRIO, 1);
  const down3 = masterDownMs(3, BACKUP_PRIO, 0.1);
  const down150 = masterDownMs(2, MASTER_PRIO, 1);
  type Row = [FailoverMeasure, string, 'ratio' | 'none' | number];
  const rows: Row[] = [
    ['crashVip', 'crash (SIGKILL master right after its advert) → VIP on the backup', 'ratio'],
    ['crashHttp', 'crash → first HTTP answer from the backup via the VIP', 'ratio'],
    ['crashWire', `crash: Master_Down on the wire − RFC (${down2.toFixed(0)} ms)`, 10],
    ['termVip', 'graceful (SIGTERM master) → VIP on the backup', 'ratio'],
    ['termHttp', 'graceful → first HTTP answer from the backup', 'ratio'],
    ['termWire', `graceful: priority-0 advert → takeover advert − Skew_Time (${skew2.toFixed(0)} ms)`, 10],
    ['preemptVip', 'preemption: master started again → VIP back on it', 'ratio'],
    ['preemptHttp', 'preemption → first HTTP answer from the master', 'ratio'],
    ['preemptWire', `preemption: start-up (its first advert − its start − Master_Down ${down150.toFixed(0)} ms)`, 'none'],
    ['fastVip', 'VRRPv3 advert_int 0.1 crash → VIP on the backup', 'ratio'],
    ['fastHttp', 'VRRPv3 advert_int 0.1 crash → first HTTP answer', 'ratio'],
    ['fastWire', `VRRPv3 advert_int 0.1: Master_Down on the wire − RFC (${down3.toFixed(1)} ms)`, 5],
  ];
  const out = [
    '## Failover, handover, preemption (ms; median and p95 over the trials)',
    '',
    'VIP: the kernel\'s RTM_NEWADDR on the new holder (`ip -ts monitor address`). HTTP: the client, probing the VIP',
    'every 10 ms on fresh connections, gets its first answer from the new holder\'s nginx. Times run from the',
    'signal (preemption: from starting the daemon, so its start-up counts). The crash comes right after one of',
    'the master\'s adverts, the worst case. Wire: the client\'s capture; the crash rows are the dead master\'s last',
    `advert → the backup's first, minus 3·Advertisement_Interval + Skew_Time for priority ${BACKUP_PRIO}.`,
    '',
    '| measure | vipd median | vipd p95 | keepalived median | keepalived p95 | n | ratio vipd/keepalived (median) | target | vipd meets it |',
    '|---|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  for (const [key, label, target] of rows) {
    const v = f.vipd[key];
    const k = f.keepalived[key];
    const isDelta = typeof target === 'number';
    const digits = isDelta ? 1 : 0;
    const signed = (x: number): string => (isDelta && x > 0 ? '+' : '') + fmt(x, digits);
    let targetText = '–';
    let met: boolean | undefined;
    if (target === 'ratio') {
      targetText = 'ratio ≤ 1.0';
      const shown = ratio(median(v), median(k));
      met = shown === '–' ? undefined : Number(shown) <= 1.0; // judged at the precision shown
    } else if (isDelta) {
      targetText = `within ${target} ms`;
      met = v.length > 0 ? Math.abs(median(v)) <= target && Math.abs(percentile(v, 95)) <= target : undefined;
    }
    out.push(
      `| ${label} | ${signed(median(v))} | ${signed(percentile(v, 95))} | ${signed(median(k))} | ${signed(percentile(k, 95))} | ${v.length}/${k.length} | ${isDelta ? '–' : ratio(median(v), median(k))} | ${targetText} | ${yesNo(met)} |`,
    );
  }
  out.push('');
  return out;
}

function costTable(c: CostResults): string[] {
  const out = [
    '## Cost of an idle pair',
    '',
    'CPU: utime+stime from /proc over the window, % of one core. RSS: highest VmRSS sampled each second',
    '(vipd: its node process; keepalived: parent plus VRRP child).',
    '',
    '| measure | vipd | keepalived | ratio | target | vipd meets it |',
    '|---|--:|--:|--:|---|---|',
  ];
  const cell = (run: CostRun | undefined, role: 'master' | 'backup', what: 'cpu' | 'rss'): number =>
    run === undefined ? NaN : what === 'cpu' ? run[role].cpuPercent : run[role].rssMaxMiB;
  for (const size of [1, 200] as const) {
    for (const what of ['cpu', 'rss'] as const) {
      for (const role of ['master', 'backup'] as const) {
        const v = cell(c.vipd[size], role, what);
        const k = cell(c.keepalived[size], role, what);
        const limit = what === 'cpu' ? (size === 1 ? 0.5 : undefined) : size === 1 ? 60 : 120;
        const label = `${what === 'cpu' ? 'idle CPU %' : 'RSS MiB'}, ${size} instance${size > 1 ? 's' : ''}, ${role}`;
        const targetText = limit === undefined ? '–' : what === 'cpu' ? `< ${limit} %` : `≤ ${limit} MiB`;
        const met = limit === undefined || !Number.isFinite(v) ? undefined : what === 'cpu' ? v < limit : v <= limit;
        out.push(`| ${label} | ${fmt(v, what === 'cpu' ? 2 : 1)} | ${fmt(k, what === 'cpu' ? 2 : 1)} | ${ratio(v, k)} | ${targetText} | ${yesNo(met)} |`);
      }
    }
  }
  for (const size of [1, 200] as const) {
    const v = c.vipd[size];
    const k = c.keepalived[size];
    out.push(`| start-up: CPU s the master used until idle, ${size} instance${size > 1 ? 's' : ''} | ${fmt(v?.startupCpu ?? NaN, 2)} | ${fmt(k?.startupCpu ?? NaN, 2)} | ${ratio(v?.startupCpu ?? NaN, k?.startupCpu ?? NaN)} | – | – |`);
  }
  out.push('');
  return out;
}

function jitterCell(samples: readonly number[] | undefined): string {
  if (!samples || samples.length === 0) return '–';
  return `${fmt(median(samples), 2)} / ${fmt(percentile(samples, 99), 2)} / ${fmt(max(samples), 1)} (n=${samples.length})`;
}

function jitterTable(c: CostResults | undefined, ff: FalseFailoverResults | undefined): string[] {
  const out = [
    '## Advert interval jitter (ms)',
    '',
    '|interval between consecutive adverts of one instance − advert_int (1 s)|, from the client\'s capture:',
    'p50 / p99 / max (number of intervals). The CPU hog runs a busy worker on every core.',
    '',
    '| case | vipd | keepalived | target (p99) | vipd meets it |',
    '|---|--:|--:|---|---|',
  ];
  const row = (label: string, v: readonly number[] | undefined, k: readonly number[] | undefined, limit: number): void => {
    const met = v && v.length > 0 ? percentile(v, 99) < limit : undefined;
    out.push(`| ${label} | ${jitterCell(v)} | ${jitterCell(k)} | < ${limit} ms | ${yesNo(met)} |`);
  };
  if (c) {
    row('1 instance, idle', c.vipd[1]?.jitterIdle, c.keepalived[1]?.jitterIdle, 5);
    row('1 instance, CPU hog', c.vipd[1]?.jitterHog, c.keepalived[1]?.jitterHog, 20);
    row('200 instances, idle', c.vipd[200]?.jitterIdle, c.keepalived[200]?.jitterIdle, 5);
    row('200 instances, CPU hog', c.vipd[200]?.jitterHog, c.keepalived[200]?.jitterHog, 20);
  }
  if (ff) row('50 instances, CPU hog (false-failover run)', ff.vipd?.jitterHog, ff.keepalived?.jitterHog, 20);
  out.push('');
  return out;
}

function falseFailoverTable(ff: FalseFailoverResults, minutes: number): string[] {
  const cell = (impl: Impl): string => {
    const r = ff[impl];
    return r ? `${r.wire} (daemon says ${r.daemon})` : '–';
  };
  const v = ff.vipd;
  return [
    '## False failovers',
    '',
    'Both pairs side by side on one LAN with the CPU hog. Counted on the wire: the backup sending adverts for a',
    'VRID (a spell of dual mastership counts once); in brackets the MASTER entries the backup itself reports.',
    '',
    '| run | vipd | keepalived | target | vipd meets it |',
    '|---|--:|--:|---|---|',
    `| 50 instances, advert_int 1, CPU hog, ${minutes} min | ${cell('vipd')} | ${cell('keepalived')} | 0 | ${yesNo(v ? v.wire === 0 && v.daemon === 0 : undefined)} |`,
    '',
  ];
}
