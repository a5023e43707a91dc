/**
 * The gratuitous ARP frame keepalived sends for each IPv4 VIP on becoming MASTER
 * (keepalived/vrrp/vrrp_arp.c, send_gratuitous_arp_immediate): an ARP *request*
 * (RFC 826, RFC 5227 §3 "ARP Announcement") broadcast on Ethernet, with sender and
 * target protocol address both the VIP, sender hardware address our MAC and
 * target hardware address the broadcast address. Pure: bytes in, bytes out.
 */
import { bytesToIpv4, ipv4ToBytes } from './ipv4.js';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERNET_HEADER_LENGTH = 14;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
/** 14 bytes of Ethernet header + 28 of ARP; the driver pads to the 60-byte minimum. */
export const GARP_FRAME_LENGTH = 42;

const HTYPE_ETHERNET = 1;
const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** "aa:bb:cc:dd:ee:ff" (or "-" separated) → 6 bytes. */
export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${mac}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** 6 bytes → "aa:bb:cc:dd:ee:ff". */
export function bytesToMac(buf: Uint8Array, offset = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push((buf[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return out.join(':');
}

export function toMacBytes(mac: Uint8Array | string): Uint8Array {
  if (typeof mac === 'string') return macToBytes(mac);
  if (mac.length !== 6) throw new TypeError(`a MAC address has 6 bytes, got ${mac.length}`);
  return mac;
}

/** The whole Ethernet frame of a gratuitous ARP announcing `vip` at `mac`. */
export function buildGratuitousArp(mac: Uint8Array | string, vip: string): Buffer {
  const hw = toMacBytes(mac);
  const ip = ipv4ToBytes(vip);
  const f = Buffer.alloc(GARP_FRAME_LENGTH);
  f.set(BROADCAST_MAC, 0);
  f.set(hw, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(HTYPE_ETHERNET, 14);
  f.writeUInt16BE(ETHERTYPE_IPV4, 16);
  f[18] = 6; // hardware address length
  f[19] = 4; // protocol address length
  f.writeUInt16BE(ARP_REQUEST, 20);
  f.set(hw, 22); // sender hardware address
  f.set(ip, 28); // sender protocol address
  f.set(BROADCAST_MAC, 32); // target hardware address, as keepalived sets it
  f.set(ip, 38); // target protocol address = sender: that makes it gratuitous
  return f;
}

export interface ArpFrameView {
  readonly ethDst: string;
  readonly ethSrc: string;
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

/** Reads an Ethernet/IPv4 ARP frame; null when the bytes are something else. */
export function parseArpFrame(f: Uint8Array): ArpFrameView | null {
  if (f.length < GARP_FRAME_LENGTH) return null;
  const u16 = (o: number): number => ((f[o] as number) << 8) | (f[o + 1] as number);
  if (u16(12) !== ETHERTYPE_ARP || u16(14) !== HTYPE_ETHERNET || u16(16) !== ETHERTYPE_IPV4) return null;
  if (f[18] !== 6 || f[19] !== 4) return null;
  return {
    ethDst: bytesToMac(f, 0),
    ethSrc: bytesToMac(f, 6),
    op: u16(20),
    senderMac: bytesToMac(f, 22),
    senderIp: bytesToIpv4(f, 28),
    targetMac: bytesToMac(f, 32),
    targetIp: bytesToIpv4(f, 38),
  };
}
