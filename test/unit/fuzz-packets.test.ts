// Fuzzing the packet decoder and the receive checks (issue 7) with structure-aware
// mutations of real adverts: the keepalived 2.2.7 captures in test/fixtures/packets.
// Fields are set to edge values, lengths and counts disagree, bytes are cut, added and
// moved — and, half of the time, the IP length and both checksums are repaired afterwards
// so that the mutant gets past them into the later checks (random bytes rarely do; see
// protocol-properties.test.ts for those).
//
// What must hold: decode and validate never throw and always name a known reason; a
// packet decode accepts has the shape the daemon relies on; re-encoding it is stable.
// VIPD_FUZZ_SCALE=10 runs ten times as many cases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DROP_REASONS,
  canonicalAddress,
  decode,
  encode,
  internetChecksum,
  onesComplementSum,
  validate,
  type DecodeContext,
  type DecodeResult,
  type ValidateExpect,
  type VrrpPacket,
} from '../../src/protocol/index.js';
import { listPacketFixtures, loadPacketFixture, receiveView } from '../helpers/packet-fixtures.js';

const SCALE = Math.max(1, Number(process.env['VIPD_FUZZ_SCALE'] ?? 1));
const RUNS = (n: number): fc.Parameters<unknown> => ({ numRuns: n * SCALE, interruptAfterTimeLimit: 25_000 * SCALE, markInterruptAsFailure: false });

interface Seed {
  readonly name: string;
  readonly family: 4 | 6;
  readonly bytes: Buffer;
  readonly ctx: DecodeContext;
  /** Offset of the VRRP message in `bytes`. */
  readonly off: number;
}

const SEEDS: readonly Seed[] = listPacketFixtures().map((name) => {
  const f = loadPacketFixture(name);
  const { bytes, ctx } = receiveView(f);
  return { name, family: f.family, bytes, ctx, off: f.family === 4 ? ((bytes[0] as number) & 0x0f) * 4 : 0 };
});

const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 15, 16, 0x1f, 0x20, 0x21, 0x22, 0x31, 0x3f, 0x40, 0x41, 0x45, 0x46, 0x4f, 0x70, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

type Mutation =
  | { kind: 'set'; field: number; value: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'moreAddresses'; n: number };

const value = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A known header field (index into FIELDS below), most likely to matter.
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), field: fc.nat(), value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('moreAddresses' as const), n: fc.integer({ min: 1, max: 300 }) }) },
);

/** Header bytes worth hitting, relative to the packet (IPv4 header) or the VRRP message (m+). */
function fieldOffset(seed: Seed, field: number): number {
  const m = seed.off;
  // VRRP: version/type, VRID, priority, count, auth type / interval, interval, checksum.
  const vrrp = [m, m + 1, m + 2, m + 3, m + 4, m + 5, m + 6, m + 7];
  // IPv4: version/IHL, TOS, total length (2), TTL, protocol, src, dst.
  const ip = seed.family === 4 ? [0, 1, 2, 3, 8, 9, 12, 15, 16, 19] : [];
  const all = [...vrrp, ...vrrp, ...ip];
  return all[field % all.length] as number;
}

function apply(seed: Seed, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed.bytes);
  for (const mu of muts) {
    const n = Math.max(b.length, 1);
    switch (mu.kind) {
      case 'set': {
        const at = fieldOffset(seed, mu.field);
        if (at < b.length) b[at] = mu.value;
        break;
      }
      case 'byte':
        if (b.length > 0) b[mu.at % n] = mu.value;
        break;
      case 'truncate':
        b = b.subarray(0, mu.at % (b.length + 1));
        break;
      case 'extend':
        b = Buffer.concat([b, mu.bytes]);
        break;
      case 'insert': {
        const at = mu.at % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), mu.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = mu.at % n;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + mu.len)]);
        break;
      }
      case 'moreAddresses': {
        // Repeat the first address block and raise the count to match (up to 255).
        const alen = seed.family === 4 ? 4 : 16;
        const first = b.subarray(seed.off + 8, seed.off + 8 + alen);
        const extra = Buffer.concat(Array.from({ length: mu.n }, () => first));
        const at = Math.min(b.length, seed.off + 8);
        b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        if (seed.off + 3 < b.length) b[seed.off + 3] = Math.min(255, ((b[seed.off + 3] as number) + mu.n) & 0xff);
        break;
      }
    }
  }
  return Buffer.from(b);
}

/**
 * Makes the IP total length, the IPv4 header checksum and the VRRP checksum right again
 * for what the bytes now say (v2: the message; v3: with the pseudo-header).
 */
function repair(seed: Seed, b: Buffer): Buffer {
  const out = Buffer.from(b);
  let m = 0;
  let src: Uint8Array;
  let dst: Uint8Array;
  if (seed.family === 4) {
    if (out.length < 20) return out;
    const ihl = ((out[0] as number) & 0x0f) * 4;
    if (ihl < 20 || ihl > out.length) return out;
    out.writeUInt16BE(out.length & 0xffff, 2);
    out.writeUInt16BE(0, 10);
    out.writeUInt16BE(internetChecksum(out.subarray(0, ihl)), 10);
    m = ihl;
    src = out.subarray(12, 16);
    dst = out.subarray(16, 20);
  } else {
    const ctx = seed.ctx as { src: string; dst?: string };
    src = Buffer.from(ipv6Bytes(ctx.src));
    dst = Buffer.from(ipv6Bytes(ctx.dst ?? 'ff02::12'));
  }
  const msg = out.subarray(m);
  if (msg.length < 8) return out;
  msg.writeUInt16BE(0, 6);
  const v3 = (msg[0] as number) >> 4 === 3;
  let initial = 0;
  if (v3) {
    const ph = seed.family === 4 ? Buffer.alloc(12) : Buffer.alloc(40);
    if (seed.family === 4) {
      ph.set(src, 0);
      ph.set(dst, 4);
      ph[9] = 112;
      ph.writeUInt16BE(msg.length & 0xffff, 10);
    } else {
      ph.set(src, 0);
      ph.set(dst, 16);
      ph.writeUInt32BE(msg.length, 32);
      ph[39] = 112;
    }
    initial = onesComplementSum(ph);
  }
  msg.writeUInt16BE(internetChecksum(msg, initial), 6);
  return out;
}

function ipv6Bytes(text: string): number[] {
  const u = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head, tail] = u.includes('::') ? u.split('::') : [u, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

function assertWellFormed(r: DecodeResult): void {
  if (!r.ok) {
    assert.ok((DROP_REASONS as readonly string[]).includes(r.reason), r.reason);
    assert.ok(typeof r.detail === 'string' && r.detail.length > 0);
    return;
  }
  const p = r.packet;
  const a = p.advert;
  assert.ok(a.version === 2 || a.version === 3);
  assert.equal(a.type, 1);
  assert.ok(Number.isInteger(a.vrid) && a.vrid >= 0 && a.vrid <= 255);
  assert.ok(Number.isInteger(a.priority) && a.priority >= 0 && a.priority <= 255);
  assert.ok(a.addresses.length <= 255 && a.addresses.every((x) => canonicalAddress(x) === x));
  assert.ok(a.addresses.every((x) => x.includes(':') === (p.family === 6)), 'addresses of the packet family');
  assert.ok(Number.isInteger(a.intervalCs) && a.intervalCs >= 0 && a.intervalCs <= (a.version === 2 ? 25500 : 4095));
  assert.ok(a.authType === 0 || a.authType === 1 || a.authType === 2);
  assert.equal(a.authData.length, a.version === 2 ? 8 : 0);
  assert.equal(canonicalAddress(p.src), p.src);
  assert.ok(p.ttl === null || (Number.isInteger(p.ttl) && p.ttl >= 0 && p.ttl <= 255));
}

/** What instances might expect of a packet: both versions, every auth type, VIP lists that match or not. */
function expectations(p: VrrpPacket): ValidateExpect[] {
  const a = p.advert;
  const out: ValidateExpect[] = [];
  for (const version of [2, 3] as const) {
    for (const unicast of [undefined, false, true]) {
      out.push({ version, intervalCs: a.intervalCs, unicast });
      out.push({ version, intervalCs: 100, authType: 1, authPass: 'pw123', vips: [...a.addresses], strict: true, unicast });
      out.push({ version, intervalCs: a.intervalCs, authType: a.authType, authPass: a.authData, vips: ['10.0.0.1/24', 'fe80::1'], strict: true, unicast });
      out.push({ version, intervalCs: a.intervalCs, authType: 2, vips: [], strict: false, unicast });
    }
  }
  return out;
}

const seedAndMutations = fc.record({
  seed: fc.constantFrom(...SEEDS),
  muts: fc.array(mutation, { minLength: 1, maxLength: 5 }),
  fix: fc.boolean(),
});

describe('packet decoder fuzzing: mutations of captured keepalived adverts', () => {
  it('every captured advert decodes (the seeds are good)', () => {
    assert.ok(SEEDS.length >= 7);
    for (const s of SEEDS) assert.ok(decode(s.bytes, s.ctx).ok, s.name);
  });

  it('the repair step gives back a decodable packet when only a field was changed', () => {
    for (const s of SEEDS) {
      const b = Buffer.from(s.bytes);
      b[s.off + 2] = 42; // priority
      assert.equal(decode(b, s.ctx).ok, false, `${s.name}: the checksum catches it`);
      const fixed = decode(repair(s, b), s.ctx);
      assert.ok(fixed.ok && fixed.packet.advert.priority === 42, `${s.name}: ${JSON.stringify(fixed)}`);
    }
  });

  it('decode and validate never throw on mutants, and what decode accepts is well formed', () => {
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(seedAndMutations, ({ seed, muts, fix }) => {
        total++;
        const raw = apply(seed, muts);
        const bytes = fix ? repair(seed, raw) : raw;
        for (const ctx of [seed.ctx, { ...seed.ctx, checkTtl: false }] as DecodeContext[]) {
          const r = decode(bytes, ctx);
          assertWellFormed(r);
          if (!r.ok) continue;
          accepted++;
          for (const e of expectations(r.packet)) {
            const v = validate(r.packet, e);
            if (v.ok) {
              assert.ok(v.warnings.every((w) => typeof w === 'string'));
              assert.equal(r.packet.advert.version, e.version);
            } else {
              assert.ok((DROP_REASONS as readonly string[]).includes(v.reason), v.reason);
            }
            // The destination check comes first: a multicast instance never takes a unicast advert.
            const multicast = /^(22[4-9]|23\d)\.|^ff/i.test(r.packet.dst);
            if (e.unicast !== undefined && multicast === e.unicast) assert.ok(!v.ok && v.reason === 'destination');
          }
        }
      }),
      RUNS(60_000),
    );
    // Most mutants die at a check; enough must live to exercise validate.
    assert.ok(accepted > total / 20, `${accepted} of ${total} mutants decoded`);
  });

  it('an accepted packet re-encodes to one that decodes to the same packet', () => {
    fc.assert(
      fc.property(seedAndMutations, ({ seed, muts }) => {
        const bytes = repair(seed, apply(seed, muts));
        const r = decode(bytes, seed.ctx);
        if (!r.ok) return;
        const p = r.packet;
        let again: Buffer;
        try {
          again = encode(p.advert, { family: p.family, src: p.src, dst: p.dst, checksumForm: p.checksumForm });
        } catch (err) {
          // decode takes some values our own adverts never carry (a v2 interval of 0): refused cleanly.
          assert.ok(err instanceof RangeError, String(err));
          return;
        }
        const ctx: DecodeContext = p.family === 4 ? { family: 4 } : { family: 6, src: p.src, dst: p.dst, hopLimit: 255 };
        // The IPv4 header as received (with any options a mutation gave it), then the new message.
        const ihl = p.family === 4 ? ((bytes[0] as number) & 0x0f) * 4 : 0;
        const wire = p.family === 4 ? Buffer.concat([bytes.subarray(0, ihl), again]) : again;
        if (p.family === 4) repairIpOnly(wire, ihl);
        const back = decode(wire, ctx);
        assert.ok(back.ok, JSON.stringify(back));
        assert.deepEqual({ ...back.packet, ttl: null }, { ...p, ttl: null });
      }),
      RUNS(20_000),
    );
  });

  it('decode never throws on any context, even nonsense (IPv6 src/dst that are not addresses)', () => {
    const junkCtx: fc.Arbitrary<DecodeContext> = fc.record({
      family: fc.constant(6 as const),
      src: fc.oneof(fc.string(), fc.constantFrom('fe80::1', '::', '1.2.3.4', 'fe80::1%eth0', '')),
      dst: fc.oneof(fc.string(), fc.constantFrom('ff02::12', '::ffff:1.2.3.4')),
      hopLimit: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.constant(null)),
    });
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS.filter((s) => s.family === 6)), junkCtx, (s, ctx) => assertWellFormed(decode(s.bytes, ctx))),
      RUNS(5000),
    );
  });
});

/** Fixes the IPv4 total length and header checksum after the message was replaced. */
function repairIpOnly(b: Buffer, ihl: number): void {
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(0, 10);
  b.writeUInt16BE(internetChecksum(b.subarray(0, ihl)), 10);
}
