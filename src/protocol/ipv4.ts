/**
 * IPv4 header for sending with IP_HDRINCL (RFC 791). VRRP demands TTL 255
 * (RFC 3768 §5.2.3) and keepalived marks adverts with TOS 0xc0 (internetwork control).
 */
import { isIPv4 } from 'node:net';
import { internetChecksum } from './checksum.js';

export const IPPROTO_VRRP = 112;
export const IPV4_HEADER_LENGTH = 20;

export interface Ipv4HeaderFields {
  readonly src: string;
  readonly dst: string;
  readonly payloadLength: number;
  readonly protocol?: number; // default 112
  readonly ttl?: number; // default 255
  readonly tos?: number; // default 0xc0
  readonly id?: number; // default 0
}

export function ipv4ToBytes(addr: string): Uint8Array {
  if (!isIPv4(addr)) throw new TypeError(`not an IPv4 address: ${addr}`);
  return Uint8Array.from(addr.split('.').map(Number));
}

export function bytesToIpv4(buf: Uint8Array, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** A 20-byte IPv4 header (no options) with its header checksum filled in. */
export function encodeIpv4Header(f: Ipv4HeaderFields): Buffer {
  const h = Buffer.alloc(IPV4_HEADER_LENGTH);
  h[0] = 0x45; // version 4, IHL 5
  h[1] = f.tos ?? 0xc0;
  h.writeUInt16BE(IPV4_HEADER_LENGTH + f.payloadLength, 2);
  h.writeUInt16BE((f.id ?? 0) & 0xffff, 4);
  h.writeUInt16BE(0, 6); // flags/fragment offset: VRRP adverts are tiny, never fragmented
  h[8] = f.ttl ?? 255;
  h[9] = f.protocol ?? IPPROTO_VRRP;
  h.set(ipv4ToBytes(f.src), 12);
  h.set(ipv4ToBytes(f.dst), 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return h;
}

/** The header fields a receiver needs, or null when the bytes are not an IPv4 header. */
export interface Ipv4HeaderView {
  readonly headerLength: number;
  readonly totalLength: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
}

export function parseIpv4Header(buf: Uint8Array): Ipv4HeaderView | null {
  if (buf.length < IPV4_HEADER_LENGTH) return null;
  const b0 = buf[0] as number;
  if (b0 >> 4 !== 4) return null;
  const headerLength = (b0 & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || buf.length < headerLength) return null;
  return {
    headerLength,
    totalLength: ((buf[2] as number) << 8) | (buf[3] as number),
    ttl: buf[8] as number,
    protocol: buf[9] as number,
    src: bytesToIpv4(buf, 12),
    dst: bytesToIpv4(buf, 16),
  };
}
