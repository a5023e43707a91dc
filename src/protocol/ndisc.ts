/**
 * The unsolicited Neighbour Advertisement announcing an IPv6 VIP (RFC 4861 §7.2.6),
 * built as keepalived builds it (keepalived/vrrp/vrrp_ndisc.c): a whole Ethernet
 * frame to 33:33:00:00:00:01, IPv6 from the VIP to all-nodes ff02::1 with hop
 * limit 255 (§7.1.2 receivers drop anything else), Override set, Solicited clear,
 * Router set only when the host forwards, and a Target Link-Layer Address option.
 * Pure: bytes in, bytes out.
 */
import { bytesToIpv6, ipv6ToBytes } from './address.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV6, bytesToMac, toMacBytes } from './arp.js';

export const IPPROTO_ICMPV6 = 58;
export const IPV6_HEADER_LENGTH = 40;
export const ICMPV6_NEIGHBOUR_ADVERT = 136;
export const ND_OPT_TARGET_LINKADDR = 2;
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
/** ICMPv6 header (4) + flags/reserved (4) + target (16) + TLLA option (8). */
export const NA_LENGTH = 32;
export const NA_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + NA_LENGTH;
export const ALL_NODES = 'ff02::1';

// Re-exported: the NA builder's callers (netlink, tests) take them from here.
export { bytesToIpv6, ipv6ToBytes };

/** The Ethernet address an IPv6 multicast group maps to (RFC 2464 §7). */
export function ipv6MulticastMac(group: Uint8Array): Uint8Array {
  return Uint8Array.from([0x33, 0x33, group[12] ?? 0, group[13] ?? 0, group[14] ?? 0, group[15] ?? 0]);
}

/** ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and the message. */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, message.length);
  pseudo[39] = IPPROTO_ICMPV6;
  return internetChecksum(message, onesComplementSum(pseudo));
}

export interface UnsolicitedNaOptions {
  /** Our MAC: Ethernet source and the Target Link-Layer Address option. */
  readonly mac: Uint8Array | string;
  /** The VIP being announced (also the IPv6 source, as keepalived sends it). */
  readonly target: string;
  /** Set the Router flag (keepalived does when IPv6 forwarding is on for the interface). */
  readonly router?: boolean;
}

/** The whole Ethernet frame of an unsolicited Neighbour Advertisement. */
export function buildUnsolicitedNa(opts: UnsolicitedNaOptions): Buffer {
  const mac = toMacBytes(opts.mac);
  const target = ipv6ToBytes(opts.target);
  const dst = ipv6ToBytes(ALL_NODES);
  const f = Buffer.alloc(NA_FRAME_LENGTH);
  f.set(ipv6MulticastMac(dst), 0);
  f.set(mac, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);

  const ip = ETHERNET_HEADER_LENGTH;
  f.writeUInt32BE(0x60000000, ip); // version 6, traffic class 0, flow label 0
  f.writeUInt16BE(NA_LENGTH, ip + 4);
  f[ip + 6] = IPPROTO_ICMPV6;
  f[ip + 7] = 255; // RFC 4861 §7.1.2
  f.set(target, ip + 8);
  f.set(dst, ip + 24);

  const na = ip + IPV6_HEADER_LENGTH;
  f[na] = ICMPV6_NEIGHBOUR_ADVERT;
  f[na + 1] = 0;
  // RFC 4861 §7.2.6: Solicited MUST be zero; Override set so caches take the new address.
  f[na + 4] = NA_FLAG_OVERRIDE | (opts.router ? NA_FLAG_ROUTER : 0);
  f.set(target, na + 8);
  f[na + 24] = ND_OPT_TARGET_LINKADDR;
  f[na + 25] = 1; // option length in units of 8 bytes
  f.set(mac, na + 26);
  f.writeUInt16BE(icmpv6Checksum(target, dst, f.subarray(na)), na + 2);
  return f;
}

export interface NaFrameView {
  readonly ethDst: string;
  readonly ethSrc: string;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: string;
  /** The Target Link-Layer Address option, when present. */
  readonly targetMac: string | null;
  /** True when the ICMPv6 checksum verifies. */
  readonly checksumOk: boolean;
}

/** Reads an Ethernet frame carrying a Neighbour Advertisement; null for anything else. */
export function parseNaFrame(f: Uint8Array): NaFrameView | null {
  if (f.length < ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + 24) return null;
  const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (view.getUint16(12) !== ETHERTYPE_IPV6) return null;
  const ip = ETHERNET_HEADER_LENGTH;
  if ((f[ip] as number) >> 4 !== 6 || f[ip + 6] !== IPPROTO_ICMPV6) return null;
  const payloadLength = view.getUint16(ip + 4);
  const na = ip + IPV6_HEADER_LENGTH;
  if (f.length < na + payloadLength || payloadLength < 24 || f[na] !== ICMPV6_NEIGHBOUR_ADVERT) return null;
  const message = f.subarray(na, na + payloadLength);
  const flags = f[na + 4] as number;
  let targetMac: string | null = null;
  for (let o = 24; o + 8 <= payloadLength; ) {
    const len = (message[o + 1] as number) * 8;
    if (len === 0) break;
    if (message[o] === ND_OPT_TARGET_LINKADDR && len >= 8) targetMac = bytesToMac(message, o + 2);
    o += len;
  }
  return {
    ethDst: bytesToMac(f, 0),
    ethSrc: bytesToMac(f, 6),
    hopLimit: f[ip + 7] as number,
    src: bytesToIpv6(f, ip + 8),
    dst: bytesToIpv6(f, ip + 24),
    router: (flags & NA_FLAG_ROUTER) !== 0,
    solicited: (flags & NA_FLAG_SOLICITED) !== 0,
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    target: bytesToIpv6(message, 8),
    targetMac,
    checksumOk: icmpv6Checksum(f.subarray(ip + 8, ip + 24), f.subarray(ip + 24, ip + 40), message) === 0,
  };
}
