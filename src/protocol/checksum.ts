/**
 * The Internet checksum (RFC 1071): one's complement of the one's complement sum
 * of 16-bit words. `initial` lets a caller fold in a pseudo-header sum first.
 */
export function onesComplementSum(buf: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = buf.length;
  let i = 0;
  for (; i + 1 < n; i += 2) sum += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if (i < n) sum += (buf[i] as number) << 8; // odd length: pad with a zero byte
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(buf: Uint8Array, initial = 0): number {
  return ~onesComplementSum(buf, initial) & 0xffff;
}
