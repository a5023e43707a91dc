// Per-instance receive checks, RFC 3768 §7.1 / RFC 5798 §7.1.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authDataFromPassword,
  decode,
  encodeIpv4Packet,
  validate,
  type Advert,
  type ValidateExpect,
  type ValidateResult,
  type VrrpPacket,
} from '../../src/protocol/index.js';

function packet(fields: Partial<Advert>): VrrpPacket {
  const v3 = fields.version === 3 ? { authType: 0, authData: Buffer.alloc(0) } as const : {};
  const advert: Advert = {
    version: 2, type: 1, vrid: 51, priority: 100, addresses: ['10.0.0.50'],
    intervalCs: 100, authType: 0, authData: Buffer.alloc(8), ...v3, ...fields,
  };
  // through the real wire, so the packet is what decode hands out
  const r = decode(encodeIpv4Packet(advert, { src: '10.0.0.1', dst: '224.0.0.18' }), { family: 4 });
  assert.ok(r.ok);
  return r.packet;
}

function assertReject(r: ValidateResult, reason: string, detail?: RegExp): void {
  assert.equal(r.ok, false, `expected ${reason}, got ${JSON.stringify(r)}`);
  if (!r.ok) {
    assert.equal(r.reason, reason);
    if (detail) assert.match(r.detail, detail);
  }
}

const base: ValidateExpect = { version: 2, intervalCs: 100 };

describe('validate: version', () => {
  it('drops the version this instance does not run', () => {
    assertReject(validate(packet({ version: 3 }), base), 'version');
    assertReject(validate(packet({}), { version: 3, intervalCs: 100 }), 'version');
  });
});

describe('validate: RFC 3768 §7.1 authentication (v2)', () => {
  const pw = authDataFromPassword('secret');

  it('authDataFromPassword zero-pads and cuts to 8 bytes as keepalived does', () => {
    assert.deepEqual(authDataFromPassword('pw'), Buffer.from('pw\0\0\0\0\0\0'));
    assert.deepEqual(authDataFromPassword('longpassword'), Buffer.from('longpass'));
    assert.deepEqual(authDataFromPassword(''), Buffer.alloc(8));
    assert.deepEqual(authDataFromPassword(Buffer.from('ab')), Buffer.from('ab\0\0\0\0\0\0'));
  });

  it('accepts the right password, given as text or bytes, and beyond 8 characters only the first 8 count', () => {
    const p = packet({ authType: 1, authData: pw });
    assert.deepEqual(validate(p, { ...base, authType: 1, authPass: 'secret' }), { ok: true, warnings: [] });
    assert.deepEqual(validate(p, { ...base, authType: 1, authPass: pw }), { ok: true, warnings: [] });
    const long = packet({ authType: 1, authData: authDataFromPassword('longpassword') });
    assert.equal(validate(long, { ...base, authType: 1, authPass: 'longpass-and-more' }).ok, true);
  });

  it('drops a wrong password, including one that differs only in the padding', () => {
    const p = packet({ authType: 1, authData: pw });
    assertReject(validate(p, { ...base, authType: 1, authPass: 'secreT' }), 'auth', /password/);
    assertReject(validate(p, { ...base, authType: 1, authPass: 'secret\0x' }), 'auth', /password/);
    assertReject(validate(p, { ...base, authType: 1 }), 'auth', /password/);
  });

  it('drops an auth type mismatch either way', () => {
    assertReject(validate(packet({ authType: 1, authData: pw }), base), 'auth', /auth type 1, expected 0/);
    assertReject(validate(packet({}), { ...base, authType: 1, authPass: 'secret' }), 'auth', /auth type 0, expected 1/);
  });

  it('reports IPsec AH as not implemented', () => {
    assertReject(validate(packet({ authType: 2 }), { ...base, authType: 2 }), 'auth', /not implemented/);
    assertReject(validate(packet({}), { ...base, authType: 2 }), 'auth', /not implemented/);
  });

  it('ignores the auth data when there is no authentication (§5.3.6.1)', () => {
    assert.equal(validate(packet({ authData: Buffer.from('whatever') }), base).ok, true);
  });

  it('does not apply v2 auth settings to v3', () => {
    assert.equal(validate(packet({ version: 3 }), { version: 3, intervalCs: 100, authType: 1, authPass: 'x' }).ok, true);
  });
});

describe('validate: advert interval', () => {
  it('v2: drops an interval different from ours (RFC 3768 §7.1)', () => {
    assertReject(validate(packet({ intervalCs: 200 }), base), 'interval', /2 s, ours is 1 s/);
    assert.equal(validate(packet({ intervalCs: 300 }), { ...base, intervalCs: 300 }).ok, true);
  });

  it('v3: accepts any interval, the backup learns it (RFC 5798 §6.4.2)', () => {
    for (const intervalCs of [1, 10, 100, 4095])
      assert.equal(validate(packet({ version: 3, intervalCs }), { version: 3, intervalCs: 100 }).ok, true);
  });

  it('v3: drops an interval of 0', () => {
    const m = encodeIpv4Packet(
      { version: 3, type: 1, vrid: 51, priority: 100, addresses: [], intervalCs: 1, authType: 0, authData: Buffer.alloc(0) },
      { src: '10.0.0.1', dst: '224.0.0.18', checksumForm: 'noPseudoHeader' },
    );
    m[25] = 0; // interval 1 → 0, fix the message-only checksum by hand (+1 in the sum)
    m.writeUInt16BE((m.readUInt16BE(26) + 1) & 0xffff, 26);
    const r = decode(m, { family: 4 });
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.equal(r.packet.advert.intervalCs, 0);
    assertReject(validate(r.packet, { version: 3, intervalCs: 100 }), 'interval');
  });
});

describe('validate: address list (RFC 3768 §7.1 MAY)', () => {
  const ours = { ...base, vips: ['10.0.0.50/24', '10.0.0.51'] };

  it('accepts the same set in any order, ignoring prefixes', () => {
    assert.deepEqual(validate(packet({ addresses: ['10.0.0.51', '10.0.0.50'] }), ours), { ok: true, warnings: [] });
  });

  it('warns by default about a different list', () => {
    const r = validate(packet({ addresses: ['10.0.0.50', '10.0.0.99'] }), ours);
    assert.ok(r.ok);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings.join('\n'), /missing from the advert: 10\.0\.0\.51/);
    assert.match(r.warnings.join('\n'), /not ours: 10\.0\.0\.99/);
    const fewer = validate(packet({ addresses: ['10.0.0.50'] }), ours);
    assert.ok(fewer.ok);
    assert.match(fewer.warnings.join('\n'), /carries 1 addresses, we have 2/);
  });

  it('drops it when strict, unless the sender is the address owner (priority 255)', () => {
    assertReject(validate(packet({ addresses: ['10.0.0.50'] }), { ...ours, strict: true }), 'addressList', /10\.0\.0\.51/);
    const owner = validate(packet({ addresses: ['10.0.0.50'], priority: 255 }), { ...ours, strict: true });
    assert.ok(owner.ok);
    assert.equal(owner.warnings.length, 2);
  });

  it('a precomputed vipSet gives the same answers as the list alone', () => {
    const withSet = { ...ours, vipSet: new Set(['10.0.0.50', '10.0.0.51']), strict: true };
    for (const addresses of [['10.0.0.51', '10.0.0.50'], ['10.0.0.50'], ['10.0.0.50', '10.0.0.99'], ['10.0.0.50', '10.0.0.51', '10.0.0.52']]) {
      assert.deepEqual(validate(packet({ addresses }), withSet), validate(packet({ addresses }), { ...ours, strict: true }), addresses.join(','));
    }
  });

  it('compares IPv6 addresses in canonical form', () => {
    const p: VrrpPacket = {
      family: 6, src: 'fe80::1', dst: 'ff02::12', ttl: 255, checksumForm: 'pseudoHeader',
      advert: { version: 3, type: 1, vrid: 55, priority: 110, addresses: ['fd00:213::55'], intervalCs: 100, authType: 0, authData: Buffer.alloc(0) },
    };
    assert.deepEqual(validate(p, { version: 3, intervalCs: 100, vips: ['FD00:0213:0:0::0055/64'], strict: true }), { ok: true, warnings: [] });
  });
});
