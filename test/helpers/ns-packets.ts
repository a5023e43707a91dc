/**
 * Hand-built VRRP adverts for the transport tests, independent of src/protocol's
 * codec so the network tests do not depend on it (and cannot share its mistakes).
 * Also a tcpdump runner for checking what actually went over the wire.
 */
import { internetChecksum, onesComplementSum } from '../../src/protocol/checksum.js';
import { ipv4ToBytes } from '../../src/protocol/ipv4.js';
import type { Lan, NsProcess } from './netns.js';

/** RFC 3768 §5.1: VRRPv2 advert, no authentication, `advertIntSec` seconds. */
export function vrrp2Advert(vrid: number, priority: number, vips: readonly string[], advertIntSec = 1): Buffer {
  const b = Buffer.alloc(8 + 4 * vips.length + 8);
  b[0] = 0x21; // version 2, type 1 (advertisement)
  b[1] = vrid;
  b[2] = priority;
  b[3] = vips.length;
  b[4] = 0; // auth type none
  b[5] = advertIntSec;
  vips.forEach((v, i) => b.set(ipv4ToBytes(v), 8 + 4 * i));
  b.writeUInt16BE(internetChecksum(b), 6); // RFC 3768 §5.3.8: over the VRRP message only
  return b;
}

/**
 * RFC 5798 §5.1: VRRPv3 advert over IPv6 with `addrs` as 16-byte addresses. The checksum
 * is left 0: our IPv6 socket has the kernel fill it in (IPV6_CHECKSUM), as keepalived does.
 */
export function vrrp3Advert6(vrid: number, priority: number, addrs: readonly Uint8Array[], intervalCs = 100): Buffer {
  const b = Buffer.alloc(8 + 16 * addrs.length);
  b[0] = 0x31;
  b[1] = vrid;
  b[2] = priority;
  b[3] = addrs.length;
  b.writeUInt16BE(intervalCs & 0x0fff, 4);
  addrs.forEach((a, i) => b.set(a, 8 + 16 * i));
  return b;
}

/** Verifies a VRRPv3-over-IPv6 checksum with the pseudo-header (RFC 5798 §5.2.8). */
export function vrrp3Checksum6Ok(msg: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, msg.length);
  pseudo[39] = 112;
  return internetChecksum(msg, onesComplementSum(pseudo)) === 0;
}

/**
 * tcpdump in a host, line-buffered, verbose, with link-layer headers; resolves once it
 * is listening. Stop it with `kill()`; its lines are in `.stdout`.
 */
export async function startTcpdump(
  lan: Lan,
  host: string,
  filter: string,
  opts: { ifname?: string; hex?: boolean } = {},
): Promise<NsProcess> {
  const flags = opts.hex ? ['-xx'] : ['-vv'];
  const p = lan.spawn(host, ['tcpdump', '-i', opts.ifname ?? 'eth0', '-l', '-n', '-e', '-U', ...flags, filter]);
  await p.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });
  return p;
}

/** The frames of `tcpdump -xx` output: each summary line with the bytes printed under it. */
export function tcpdumpFrames(lines: readonly string[]): Array<{ summary: string; bytes: Buffer }> {
  const frames: Array<{ summary: string; hex: string[] }> = [];
  for (const line of lines) {
    const m = /^\s+0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (m) frames.at(-1)?.hex.push((m[1] as string).replace(/\s+/g, ''));
    else frames.push({ summary: line, hex: [] });
  }
  return frames.map((f) => ({ summary: f.summary, bytes: Buffer.from(f.hex.join(''), 'hex') }));
}
