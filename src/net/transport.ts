/**
 * VRRP transport: one raw socket per (interface, address family), shared by every
 * instance on that interface; the daemon demultiplexes by VRID.
 *
 * IPv4 uses raw-socket: IP_HDRINCL (we build the header: TTL 255, our source),
 * SO_BINDTODEVICE, IP_ADD_MEMBERSHIP on the interface, IP_MULTICAST_ALL off.
 * IPv6 uses the addon's recvmsg socket, because RFC 5798 §7.1 needs the hop limit
 * of every received packet, which recvfrom cannot give.
 *
 * Our own multicast adverts are not looped back to us: IP_MULTICAST_LOOP and
 * IPV6_MULTICAST_LOOP are off, as in keepalived. (Unicast to one of our own
 * addresses would still arrive; the daemon can compare `meta.src` if it cares.)
 *
 * IPv6: like keepalived, the kernel computes the VRRP checksum (IPV6_CHECKSUM, offset
 * 6) on send and verifies it on receive, so packets with a bad checksum are dropped
 * by the kernel and never reach onPacket.
 *
 * Failures never throw out of the event loop: send() rejects with a VipdError, and
 * receive-side trouble goes to onError. raw-socket closes its socket after an
 * event-loop level error; we then report it and reopen the socket with back-off.
 */
import { endianness } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { createSocket, SocketLevel, SocketOption, type Socket } from 'raw-socket';
import { VipdError } from '../errors.js';
import { encodeIpv4Header, ipv4ToBytes, parseIpv4Header, IPPROTO_VRRP } from '../protocol/ipv4.js';
import { loadNative, systemError, type Raw6Handle } from './native.js';

export const VRRP_MCAST_GROUP4 = '224.0.0.18';
export const VRRP_MCAST_GROUP6 = 'ff02::12';

// <linux/in.h>; raw-socket does not export these.
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_MULTICAST_ALL = 49;
const VRRP_CHECKSUM_OFFSET = 6;
const REOPEN_MIN_MS = 500;
const REOPEN_MAX_MS = 30_000;

export interface PacketMeta {
  readonly family: 4 | 6;
  readonly ifname: string;
  readonly src: string;
  /** The destination the packet was sent to (our group, or our unicast address). */
  readonly dst: string;
  /**
   * IPv4: the TTL from the IP header. IPv6: the hop limit from IPV6_HOPLIMIT ancillary
   * data (undefined only if the kernel did not provide it). RFC 3768 §7.1 / RFC 5798 §7.1: must be 255.
   */
  readonly hopLimit: number | undefined;
}

export interface TransportOptions {
  readonly ifname: string;
  readonly family: 4 | 6;
  /** vrrp_mcast_group4 / vrrp_mcast_group6; default 224.0.0.18 / ff02::12. */
  readonly multicastGroup?: string;
  /** false for an interface whose instances are all unicast (unicast_peer): no group is joined. */
  readonly joinMulticast?: boolean;
  /**
   * IPv4: the whole IP packet (header included). IPv6: the VRRP message alone.
   * The buffer is the caller's to keep.
   */
  readonly onPacket: (bytes: Buffer, meta: PacketMeta) => void;
  /** Receive-side errors, and the socket being reopened; the transport stays usable. */
  readonly onError: (err: VipdError) => void;
}

export interface SendTarget {
  /** The multicast group or a unicast peer. */
  readonly dst: string;
  /**
   * Source address. Required for IPv4 (mcast_src_ip / unicast_src_ip / the interface's
   * primary address). IPv6: optional, the kernel picks the link-local address otherwise.
   */
  readonly src?: string;
}

export interface Transport {
  readonly ifname: string;
  readonly family: 4 | 6;
  readonly ifindex: number;
  /** The joined group (even when joinMulticast is false, this is the default destination). */
  readonly multicastGroup: string;
  readonly closed: boolean;
  /** Sends one VRRP message. Rejects with VipdError('ESOCKET') on failure; never throws. */
  send(message: Uint8Array, to: SendTarget): Promise<void>;
  /** Safe to call twice; pending sends are rejected. */
  close(): void;
}

/** Seams for fault-injection tests; not part of the daemon's API. */
export interface TransportInternals {
  /** Replaces raw-socket's createSocket (IPv4), e.g. to keep a handle on the socket. */
  readonly createRawSocket?: typeof createSocket;
}

export function openTransport(opts: TransportOptions, internals: TransportInternals = {}): Transport {
  const group = opts.multicastGroup ?? (opts.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
  const valid = opts.family === 4 ? isIPv4(group) : isIPv6(group);
  if (!valid) {
    throw new VipdError('ESOCKET', `multicast group must be an IPv${opts.family} address, got ${group}`);
  }
  const native = loadNative();
  const ifindex = native.ifNameToIndex(opts.ifname);
  if (ifindex === 0) throw new VipdError('ESOCKET', `interface ${opts.ifname} does not exist (ENODEV)`);
  return opts.family === 4
    ? new Ipv4Transport(opts, group, ifindex, internals.createRawSocket ?? createSocket)
    : new Ipv6Transport(opts, group, ifindex);
}

function safeDeliver(opts: TransportOptions, bytes: Buffer, meta: PacketMeta): void {
  try {
    opts.onPacket(bytes, meta);
  } catch (err) {
    reportError(opts, new VipdError('ESOCKET', `onPacket handler threw on ${opts.ifname}: ${String(err)}`, { cause: err }));
  }
}

function reportError(opts: TransportOptions, err: VipdError): void {
  try {
    opts.onError(err);
  } catch {
    // The error sink itself failed; nothing sensible is left to tell.
  }
}

/** raw-socket errors carry only strerror() text; find the errno name that goes with it. */
const errnoByText = new Map<string, string>();
function withErrno(err: Error): Error & { code?: string } {
  if (errnoByText.size === 0) {
    for (const [, [name, text]] of getSystemErrorMap()) errnoByText.set(text.toLowerCase(), name);
  }
  const name = errnoByText.get(err.message.toLowerCase());
  return name ? Object.assign(err, { code: name }) : err;
}

class Ipv4Transport implements Transport {
  readonly family = 4 as const;
  readonly ifname: string;
  readonly ifindex: number;
  readonly multicastGroup: string;
  #opts: TransportOptions;
  #sock: Socket | null = null;
  #closed = false;
  #pending = new Set<(err: VipdError) => void>();
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenDelay = REOPEN_MIN_MS;
  #createSocket: typeof createSocket;

  constructor(opts: TransportOptions, group: string, ifindex: number, create: typeof createSocket) {
    this.#createSocket = create;
    this.#opts = opts;
    this.ifname = opts.ifname;
    this.ifindex = ifindex;
    this.multicastGroup = group;
    this.#sock = this.#open(); // throws: the caller learns at once that the interface is unusable
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(): Socket {
    let sock: Socket;
    try {
      sock = this.#createSocket({ protocol: IPPROTO_VRRP, bufferSize: 2048 });
    } catch (err) {
      throw systemError('ESOCKET', `open raw IPv4 socket (protocol 112) for ${this.ifname}`, withErrno(err as Error));
    }
    const step = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        sock.removeAllListeners('close');
        sock.close();
        throw systemError('ESOCKET', `${what} on ${this.ifname}`, withErrno(err as Error));
      }
    };
    const ip = SocketLevel.IPPROTO_IP;
    const ifname = Buffer.from(`${this.ifname}\0`);
    step('set IP_HDRINCL', () => sock.setOption(ip, SocketOption.IP_HDRINCL, 1));
    step('set SO_BINDTODEVICE', () => sock.setOption(SocketLevel.SOL_SOCKET, SocketOption.SO_BINDTODEVICE, ifname, ifname.length));
    step('set IP_MULTICAST_LOOP', () => sock.setOption(ip, IP_MULTICAST_LOOP, 0));
    step('set IP_MULTICAST_ALL', () => sock.setOption(ip, IP_MULTICAST_ALL, 0));
    const ifreq = this.#mreqn('0.0.0.0');
    step('set IP_MULTICAST_IF', () => sock.setOption(ip, IP_MULTICAST_IF, ifreq, ifreq.length));
    if (this.#opts.joinMulticast !== false) {
      const mreq = this.#mreqn(this.multicastGroup);
      step(`join ${this.multicastGroup}`, () => sock.setOption(ip, IP_ADD_MEMBERSHIP, mreq, mreq.length));
    }
    sock.on('message', (buffer, source) => this.#onMessage(buffer, source));
    sock.on('error', (err) => {
      if (this.#closed) return;
      reportError(this.#opts, systemError('ESOCKET', `raw IPv4 socket on ${this.ifname}`, withErrno(err)));
    });
    sock.on('close', () => this.#onUnexpectedClose(sock));
    return sock;
  }

  /** struct ip_mreqn: group, local address (any), interface index in host byte order. */
  #mreqn(group: string): Buffer {
    const b = Buffer.alloc(12);
    b.set(ipv4ToBytes(group), 0);
    if (endianness() === 'LE') b.writeInt32LE(this.ifindex, 8);
    else b.writeInt32BE(this.ifindex, 8);
    return b;
  }

  #onMessage(view: Buffer, source: string): void {
    if (this.#closed) return;
    const bytes = Buffer.from(view); // raw-socket reuses its receive buffer
    const h = parseIpv4Header(bytes);
    safeDeliver(this.#opts, bytes, {
      family: 4,
      ifname: this.ifname,
      src: h?.src ?? source,
      dst: h?.dst ?? '',
      hopLimit: h?.ttl,
    });
  }

  #onUnexpectedClose(sock: Socket): void {
    if (this.#closed || sock !== this.#sock) return;
    this.#sock = null;
    this.#failPending(new VipdError('ESOCKET', `raw IPv4 socket on ${this.ifname} closed after an error`));
    reportError(
      this.#opts,
      new VipdError('ESOCKET', `raw IPv4 socket on ${this.ifname} closed after an error; reopening in ${this.#reopenDelay} ms`),
    );
    this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      if (this.#closed) return;
      try {
        this.#sock = this.#open();
        this.#reopenDelay = REOPEN_MIN_MS;
      } catch (err) {
        this.#reopenDelay = Math.min(this.#reopenDelay * 2, REOPEN_MAX_MS);
        reportError(this.#opts, err as VipdError);
        this.#scheduleReopen();
      }
    }, this.#reopenDelay);
  }

  #failPending(err: VipdError): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const reject of pending) reject(err);
  }

  send(message: Uint8Array, to: SendTarget): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sock = this.#sock;
      if (this.#closed || !sock) {
        reject(new VipdError('ESOCKET', `transport on ${this.ifname} is ${this.#closed ? 'closed' : 'reopening'}`));
        return;
      }
      if (!to.src || !isIPv4(to.src) || !isIPv4(to.dst)) {
        reject(new VipdError('ESOCKET', `IPv4 send needs IPv4 src and dst, got src=${to.src ?? ''} dst=${to.dst}`));
        return;
      }
      const header = encodeIpv4Header({ src: to.src, dst: to.dst, payloadLength: message.length });
      const packet = Buffer.concat([header, message]);
      let settled = false;
      const settle = (err: VipdError | null): void => {
        if (settled) return;
        settled = true;
        this.#pending.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      this.#pending.add(settle);
      // raw-socket calls back once with the sendto() result (and again with an error only if
      // our callback threw, which settle() cannot do).
      sock.send(packet, 0, packet.length, to.dst, (err) => {
        settle(err ? systemError('ESOCKET', `send VRRP to ${to.dst} on ${this.ifname}`, withErrno(err)) : null);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reopenTimer) clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    const sock = this.#sock;
    this.#sock = null;
    if (sock) {
      sock.removeAllListeners('message');
      sock.close();
      // Keep an 'error' listener: a late error event must not become an uncaught exception.
    }
    this.#failPending(new VipdError('ESOCKET', `transport on ${this.ifname} closed before the packet was sent`));
  }
}

class Ipv6Transport implements Transport {
  readonly family = 6 as const;
  readonly ifname: string;
  readonly ifindex: number;
  readonly multicastGroup: string;
  #opts: TransportOptions;
  #handle: Raw6Handle | null;
  #native = loadNative();

  constructor(opts: TransportOptions, group: string, ifindex: number) {
    this.#opts = opts;
    this.ifname = opts.ifname;
    this.ifindex = ifindex;
    this.multicastGroup = group;
    let handle: Raw6Handle;
    try {
      handle = this.#native.raw6Open(opts.ifname, IPPROTO_VRRP, VRRP_CHECKSUM_OFFSET, (err, bytes, src, dst, hopLimit) => {
        if (this.#handle === null) return;
        if (err) {
          reportError(opts, systemError('ESOCKET', `receive on raw IPv6 socket on ${this.ifname}`, err));
          return;
        }
        if (!bytes) return;
        safeDeliver(opts, bytes, {
          family: 6,
          ifname: this.ifname,
          src: src ?? '',
          dst: dst ?? '',
          hopLimit: hopLimit !== undefined && hopLimit >= 0 ? hopLimit : undefined,
        });
      });
    } catch (err) {
      throw systemError('ESOCKET', `open raw IPv6 socket (protocol 112) on ${opts.ifname}`, err);
    }
    this.#handle = handle;
    if (opts.joinMulticast !== false) {
      try {
        this.#native.raw6Membership(handle, group, true);
      } catch (err) {
        this.close();
        throw systemError('ESOCKET', `join ${group} on ${opts.ifname}`, err);
      }
    }
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  send(message: Uint8Array, to: SendTarget): Promise<void> {
    const handle = this.#handle;
    if (!handle) return Promise.reject(new VipdError('ESOCKET', `transport on ${this.ifname} is closed`));
    if (!isIPv6(to.dst) || (to.src !== undefined && !isIPv6(to.src))) {
      return Promise.reject(
        new VipdError('ESOCKET', `IPv6 send needs IPv6 addresses, got src=${to.src ?? ''} dst=${to.dst}`),
      );
    }
    try {
      this.#native.raw6Send(handle, message, to.dst, to.src ?? '');
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(systemError('ESOCKET', `send VRRP to ${to.dst} on ${this.ifname}`, err));
    }
  }

  close(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = null;
    this.#native.raw6Close(handle);
  }
}
