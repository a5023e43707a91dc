// The VRRP codec: what the daemon calls to put adverts on the wire and take them off it.
export {
  AUTH_AH,
  AUTH_NONE,
  AUTH_PASS,
  VRRP_AUTH_DATA_LENGTH,
  VRRP_HEADER_LENGTH,
  VRRP_MCAST_V4,
  VRRP_MCAST_V6,
  VRRP_TTL,
  VRRP_TYPE_ADVERTISEMENT,
  decode,
  encode,
  encodeIpv4Packet,
  encodingLength,
  type Advert,
  type AuthType,
  type ChecksumForm,
  type DecodeContext,
  type DecodeResult,
  type EncodeContext,
  type Ipv4PacketOptions,
  type VrrpPacket,
} from './vrrp.js';
export { authDataFromPassword, validate, type ValidateExpect, type ValidateResult } from './validate.js';
export { DROP_REASONS, emptyDropCounters, isDropReason, type DropReason } from './reasons.js';
export { addressFamily, bytesToIpv6, canonicalAddress, parseIpv4, parseIpv6 } from './address.js';
export { internetChecksum, onesComplementSum } from './checksum.js';
export {
  IPPROTO_VRRP,
  IPV4_HEADER_LENGTH,
  bytesToIpv4,
  encodeIpv4Header,
  ipv4ToBytes,
  parseIpv4Header,
  type Ipv4HeaderFields,
  type Ipv4HeaderView,
} from './ipv4.js';
