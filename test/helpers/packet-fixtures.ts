// Loads the byte fixtures under test/fixtures/packets/: `# ` comment lines (some of them
// `# key: value`), then the whole IP packet as hex.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DecodeContext } from '../../src/protocol/index.js';
import { bytesToIpv4, bytesToIpv6 } from '../../src/protocol/index.js';

// Compiled to dist/test/helpers/, the fixtures stay in test/fixtures/.
export const PACKET_FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/packets/', import.meta.url));

export interface PacketFixture {
  readonly name: string;
  readonly family: 4 | 6;
  /** The whole IP packet as captured. */
  readonly bytes: Buffer;
  /** The VRRP message (IP header removed). */
  readonly message: Buffer;
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  readonly ttl: number;
  /** IPv4 identification (0 for IPv6). */
  readonly ipId: number;
  readonly meta: Readonly<Record<string, string>>;
}

export function listPacketFixtures(): string[] {
  return readdirSync(PACKET_FIXTURE_DIR)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function loadPacketFixture(name: string): PacketFixture {
  const text = readFileSync(`${PACKET_FIXTURE_DIR}${name}.hex`, 'utf8');
  const meta: Record<string, string> = {};
  const hex: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^#\s*([a-z]+):\s*(\S.*)$/.exec(line);
    if (m !== null) meta[m[1] as string] = (m[2] as string).trim();
    else if (!line.startsWith('#')) hex.push(line.replace(/\s+/g, ''));
  }
  const bytes = Buffer.from(hex.join(''), 'hex');
  const family = meta['family'] === '6' ? 6 : 4;
  if (family === 4) {
    const ihl = ((bytes[0] as number) & 0x0f) * 4;
    return {
      name, family, bytes, meta,
      message: bytes.subarray(ihl),
      src: bytesToIpv4(bytes, 12),
      dst: bytesToIpv4(bytes, 16),
      ttl: bytes[8] as number,
      ipId: bytes.readUInt16BE(4),
    };
  }
  if (bytes[6] !== 112) throw new Error(`${name}: IPv6 next header ${bytes[6]}, fixtures carry VRRP directly`);
  return {
    name, family, bytes, meta,
    message: bytes.subarray(40),
    src: bytesToIpv6(bytes, 8),
    dst: bytesToIpv6(bytes, 24),
    ttl: bytes[7] as number,
    ipId: 0,
  };
}

/** What the raw socket would hand to `decode` for this packet, and the context with it. */
export function receiveView(f: PacketFixture): { bytes: Buffer; ctx: DecodeContext } {
  return f.family === 4
    ? { bytes: f.bytes, ctx: { family: 4 } }
    : { bytes: f.message, ctx: { family: 6, src: f.src, dst: f.dst, hopLimit: f.ttl } };
}
