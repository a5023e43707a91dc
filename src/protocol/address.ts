/**
 * IP address text ⇄ bytes for the codec. Decoded IPv6 addresses are printed in the
 * RFC 5952 canonical form, so an address that went through the wire compares equal
 * to the same address written any other way once both pass through `canonicalAddress`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { bytesToIpv4 } from './ipv4.js';

/** Drops a `%zone` suffix (a link-local source as recvfrom reports it) and a `/prefix`. */
function bare(addr: string): string {
  const slash = addr.indexOf('/');
  const s = slash === -1 ? addr : addr.slice(0, slash);
  const pct = s.indexOf('%');
  return pct === -1 ? s : s.slice(0, pct);
}

export function parseIpv4(addr: string): Uint8Array | null {
  const s = bare(addr);
  if (!isIPv4(s)) return null;
  return Uint8Array.from(s.split('.').map(Number));
}

export function parseIpv6(addr: string): Uint8Array | null {
  const s = bare(addr);
  if (!isIPv6(s)) return null;
  const out = new Uint8Array(16);
  const words: number[] = [];
  const pushGroups = (part: string, into: number[]): boolean => {
    if (part === '') return true;
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return false;
        into.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        into.push(parseInt(g, 16));
      }
    }
    return true;
  };
  const gap = s.indexOf('::');
  if (gap === -1) {
    if (!pushGroups(s, words)) return null;
  } else {
    const tail: number[] = [];
    if (!pushGroups(s.slice(0, gap), words) || !pushGroups(s.slice(gap + 2), tail)) return null;
    while (words.length + tail.length < 8) words.push(0);
    words.push(...tail);
  }
  if (words.length !== 8) return null;
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * 16 bytes → the RFC 5952 text form: lower case, no leading zeros, the longest run (≥ 2)
 * of zero groups as `::` (§4), IPv4-mapped addresses with a dotted quad (§5).
 */
export function bytesToIpv6(buf: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((buf[offset + 2 * i] ?? 0) << 8) | (buf[offset + 2 * i + 1] ?? 0));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart === -1) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Like parseIpv6, for callers holding an address they already validated: throws instead of null. */
export function ipv6ToBytes(addr: string): Uint8Array {
  const b = parseIpv6(addr);
  if (b === null) throw new TypeError(`not an IPv6 address: ${addr}`);
  return b;
}

export function addressFamily(addr: string): 4 | 6 | null {
  if (parseIpv4(addr) !== null) return 4;
  if (parseIpv6(addr) !== null) return 6;
  return null;
}

/** The codec's spelling of an address (prefix and zone dropped), or null if it is not one. */
export function canonicalAddress(addr: string): string | null {
  const v4 = parseIpv4(addr);
  if (v4 !== null) return bytesToIpv4(v4);
  const v6 = parseIpv6(addr);
  return v6 === null ? null : bytesToIpv6(v6);
}
