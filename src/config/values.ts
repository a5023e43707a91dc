/** Value syntax of keepalived.conf: numbers, timers, booleans, addresses, commands. */
import { isIPv4, isIPv6 } from 'node:net';
import type { AddressFamily } from './model.js';

/** Unsigned decimal integer as keepalived's read_unsigned (strtoul base 10) accepts it. */
export function parseUnsigned(s: string): number | null {
  const t = s.trim();
  if (!/^\+?\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

/** Signed decimal integer (strtol base 10). */
export function parseSigned(s: string): number | null {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) return null;
  const n = Number(t) + 0; // "-0" is 0: an integer, never the float -0
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * A non-negative decimal number of seconds ("1", "0.5", ".25") in microseconds, as
 * keepalived's read_decimal_unsigned with 6 digits: extra digits round half up.
 */
export function parseSecondsUs(s: string): { us: number; tooPrecise: boolean } | null {
  const t = s.trim();
  const m = /^(\d*)(?:\.(\d*))?$/.exec(t);
  if (m === null || t === '' || t === '.') return null;
  const whole = m[1] ?? '';
  const frac = m[2] ?? '';
  if (whole === '' && frac === '') return null;
  const tooPrecise = frac.length > 6;
  let us = Number(whole || '0') * 1_000_000 + Number((frac.slice(0, 6) + '000000').slice(0, 6));
  if (tooPrecise && (frac[6] ?? '0') >= '5') us += 1;
  return Number.isSafeInteger(us) ? { us, tooPrecise } : null;
}

/** keepalived's check_true_false(): on/true/yes, off/false/no. */
export function parseBool(s: string): boolean | null {
  if (s === 'on' || s === 'true' || s === 'yes') return true;
  if (s === 'off' || s === 'false' || s === 'no') return false;
  return null;
}

export function familyOf(address: string): AddressFamily | null {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return null;
}

/** Canonical text of an address (IPv6 lower-case and compressed) for comparisons. */
export function canonicalAddress(address: string): string {
  if (!isIPv6(address)) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

export function isMulticast(address: string): boolean {
  const fam = familyOf(address);
  if (fam === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return fam === 6 && canonicalAddress(address).startsWith('ff');
}

/** IPv6 link-local multicast (ffX2::/16), which VRRPv3 over IPv6 needs. */
export function isLinkLocalMulticast6(address: string): boolean {
  return /^ff[0-9a-f]2:/.test(canonicalAddress(address));
}

export function isLinkLocal6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/.test(canonicalAddress(address));
}

/** The bytes of an IPv4 address as a 32-bit unsigned number. */
export function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * Splits a command the way keepalived's alloc_strvec_quoted_escaped() does (and so
 * what execve() will get): words on unquoted blanks, '…' and "…" group (and may be
 * glued to other text), backslash escapes (\n \t \xHH \ooo \cX, \C = C).
 * Returns null when a quote is not closed.
 */
export function splitCommand(s: string): string[] | null {
  const words: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i] ?? '')) i++;
    if (i >= s.length) break;
    let word = '';
    let quote: string | null = null;
    for (; i < s.length; i++) {
      const c = s[i] ?? '';
      if (c === '\\') {
        i++;
        if (i >= s.length) return null;
        const e = s[i] ?? '';
        if (e === 'x' && /[0-9a-fA-F]/.test(s[i + 1] ?? '')) {
          let hex = '';
          while (/[0-9a-fA-F]/.test(s[i + 1] ?? '')) hex += s[++i];
          word += String.fromCharCode(parseInt(hex, 16) & 0xff);
        } else if (e === 'c' && i + 1 < s.length) {
          word += String.fromCharCode((s[++i] ?? '').charCodeAt(0) & 0x1f);
        } else if (/[0-7]/.test(e)) {
          let oct = e;
          while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? '')) oct += s[++i];
          word += String.fromCharCode(parseInt(oct, 8) & 0xff);
        } else {
          const map: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
          word += map[e] ?? e;
        }
        continue;
      }
      if (quote !== null) {
        if (c === quote) quote = null;
        else word += c;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        continue;
      }
      if (/\s/.test(c)) break;
      word += c;
    }
    if (quote !== null) return null;
    words.push(word);
  }
  return words;
}
