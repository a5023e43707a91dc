/**
 * VRRP on the wire: tcpdump in a namespace writes a pcap file; readAdverts() turns it
 * into (time, source, VRID, priority) records. The parser is our own and reads only the
 * IPv4 and VRRP header bytes, so the same code judges vipd and keepalived.
 */
import { readFile } from 'node:fs/promises';
import type { Lan, NsProcess } from '../../test/helpers/netns.js';

export interface Advert {
  /** Capture time, wall-clock seconds (kernel receive time on the capturing interface). */
  readonly time: number;
  readonly src: string;
  readonly vrid: number;
  readonly priority: number;
  readonly version: number;
}

export class Capture {
  readonly file: string;
  readonly #proc: NsProcess;

  private constructor(file: string, proc: NsProcess) {
    this.file = file;
    this.#proc = proc;
  }

  /** Starts tcpdump on `ifname` in `host`; resolves once it listens. */
  static async start(lan: Lan, host: string, file: string, ifname = 'eth0'): Promise<Capture> {
    // -Z root: the file lives in our 0700 temp directory; -U writes every packet at once.
    const proc = lan.spawn(host, ['tcpdump', '-i', ifname, '-n', '-U', '-Z', 'root', '-s', '128', '-w', file, 'ip proto 112']);
    await proc.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 15_000 });
    return new Capture(file, proc);
  }

  /** Stops tcpdump and reads what it captured. */
  async stop(): Promise<Advert[]> {
    await this.#proc.kill('SIGINT', 5000);
    return readAdverts(this.file);
  }
}

/** The IPv4 VRRP packets of a classic little-endian pcap file with Ethernet framing. */
export async function readAdverts(file: string): Promise<Advert[]> {
  const b = await readFile(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  if (magic !== 0xa1b2c3d4 && !nano) throw new Error(`${file}: not a little-endian pcap file`);
  if (b.readUInt32LE(20) !== 1) throw new Error(`${file}: link type ${b.readUInt32LE(20)}, expected Ethernet`);
  const out: Advert[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = b.readUInt32LE(off + 8);
    if (off + 16 + caplen > b.length) break; // cut by SIGINT
    const time = b.readUInt32LE(off) + b.readUInt32LE(off + 4) / (nano ? 1e9 : 1e6);
    const frame = b.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 112) continue;
    const ihl = ((ip[0] as number) & 0x0f) * 4;
    const vrrp = ip.subarray(ihl);
    if (vrrp.length < 4) continue;
    out.push({
      time,
      src: [...ip.subarray(12, 16)].join('.'),
      version: (vrrp[0] as number) >> 4,
      vrid: vrrp[1] as number,
      priority: vrrp[2] as number,
    });
  }
  return out;
}

/**
 * Advert interval jitter: for every VRID, |gap between consecutive adverts from `src`
 * with priority > 0 − the configured interval|, in ms, for adverts inside [from, to].
 */
export function advertJitterMs(adverts: readonly Advert[], src: string, intervalSec: number, from = -Infinity, to = Infinity): number[] {
  const byVrid = new Map<number, number[]>();
  for (const a of adverts) {
    if (a.src !== src || a.priority === 0 || a.time < from || a.time > to) continue;
    let list = byVrid.get(a.vrid);
    if (!list) byVrid.set(a.vrid, (list = []));
    list.push(a.time);
  }
  const out: number[] = [];
  for (const times of byVrid.values()) {
    times.sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) {
      out.push(Math.abs(((times[i] as number) - (times[i - 1] as number) - intervalSec) * 1000));
    }
  }
  return out;
}

/**
 * How many times a backup took a VRID over: adverts (priority > 0) from `backupSrc`
 * that are its first for the VRID, or come more than 3 intervals after its previous one
 * (a dual-master spell that lasts is one takeover, not one per advert).
 */
export function takeovers(adverts: readonly Advert[], backupSrc: string, vrids: ReadonlySet<number>, intervalSec: number): number {
  const lastSent = new Map<number, number>();
  let n = 0;
  for (const a of [...adverts].sort((x, y) => x.time - y.time)) {
    if (a.src !== backupSrc || a.priority === 0 || !vrids.has(a.vrid)) continue;
    const prev = lastSent.get(a.vrid);
    if (prev === undefined || a.time - prev > 3 * intervalSec) n++;
    lastSent.set(a.vrid, a.time);
  }
  return n;
}

/**
 * tcpdump printing each VRRP packet as it arrives (--immediate-mode, line-buffered), so
 * the bench can act right after a given router's advert: a crash timed that way is the
 * worst case (a full Master_Down_Interval to wait), the same for both implementations.
 */
export class LiveAdverts {
  readonly #proc: NsProcess;

  private constructor(proc: NsProcess) {
    this.#proc = proc;
  }

  static async start(lan: Lan, host: string, ifname = 'eth0'): Promise<LiveAdverts> {
    const proc = lan.spawn(host, ['tcpdump', '-i', ifname, '-n', '-l', '--immediate-mode', '-tt', 'ip proto 112']);
    await proc.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 15_000 });
    return new LiveAdverts(proc);
  }

  /** Resolves when the next advert (priority > 0) from `src` for `vrid` arrives. */
  async next(src: string, vrid: number, timeoutMs = 10_000): Promise<void> {
    const esc = src.replaceAll('.', '\\.');
    const re = new RegExp(`IP ${esc} > [^:]+: VRRPv\\d, Advertisement, vrid ${vrid}, prio [1-9]`);
    await this.#proc.waitForLine(re, { stream: 'stdout', after: this.#proc.mark(), timeoutMs });
  }

  async stop(): Promise<void> {
    await this.#proc.kill('SIGINT', 3000);
  }
}
