/** Human renderings of the status document for `vipctl status` and `vipctl stats`. */
import type { InstanceStatus, StatusDocument } from './status.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ago(iso: string, now: Date): string {
  const sec = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (sec < 120) return `${sec}s ago`;
  if (sec < 7200) return `${Math.round(sec / 60)}m ago`;
  if (sec < 172800) return `${Math.round(sec / 3600)}h ago`;
  return `${Math.round(sec / 86400)}d ago`;
}

function transition(i: InstanceStatus, now: Date): string {
  const t = i.lastTransition;
  if (t === null) return '-';
  return `${t.from}->${t.to} ${ago(t.at, now)} (${t.reason})`;
}

export function formatStatus(doc: StatusDocument, now = new Date()): string {
  const head = `vipd ${doc.routerId}  pid ${doc.pid}  up ${Math.round(doc.uptimeSec)}s  config ${doc.configFile}`;
  if (doc.instances.length === 0) return `${head}\n(no VRRP instances)`;
  const rows = doc.instances.map((i) => [
    i.name,
    String(i.vrid),
    i.interface,
    i.state,
    `${i.basePriority}/${i.effectivePriority}`,
    i.vips.join(',') || '-',
    i.master === null ? '-' : `${i.master.address} (${i.master.priority})`,
    transition(i, now),
  ]);
  const out = [head, table(['INSTANCE', 'VRID', 'IFACE', 'STATE', 'PRIO', 'VIPS', 'MASTER', 'LAST TRANSITION'], rows)];
  for (const i of doc.instances) {
    const e = i.splitBrain?.episode;
    if (!e) continue;
    out.push(
      i.splitBrain.active
        ? `${i.name}: SPLIT BRAIN: ${e.peer} also acts as MASTER since ${e.since} (${e.evidence})`
        : `${i.name}: last split brain with ${e.peer} from ${e.since} to ${e.endedAt ?? '?'} (${e.endReason ?? ''}); ${i.splitBrain.count} in all`,
    );
  }
  const trackers = doc.instances.flatMap((i) =>
    i.trackers.map((t) => [i.name, t.kind, t.name, t.status, String(t.weight)]),
  );
  if (trackers.length > 0) {
    out.push('', table(['INSTANCE', 'TRACKER', 'NAME', 'STATUS', 'WEIGHT'], trackers));
  }
  return out.join('\n');
}

export function formatStats(doc: StatusDocument): string {
  const rows = doc.instances.map((i) => {
    const dropped = Object.entries(i.stats.dropped)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    return [
      i.name,
      String(i.stats.advertRx),
      String(i.stats.advertTx),
      String(i.stats.becameMaster),
      String(i.stats.releasedMaster),
      `${i.stats.priorityZeroRx}/${i.stats.priorityZeroTx}`,
      dropped || '-',
    ];
  });
  const out = table(['INSTANCE', 'ADV RX', 'ADV TX', 'BECAME MASTER', 'RELEASED', 'PRIO0 RX/TX', 'DROPPED'], rows);
  const other = Object.entries(doc.dropped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return other ? `${out}\nnot tied to an instance: ${other}` : out;
}
