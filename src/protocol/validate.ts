/**
 * Per-instance receive checks (RFC 3768 §7.1, RFC 5798 §7.1) on a packet `decode` accepted:
 * version, authentication, advert interval, address list. Pure and never throws.
 */
import { timingSafeEqual } from 'node:crypto';
import { canonicalAddress } from './address.js';
import type { DropReason } from './reasons.js';
import { VRRP_AUTH_DATA_LENGTH, type AuthType, type VrrpPacket } from './vrrp.js';

export interface ValidateExpect {
  /** The version our instance runs; keepalived drops the other one. */
  readonly version: 2 | 3;
  /** Our advert_int in centiseconds. */
  readonly intervalCs: number;
  /** v2 auth type we are configured with; default 0 (none). */
  readonly authType?: AuthType | undefined;
  /** v2 PASS: our auth_pass, as written in the config or as its 8 bytes. */
  readonly authPass?: string | Uint8Array | undefined;
  /** Our virtual addresses (a `/prefix` is ignored). Unchecked when absent. */
  readonly vips?: readonly string[] | undefined;
  /** The same VIPs in canonical form, built once by the caller: checked without allocating. */
  readonly vipSet?: ReadonlySet<string> | undefined;
  /** Drop an advert whose address list differs from ours instead of warning. */
  readonly strict?: boolean | undefined;
  /**
   * Whether our instance is unicast (unicast_peer): its adverts must be sent unicast, a
   * multicast instance's to a multicast group. Unchecked when absent.
   */
  readonly unicast?: boolean | undefined;
}

export type ValidateResult =
  | { readonly ok: true; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

/**
 * The 8 Authentication Data octets for a password, as keepalived builds them: the bytes
 * of the string, cut to 8, zero-padded (RFC 3768 §5.3.10 leaves the padding to us).
 */
export function authDataFromPassword(pass: string | Uint8Array): Buffer {
  const bytes = typeof pass === 'string' ? Buffer.from(pass, 'utf8') : pass;
  const out = Buffer.alloc(VRRP_AUTH_DATA_LENGTH);
  out.set(bytes.subarray(0, VRRP_AUTH_DATA_LENGTH));
  return out;
}

function reject(reason: DropReason, detail: string): ValidateResult {
  return { ok: false, reason, detail };
}

/** Whether an IP destination is a multicast group (224.0.0.0/4, ff00::/8). */
function isMulticast(dst: string): boolean {
  if (dst.includes(':')) return /^ff/i.test(dst);
  const first = Number(dst.split('.')[0]);
  return first >= 224 && first <= 239;
}

export function validate(packet: VrrpPacket, expect: ValidateExpect): ValidateResult {
  const advert = packet.advert;
  // keepalived 2.2.7 vrrp_check_packet: "Expected multicast packet but received unicast packet"
  // and vice versa. Without it, an advert sent to one host only could move that host alone.
  if (expect.unicast !== undefined && packet.dst !== '' && isMulticast(packet.dst) === expect.unicast)
    return reject('destination', `${expect.unicast ? 'multicast' : 'unicast'} advert to ${packet.dst}, this instance is ${expect.unicast ? 'unicast' : 'multicast'}`);
  if (advert.version !== expect.version)
    return reject('version', `VRRPv${advert.version} advert, this instance runs VRRPv${expect.version}`);

  if (advert.version === 2) {
    const ours = expect.authType ?? 0;
    // RFC 3768 §7.1: MUST perform the authentication specified by Auth Type.
    if (ours === 2 || advert.authType === 2)
      return reject('auth', 'IPsec AH authentication (auth type 2) is not implemented');
    if (advert.authType !== ours) return reject('auth', `auth type ${advert.authType}, expected ${ours}`);
    if (ours === 1) {
      // The daemon hands over the 8 padded bytes once; only a string needs padding per packet.
      const pass = expect.authPass ?? '';
      const want = typeof pass !== 'string' && pass.length === VRRP_AUTH_DATA_LENGTH ? pass : authDataFromPassword(pass);
      if (advert.authData.length !== want.length || !timingSafeEqual(advert.authData, want))
        return reject('auth', 'wrong password');
    }
    // RFC 3768 §7.1: MUST verify that the Adver Interval matches the configured one.
    if (advert.intervalCs !== expect.intervalCs)
      return reject('interval', `advert interval ${advert.intervalCs / 100} s, ours is ${expect.intervalCs / 100} s`);
  } else if (advert.intervalCs === 0) {
    // RFC 5798 lets the backup learn the interval; 0 would make the master-down timer mere skew.
    return reject('interval', 'advert interval 0 cs');
  }

  const warnings: string[] = [];
  // Fast path, every advert from a healthy peer: same count, every address one of ours.
  const same =
    expect.vipSet !== undefined &&
    advert.addresses.length === expect.vipSet.size &&
    advert.addresses.every((a) => expect.vipSet?.has(a) === true);
  if (expect.vips !== undefined && !same) {
    const ours = new Set(expect.vips.map((v) => canonicalAddress(v) ?? v));
    const theirs = new Set(advert.addresses);
    const problems: string[] = [];
    if (advert.addresses.length !== expect.vips.length)
      problems.push(`advert carries ${advert.addresses.length} addresses, we have ${expect.vips.length}`);
    const missing = [...ours].filter((a) => !theirs.has(a));
    const extra = [...theirs].filter((a) => !ours.has(a));
    if (missing.length > 0) problems.push(`missing from the advert: ${missing.join(', ')}`);
    if (extra.length > 0) problems.push(`not ours: ${extra.join(', ')}`);
    if (problems.length > 0) {
      // RFC 3768 §7.1 / RFC 5798 §7.1: MAY check the list; on a mismatch MUST drop unless priority 255.
      if (expect.strict === true && advert.priority !== 255) return reject('addressList', problems.join('; '));
      warnings.push(...problems.map((p) => `address list mismatch: ${p}`));
    }
  }
  return { ok: true, warnings };
}
