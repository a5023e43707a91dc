/**
 * VRRP advertisements on the wire: VRRPv2 (RFC 3768 §5) over IPv4 and VRRPv3
 * (RFC 5798 §5) over IPv4 and IPv6. Pure: bytes in, values out.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 * v2: |   Auth Type   |   Adver Int   |          Checksum             |
 * v3: |(rsvd) |     Max Adver Int     |          Checksum             |
 * |                 IPv4 or IPv6 address(es) ...                  |
 * v2 only: |          Authentication Data (8 octets)               |
 *
 * Receiving is two stages, neither of which throws: `decode` does the stateless wire
 * checks of RFC 3768 §7.1 / RFC 5798 §7.1 (validate.ts does the per-instance ones).
 */
import { bytesToIpv6, parseIpv4, parseIpv6 } from './address.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { encodeIpv4Header, bytesToIpv4, IPPROTO_VRRP, IPV4_HEADER_LENGTH } from './ipv4.js';
import type { DropReason } from './reasons.js';

export const VRRP_MCAST_V4 = '224.0.0.18'; // RFC 5798 §5.1.1.2
export const VRRP_MCAST_V6 = 'ff02::12'; // RFC 5798 §5.1.2.2
export const VRRP_TTL = 255; // RFC 3768 §5.2.3, RFC 5798 §5.1.1.3
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_HEADER_LENGTH = 8;
export const VRRP_AUTH_DATA_LENGTH = 8; // v2 only, RFC 3768 §5.3.10

/** RFC 3768 §5.3.6: 0 none, 1 simple text password, 2 IP Authentication Header. */
export type AuthType = 0 | 1 | 2;
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;

export interface Advert {
  readonly version: 2 | 3;
  readonly type: 1;
  readonly vrid: number; // 1..255
  readonly priority: number; // 0..255
  readonly addresses: readonly string[];
  /** Advert interval in centiseconds for both versions (v2 carries whole seconds). */
  readonly intervalCs: number;
  /** v2 auth type; always 0 for v3. */
  readonly authType: AuthType;
  /** v2: the 8 Authentication Data octets; v3: empty. */
  readonly authData: Buffer;
}

/**
 * How the checksum covers the message.
 * - `pseudoHeader`: RFC 5798 §5.2.8, with the IPv4/IPv6 pseudo-header (keepalived's v3 form).
 * - `noPseudoHeader`: the VRRP message alone — always for v2 (RFC 3768 §5.3.8); some v3-over-IPv4
 *   implementations do this too.
 * - `pseudoHeaderMcastDst`: pseudo-header with 224.0.0.18 as destination even when sent unicast
 *   (keepalived's `old_unicast_checksum`, as keepalived before 1.3.6 computed it).
 */
export type ChecksumForm = 'pseudoHeader' | 'noPseudoHeader' | 'pseudoHeaderMcastDst';

export interface EncodeContext {
  readonly family: 4 | 6;
  /** v3: source and destination of the IP packet, for the pseudo-header. */
  readonly src?: string | undefined;
  readonly dst?: string | undefined;
  /** v3 over IPv4 only; default `pseudoHeader`. */
  readonly checksumForm?: ChecksumForm | undefined;
}

export type DecodeContext =
  | {
      /** The bytes start with the IPv4 header, as a raw IPv4 socket delivers them. */
      readonly family: 4;
      /** false skips the TTL = 255 check (keepalived skips it for unicast peers). */
      readonly checkTtl?: boolean | undefined;
    }
  | {
      /** The bytes are the VRRP message alone, as a raw IPv6 socket delivers it. */
      readonly family: 6;
      readonly src: string;
      /** Destination for the pseudo-header; default ff02::12. */
      readonly dst?: string | undefined;
      /** From IPV6_RECVHOPLIMIT when the socket reports it; unchecked when absent. */
      readonly hopLimit?: number | null | undefined;
      readonly checkTtl?: boolean | undefined;
    };

export interface VrrpPacket {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL or IPv6 hop limit; null when the socket did not report it. */
  readonly ttl: number | null;
  readonly advert: Advert;
  readonly checksumForm: ChecksumForm;
}

export type DecodeResult =
  | { readonly ok: true; readonly packet: VrrpPacket }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

function addressLength(family: 4 | 6): number {
  return family === 4 ? 4 : 16;
}

function messageLength(version: 2 | 3, family: 4 | 6, count: number): number {
  return VRRP_HEADER_LENGTH + count * addressLength(family) + (version === 2 ? VRRP_AUTH_DATA_LENGTH : 0);
}

/** Byte length of the VRRP message `encode` produces for this advert (no IP header). */
export function encodingLength(advert: Advert): number {
  const family = advert.addresses.some((a) => a.includes(':')) ? 6 : 4;
  return messageLength(advert.version, family, advert.addresses.length);
}

function pseudoHeaderSum(family: 4 | 6, src: Uint8Array, dst: Uint8Array, length: number): number {
  if (family === 4) {
    // RFC 5798 §5.2.8 refers to the RFC 768-style pseudo-header: src, dst, zero, protocol, length.
    const ph = new Uint8Array(12);
    ph.set(src, 0);
    ph.set(dst, 4);
    ph[9] = IPPROTO_VRRP;
    ph[10] = length >> 8;
    ph[11] = length & 0xff;
    return onesComplementSum(ph);
  }
  // RFC 8200 §8.1: src, dst, 32-bit upper-layer length, 3 zero octets, next header.
  const ph = new Uint8Array(40);
  ph.set(src, 0);
  ph.set(dst, 16);
  ph[34] = length >> 8;
  ph[35] = length & 0xff;
  ph[39] = IPPROTO_VRRP;
  return onesComplementSum(ph);
}

function fail(what: string): never {
  throw new RangeError(`cannot encode VRRP advert: ${what}`);
}

function isInt(n: number, lo: number, hi: number): boolean {
  return Number.isInteger(n) && n >= lo && n <= hi;
}

/**
 * The VRRP message with its checksum filled in. Throws RangeError on an advert that
 * cannot be put on the wire (a programming error, not a network event).
 */
export function encode(advert: Advert, ctx: EncodeContext): Buffer {
  const version = advert.version;
  const family = ctx.family;
  if (version !== 2 && version !== 3) fail(`version must be 2 or 3, got ${String(version)}`);
  if (family !== 4 && family !== 6) fail(`family must be 4 or 6, got ${String(family)}`);
  if (version === 2 && family !== 4) fail('VRRPv2 is IPv4 only (RFC 3768)');
  if (advert.type !== VRRP_TYPE_ADVERTISEMENT) fail(`type must be 1, got ${String(advert.type)}`);
  if (!isInt(advert.vrid, 1, 255)) fail(`vrid must be 1..255, got ${advert.vrid}`);
  if (!isInt(advert.priority, 0, 255)) fail(`priority must be 0..255, got ${advert.priority}`);
  if (advert.addresses.length > 255) fail(`at most 255 addresses, got ${advert.addresses.length}`);
  if (version === 2) {
    if (!isInt(advert.intervalCs, 100, 25500) || advert.intervalCs % 100 !== 0)
      fail(`v2 interval must be whole seconds 1..255 (100..25500 cs), got ${advert.intervalCs} cs`);
    if (advert.authType !== 0 && advert.authType !== 1 && advert.authType !== 2)
      fail(`auth type must be 0, 1 or 2, got ${String(advert.authType)}`);
    if (advert.authData.length !== VRRP_AUTH_DATA_LENGTH)
      fail(`v2 auth data must be 8 bytes, got ${advert.authData.length}`);
  } else {
    if (!isInt(advert.intervalCs, 1, 0x0fff)) fail(`v3 interval must be 1..4095 cs, got ${advert.intervalCs}`);
    if (advert.authType !== 0) fail('v3 has no authentication (RFC 5798 §9), auth type must be 0');
    if (advert.authData.length !== 0) fail('v3 has no authentication data');
  }

  const alen = addressLength(family);
  const buf = Buffer.alloc(messageLength(version, family, advert.addresses.length));
  buf[0] = (version << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[1] = advert.vrid;
  buf[2] = advert.priority;
  buf[3] = advert.addresses.length;
  if (version === 2) {
    buf[4] = advert.authType;
    buf[5] = advert.intervalCs / 100;
  } else {
    buf.writeUInt16BE(advert.intervalCs & 0x0fff, 4); // RFC 5798 §5.2.6: 4 reserved bits, zero
  }
  advert.addresses.forEach((a, i) => {
    const bytes = family === 4 ? parseIpv4(a) : parseIpv6(a);
    if (bytes === null) fail(`address ${i} is not an IPv${family} address: ${a}`);
    buf.set(bytes, VRRP_HEADER_LENGTH + i * alen);
  });
  if (version === 2) advert.authData.copy(buf, buf.length - VRRP_AUTH_DATA_LENGTH);

  let initial = 0;
  if (version === 3) {
    const form = ctx.checksumForm ?? 'pseudoHeader';
    if (family === 6 && form !== 'pseudoHeader') fail('VRRPv3 over IPv6 always uses the pseudo-header');
    if (form !== 'noPseudoHeader') {
      const parse = family === 4 ? parseIpv4 : parseIpv6;
      const src = parse(ctx.src ?? '');
      const dst = parse(form === 'pseudoHeaderMcastDst' ? VRRP_MCAST_V4 : (ctx.dst ?? ''));
      if (src === null) fail(`v3 checksum needs the IPv${family} source address, got ${String(ctx.src)}`);
      if (dst === null) fail(`v3 checksum needs the IPv${family} destination address, got ${String(ctx.dst)}`);
      initial = pseudoHeaderSum(family, src, dst, buf.length);
    }
  }
  buf.writeUInt16BE(internetChecksum(buf, initial), 6);
  return buf;
}

export interface Ipv4PacketOptions {
  readonly src: string;
  readonly dst: string;
  readonly checksumForm?: ChecksumForm | undefined;
  /** IP identification; 0 lets the kernel pick one with IP_HDRINCL (raw(7)). */
  readonly id?: number | undefined;
}

/** The whole IPv4 packet (TTL 255, TOS 0xc0, protocol 112) for a socket with IP_HDRINCL. */
export function encodeIpv4Packet(advert: Advert, opts: Ipv4PacketOptions): Buffer {
  const message = encode(advert, { family: 4, src: opts.src, dst: opts.dst, checksumForm: opts.checksumForm });
  const header = encodeIpv4Header({
    src: opts.src,
    dst: opts.dst,
    payloadLength: message.length,
    ttl: VRRP_TTL,
    protocol: IPPROTO_VRRP,
    ...(opts.id === undefined ? {} : { id: opts.id }),
  });
  return Buffer.concat([header, message]);
}

function drop(reason: DropReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

/**
 * Stateless receive checks, RFC 3768 §7.1 / RFC 5798 §7.1: IP header (IPv4), TTL,
 * version, type, length, address count, checksum, known auth type. Never throws.
 */
export function decode(bytes: Uint8Array, ctx: DecodeContext): DecodeResult {
  let message: Uint8Array;
  let src: string;
  let dst: string;
  let srcBytes: Uint8Array;
  let dstBytes: Uint8Array;
  let ttl: number | null;
  const checkTtl = ctx.checkTtl !== false;

  if (ctx.family === 4) {
    if (bytes.length < IPV4_HEADER_LENGTH)
      return drop('length', `${bytes.length} bytes is shorter than an IPv4 header`);
    const b0 = bytes[0] as number;
    if (b0 >> 4 !== 4) return drop('family', `IP version ${b0 >> 4} on an IPv4 socket`);
    const ihl = (b0 & 0x0f) * 4;
    if (ihl < IPV4_HEADER_LENGTH) return drop('length', `IPv4 header length ${ihl} is below 20`);
    if (bytes.length < ihl) return drop('length', `IPv4 header of ${ihl} bytes truncated to ${bytes.length}`);
    // The kernel has checked it already; re-checking keeps decode honest on any byte string.
    if (internetChecksum(bytes.subarray(0, ihl)) !== 0) return drop('checksum', 'bad IPv4 header checksum');
    const total = ((bytes[2] as number) << 8) | (bytes[3] as number);
    if (total !== bytes.length)
      return drop('length', `IPv4 total length ${total} but ${bytes.length} bytes received`);
    const protocol = bytes[9] as number;
    if (protocol !== IPPROTO_VRRP) return drop('protocol', `IP protocol ${protocol}, expected 112`);
    ttl = bytes[8] as number;
    srcBytes = bytes.subarray(12, 16);
    dstBytes = bytes.subarray(16, 20);
    src = bytesToIpv4(bytes, 12);
    dst = bytesToIpv4(bytes, 16);
    message = bytes.subarray(ihl, total);
  } else if (ctx.family === 6) {
    const s = typeof ctx.src === 'string' ? parseIpv6(ctx.src) : null;
    const dstText: unknown = ctx.dst ?? VRRP_MCAST_V6;
    const d = typeof dstText === 'string' ? parseIpv6(dstText) : null;
    if (s === null) return drop('family', `source ${String(ctx.src)} is not an IPv6 address`);
    if (d === null) return drop('family', `destination ${String(ctx.dst)} is not an IPv6 address`);
    srcBytes = s;
    dstBytes = d;
    src = bytesToIpv6(s);
    dst = bytesToIpv6(d);
    ttl = typeof ctx.hopLimit === 'number' ? ctx.hopLimit : null;
    message = bytes;
  } else {
    return drop('family', `unknown address family ${String((ctx as { family: unknown }).family)}`);
  }
  const family = ctx.family;

  // RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify that the IP TTL / hop limit is 255.
  if (checkTtl && ttl !== null && ttl !== VRRP_TTL) return drop('ttl', `TTL ${ttl}, expected 255`);
  if (message.length < VRRP_HEADER_LENGTH)
    return drop('length', `VRRP message of ${message.length} bytes is shorter than its 8-byte header`);

  const version = (message[0] as number) >> 4;
  if (version !== 2 && version !== 3) return drop('version', `VRRP version ${version}`);
  if (version === 2 && family === 6) return drop('version', 'VRRPv2 over IPv6');
  const type = (message[0] as number) & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return drop('type', `VRRP packet type ${type}, expected 1`);

  // MUST verify that the packet contains the complete VRRP packet.
  const count = message[3] as number;
  const expected = messageLength(version, family, count);
  if (message.length < expected)
    return drop('length', `${count} addresses need a ${expected}-byte message, got ${message.length} bytes`);
  if (message.length > expected)
    return drop('addressCount', `count field says ${count} addresses but the message has ${message.length} bytes (expected ${expected})`);

  let checksumForm: ChecksumForm;
  if (version === 2) {
    if (internetChecksum(message) !== 0) return drop('checksum', 'bad VRRPv2 checksum');
    checksumForm = 'noPseudoHeader';
  } else if (internetChecksum(message, pseudoHeaderSum(family, srcBytes, dstBytes, message.length)) === 0) {
    checksumForm = 'pseudoHeader';
  } else if (family === 4 && internetChecksum(message) === 0) {
    checksumForm = 'noPseudoHeader';
  } else if (
    family === 4 &&
    dst !== VRRP_MCAST_V4 &&
    internetChecksum(message, pseudoHeaderSum(4, srcBytes, Uint8Array.of(224, 0, 0, 18), message.length)) === 0
  ) {
    checksumForm = 'pseudoHeaderMcastDst';
  } else {
    return drop('checksum', `bad VRRPv3 checksum (src ${src}, dst ${dst})`);
  }

  const authType = version === 2 ? (message[4] as number) : 0;
  // RFC 3768 §5.3.6: only types 0..2 exist; an unknown one cannot be authenticated.
  if (authType !== 0 && authType !== 1 && authType !== 2) return drop('auth', `unknown auth type ${authType}`);

  const alen = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = VRRP_HEADER_LENGTH + i * alen;
    addresses.push(family === 4 ? bytesToIpv4(message, off) : bytesToIpv6(message, off));
  }
  const advert: Advert = {
    version,
    type: VRRP_TYPE_ADVERTISEMENT,
    vrid: message[1] as number,
    priority: message[2] as number,
    addresses,
    intervalCs:
      version === 2 ? (message[5] as number) * 100 : (((message[4] as number) << 8) | (message[5] as number)) & 0x0fff,
    authType,
    authData:
      version === 2 ? Buffer.from(message.subarray(message.length - VRRP_AUTH_DATA_LENGTH)) : Buffer.alloc(0),
  };
  return { ok: true, packet: { family, src, dst, ttl, advert, checksumForm } };
}
