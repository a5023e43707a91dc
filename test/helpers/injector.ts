/**
 * A hostile third host for the netns tests: hand-built Ethernet frames carrying VRRP
 * (or something that looks like it), sent through AF_PACKET from a LAN namespace, so
 * every byte is ours to get wrong — TTL, checksum, version, type, lengths, address count,
 * password, VRID, interval — and a flood can run at a fixed rate with spoofed sources.
 *
 *   const inj = await Injector.start(lan, 'client');
 *   await inj.send([hostileFrame({ src: lan.addr(3), vrrp: { vrid: 51, priority: 250, ttl: 64 } })]);
 *   const r = await inj.flood(frames, { pps: 10_000, durationMs: 10_000, spoof: { base: '10.10.16.0', count: 4096 } });
 *
 * The frames are built here, independently of src/protocol (only the RFC 1071 checksum
 * is shared), so a mistake in the codec cannot hide in the test's packets.
 * The sender is test/netns/agents/inject.ts.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { internetChecksum, onesComplementSum } from '../../src/protocol/checksum.js';
import type { Lan, NsProcess } from './netns.js';

/** dist/test/helpers → dist/test/netns/agents */
export const INJECT_AGENT_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'netns', 'agents', 'inject.js');

/** RFC 1112 §6.4: 224.0.0.18 on Ethernet. */
export const VRRP_MCAST_MAC = '01:00:5e:00:00:12';

function v4bytes(addr: string): number[] {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not IPv4: ${addr}`);
  return parts;
}

function macBytes(mac: string): number[] {
  const parts = mac.split(':').map((x) => parseInt(x, 16));
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not a MAC: ${mac}`);
  return parts;
}

export interface VrrpFields {
  /** The 4-bit version field (default 2). */
  readonly version?: number;
  /** The 4-bit type field (default 1, ADVERTISEMENT). */
  readonly type?: number;
  readonly vrid: number;
  readonly priority: number;
  /** IPv4 addresses carried (default none). */
  readonly addresses?: readonly string[];
  /** The Count IP Addrs field; default the number of addresses. */
  readonly count?: number;
  /** v2 Auth Type (default 0, or 1 when `password` is given). */
  readonly authType?: number;
  /** v2 PASS password, cut/padded to 8 bytes as keepalived does. */
  readonly password?: string;
  /** v2 Adver Int in seconds (default 1); v3 Max Adver Int in centiseconds (default 100). */
  readonly interval?: number;
  /** 'good' (default), 'bad' (the right one plus 1), or a fixed value. */
  readonly checksum?: 'good' | 'bad' | number;
  /** Cut the VRRP message to this many bytes (after the checksum is computed). */
  readonly truncate?: number;
  /** Bytes appended after the message (after the checksum is computed, so they count against it unless recomputed). */
  readonly trailer?: Uint8Array;
}

export interface FrameOptions {
  /** IPv4 source (spoofable). */
  readonly src: string;
  /** IPv4 destination; default 224.0.0.18. */
  readonly dst?: string;
  readonly ttl?: number;
  /** IPv4 protocol field; default 112. */
  readonly protocol?: number;
  /** Ethernet destination; default the multicast MAC of `dst` (224.0.0.18 only) — give it for a unicast `dst`. */
  readonly dstMac?: string;
  /** Ethernet source; default a locally administered MAC that belongs to nobody on the LAN. */
  readonly srcMac?: string;
  /** The VRRP message fields, or raw bytes as the IP payload. */
  readonly vrrp: VrrpFields | Uint8Array;
}

/** The VRRP message alone: RFC 3768 §5.1 (v2) or RFC 5798 §5.1 (v3 over IPv4) layout, with the chosen flaws. */
export function vrrpMessage(f: VrrpFields, ip: { src: string; dst: string }): Buffer {
  const version = f.version ?? 2;
  const addrs = f.addresses ?? [];
  const v3 = version === 3;
  const auth = v3 ? 0 : 8;
  const b = Buffer.alloc(8 + 4 * addrs.length + auth);
  b[0] = ((version & 0x0f) << 4) | ((f.type ?? 1) & 0x0f);
  b[1] = f.vrid;
  b[2] = f.priority;
  b[3] = f.count ?? addrs.length;
  if (v3) {
    b.writeUInt16BE((f.interval ?? 100) & 0x0fff, 4);
  } else {
    b[4] = f.authType ?? (f.password !== undefined ? 1 : 0);
    b[5] = f.interval ?? 1;
  }
  addrs.forEach((a, i) => b.set(v4bytes(a), 8 + 4 * i));
  if (!v3 && f.password !== undefined) Buffer.from(f.password, 'utf8').copy(b, b.length - 8, 0, 8);
  let sum: number;
  if (v3) {
    // RFC 5798 §5.2.8: the checksum covers an IPv4 pseudo-header too.
    const ph = Buffer.alloc(12);
    ph.set(v4bytes(ip.src), 0);
    ph.set(v4bytes(ip.dst), 4);
    ph[9] = 112;
    ph.writeUInt16BE(b.length, 10);
    sum = internetChecksum(b, onesComplementSum(ph));
  } else {
    sum = internetChecksum(b); // RFC 3768 §5.3.8: the VRRP message alone
  }
  const c = f.checksum ?? 'good';
  b.writeUInt16BE(c === 'good' ? sum : c === 'bad' ? (sum + 1) & 0xffff : c & 0xffff, 6);
  const cut = f.truncate !== undefined ? b.subarray(0, f.truncate) : b;
  return f.trailer ? Buffer.concat([cut, f.trailer]) : Buffer.from(cut);
}

/** A whole Ethernet frame: MAC header, a 20-byte IPv4 header with a correct checksum, the payload. */
export function hostileFrame(o: FrameOptions): Buffer {
  const dst = o.dst ?? '224.0.0.18';
  const payload = o.vrrp instanceof Uint8Array ? Buffer.from(o.vrrp) : vrrpMessage(o.vrrp, { src: o.src, dst });
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = 0xc0;
  ip.writeUInt16BE(20 + payload.length, 2);
  ip[8] = o.ttl ?? 255;
  ip[9] = o.protocol ?? 112;
  ip.set(v4bytes(o.src), 12);
  ip.set(v4bytes(dst), 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  let dstMac = o.dstMac;
  if (dstMac === undefined) {
    if (dst !== '224.0.0.18') throw new Error(`give dstMac for destination ${dst}`);
    dstMac = VRRP_MCAST_MAC;
  }
  const eth = Buffer.from([...macBytes(dstMac), ...macBytes(o.srcMac ?? '02:ee:00:00:00:01'), 0x08, 0x00]);
  return Buffer.concat([eth, ip, payload]);
}

export interface FloodOptions {
  readonly pps: number;
  readonly durationMs: number;
  /**
   * Rewrite the IPv4 source of packet i to base + (i mod count) (the IP header checksum is
   * fixed up; a v2 VRRP checksum does not cover the source).
   */
  readonly spoof?: { readonly base: string; readonly count: number };
}

export interface FloodResult {
  readonly sent: number;
  /** sendto() refusals (a full queue): packets that never left. */
  readonly failed: number;
  readonly elapsedMs: number;
}

/** The inject agent in one LAN host, driven over JSON lines. */
export class Injector {
  readonly host: string;
  readonly proc: NsProcess;
  #nextId = 1;

  private constructor(host: string, proc: NsProcess) {
    this.host = host;
    this.proc = proc;
  }

  static async start(lan: Lan, host: string, ifname = 'eth0'): Promise<Injector> {
    const proc = lan.spawn(host, [process.execPath, INJECT_AGENT_PATH, ifname]);
    await proc.waitForLine(/"event":"ready"/, { stream: 'stdout', timeoutMs: 15_000 });
    return new Injector(host, proc);
  }

  async #call<T>(op: string, args: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = this.#nextId++;
    const mark = this.proc.mark();
    this.proc.write(JSON.stringify({ ...args, id, op }));
    const m = await this.proc.waitForLine(new RegExp(`^\\{"id":${id},.*$`), { stream: 'stdout', timeoutMs, after: mark });
    const reply = JSON.parse(m[0]) as { ok: true; result: T } | { ok: false; error: string };
    if (!reply.ok) throw new Error(`inject agent ${op}: ${reply.error}`);
    return reply.result;
  }

  /** Sends each frame once, `gapMs` apart; resolves with how many left. */
  send(frames: readonly Uint8Array[], gapMs = 0): Promise<number> {
    return this.#call('send', { frames: frames.map((f) => Buffer.from(f).toString('hex')), gapMs }, 30_000 + frames.length * gapMs);
  }

  /** Sends the frames round-robin at `pps` for `durationMs`. */
  flood(frames: readonly Uint8Array[], opts: FloodOptions): Promise<FloodResult> {
    return this.#call(
      'flood',
      { frames: frames.map((f) => Buffer.from(f).toString('hex')), pps: opts.pps, durationMs: opts.durationMs, spoof: opts.spoof ?? null },
      opts.durationMs + 30_000,
    );
  }

  async stop(): Promise<void> {
    if (!this.proc.running) return;
    this.proc.write(JSON.stringify({ id: this.#nextId++, op: 'exit' }));
    const timer = setTimeout(() => void this.proc.kill('SIGKILL'), 5000);
    await this.proc.exited;
    clearTimeout(timer);
  }
}
