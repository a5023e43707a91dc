/**
 * Why a received packet was dropped: one reason per receive check of RFC 3768 §7.1 and
 * RFC 5798 §7.1 (plus the IP-level ones a raw socket needs). These are the keys of
 * `stats.dropped` in the status JSON.
 */
export const DROP_REASONS = [
  'ttl', // IPv4 TTL / IPv6 hop limit is not 255
  'checksum', // VRRP checksum (or the IPv4 header checksum) is wrong
  'version', // not VRRP 2 or 3, v2 over IPv6, or not the version the instance runs
  'type', // not an ADVERTISEMENT (RFC 3768 §5.3.2: unknown types MUST be discarded)
  'length', // shorter than the message it announces (truncated), or IP length disagrees
  'addressCount', // more bytes than the Count IP Addrs field accounts for
  'addressList', // address list differs from our VIPs (only with `strict`, RFC 3768 §7.1 MAY)
  'auth', // unknown auth type, auth type mismatch, wrong password, or IPsec AH (not implemented)
  'interval', // v2 Adver Int differs from ours; v3 interval of 0
  'vrid', // no instance of ours has this VRID on the interface (decided by the caller)
  'protocol', // the IPv4 protocol field is not 112
  'family', // not an IPv4 packet on an IPv4 socket, or a bad address in the decode context
  'peer', // unicast instance: the source is not one of its unicast_peer addresses (decided by the caller)
  'destination', // sent unicast to a multicast instance, or multicast to a unicast one (keepalived drops both)
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/** `{ ttl: 0, checksum: 0, … }` with every reason present: the initial `stats.dropped`. */
export function emptyDropCounters(): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
}

export function isDropReason(value: unknown): value is DropReason {
  return typeof value === 'string' && (DROP_REASONS as readonly string[]).includes(value);
}
