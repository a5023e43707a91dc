/**
 * rtnetlink glue over the `netlink` package: links, addresses, and a monitor of
 * kernel news.
 *
 * Requests go through the package's NetlinkSocket.request() with checkError off, so
 * we read the kernel's errno ourselves: every failure becomes VipdError('ENETLINK')
 * whose message ends with the errno name and text, and whose `cause` carries
 * `code` (e.g. "EEXIST") for errnoName(). The two outcomes a VRRP daemon expects
 * in normal life are results, not errors: adding an address that is already there
 * resolves 'exists', deleting one that is not resolves 'absent'.
 *
 * The monitor listens on a second socket (RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR).
 * The kernel repeats RTM_NEWLINK for all sorts of changes and RTM_NEWADDR when an
 * address only changes flags, so the monitor keeps the state it last reported and
 * emits an event only when something a VRRP daemon cares about changed. After a
 * receive-buffer overflow (ENOBUFS: news were lost) it re-reads links and addresses
 * and emits the differences.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import {
  AttrStream,
  createNetlink,
  FlagsGet,
  FlagsNew,
  MessageType as NlMessageType,
  parseError,
  Protocol,
  rt,
  type NetlinkMessage,
  type NetlinkSocket,
} from 'netlink';
import { VipdError } from '../errors.js';
import { bytesToMac } from '../protocol/arp.js';
import { ipv4ToBytes, bytesToIpv4 } from '../protocol/ipv4.js';
import { bytesToIpv6, ipv6ToBytes } from '../protocol/ndisc.js';
import { errnoName } from './native.js';

const AF_INET = 2;
const AF_INET6 = 10;
const DEFAULT_TIMEOUT_MS = 5000;

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** IFF_UP: administratively up. */
  readonly up: boolean;
  /** IFF_RUNNING: operationally up (carrier). keepalived needs both for a usable interface. */
  readonly running: boolean;
  /** "aa:bb:cc:dd:ee:ff", or null for links without a 6-byte hardware address. */
  readonly mac: string | null;
  readonly mtu: number | undefined;
}

/** iproute2's names for IFA_F_* flags. */
export type AddressFlag =
  | 'secondary'
  | 'nodad'
  | 'optimistic'
  | 'dadfailed'
  | 'home'
  | 'deprecated'
  | 'tentative'
  | 'permanent'
  | 'mngtmpaddr'
  | 'noprefixroute'
  | 'autojoin'
  | 'stable-privacy';

export interface AddressInfo {
  readonly index: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLength: number;
  /** Set only for point-to-point addresses (IFA_ADDRESS differs from IFA_LOCAL). */
  readonly peer?: string;
  readonly label?: string;
  readonly broadcast?: string;
  /** RT_SCOPE_*: 0 global, 200 site, 253 link, 254 host, 255 nowhere. */
  readonly scope: number;
  readonly flags: readonly AddressFlag[];
}

export type AddressScope = 'global' | 'site' | 'link' | 'host' | 'nowhere' | number;

/** An address to add, with what keepalived's virtual_ipaddress syntax can say about it. */
export interface AddressSpec {
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
  /** IPv4 only (the kernel ignores labels on IPv6). keepalived's `label`. */
  readonly label?: string;
  /** `brd` */
  readonly broadcast?: string;
  /** `scope`; default global. */
  readonly scope?: AddressScope;
  /** `peer`: the remote end of a point-to-point address. */
  readonly peer?: string;
  /** `noprefixroute` (IFA_F_NOPREFIXROUTE). */
  readonly noPrefixRoute?: boolean;
  /** `nodad` (IFA_F_NODAD, IPv6). */
  readonly noDad?: boolean;
  /** `home` (IFA_F_HOMEADDRESS, IPv6). */
  readonly homeAddress?: boolean;
}

/** What identifies an address for deletion. */
export interface AddressKey {
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
  readonly peer?: string;
}

export interface NetlinkOptions {
  /** Per-request timeout; default 5000 ms. */
  readonly timeoutMs?: number;
}

const SCOPES: Record<Exclude<AddressScope, number>, number> = {
  global: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

const FLAG_NAMES: ReadonlyArray<[keyof rt.AddressFlags, AddressFlag]> = [
  ['secondary', 'secondary'],
  ['nodad', 'nodad'],
  ['optimistic', 'optimistic'],
  ['dadfailed', 'dadfailed'],
  ['homeaddress', 'home'],
  ['deprecated', 'deprecated'],
  ['tentative', 'tentative'],
  ['permanent', 'permanent'],
  ['managetempaddr', 'mngtmpaddr'],
  ['noprefixroute', 'noprefixroute'],
  ['mcautojoin', 'autojoin'],
  ['stablePrivacy', 'stable-privacy'],
];

function familyOf(address: string): 4 | 6 {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  throw new VipdError('ENETLINK', `not an IP address: ${address}`);
}

function addressBytes(address: string): Buffer {
  return Buffer.from(familyOf(address) === 4 ? ipv4ToBytes(address) : ipv6ToBytes(address));
}

function bytesToAddress(buf: Buffer | undefined): string | undefined {
  if (!buf) return undefined;
  if (buf.length === 4) return bytesToIpv4(buf);
  if (buf.length === 16) return bytesToIpv6(buf);
  return undefined;
}

/** An Error like those of node's own syscalls, for the `cause` of a VipdError. */
function errnoError(errno: number, syscall: string): Error & { code: string; errno: number; syscall: string } {
  let code = `E${Math.abs(errno)}`;
  let text = 'unknown error';
  try {
    code = getSystemErrorName(-Math.abs(errno));
    text = getSystemErrorMap().get(-Math.abs(errno))?.[1] ?? text;
  } catch {
    // Not an errno node knows; keep the number.
  }
  return Object.assign(new Error(text), { code, errno: -Math.abs(errno), syscall });
}

function netlinkFailure(what: string, cause: Error): VipdError {
  const name = errnoName(cause);
  return new VipdError('ENETLINK', `${what}: ${name ? `${name} (${cause.message})` : cause.message}`, { cause });
}

function linkFamily(msg: NetlinkMessage): number {
  return msg.data.length > 0 ? (msg.data[0] as number) : 0; // ifinfomsg.ifi_family
}

export function parseLink(msg: NetlinkMessage): LinkInfo {
  const { data, attrs } = rt.parseLinkMessage(msg.data);
  const mac = attrs.address && attrs.address.length === 6 ? bytesToMac(attrs.address) : null;
  return {
    index: data.index ?? 0,
    name: attrs.ifname ?? '',
    up: data.flags?.up === true,
    running: data.flags?.running === true,
    mac,
    mtu: attrs.mtu,
  };
}

export function parseAddress(msg: NetlinkMessage): AddressInfo | undefined {
  const { data, attrs } = rt.parseAddressMessage(msg.data);
  const family = data.family === AF_INET ? 4 : data.family === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const local = bytesToAddress(attrs.local);
  const addr = bytesToAddress(attrs.address);
  const address = local ?? addr;
  if (address === undefined) return undefined;
  const flagBits = attrs.flags ?? data.flags ?? {};
  const broadcast = bytesToAddress(attrs.broadcast);
  return {
    index: data.index ?? 0,
    family,
    address,
    prefixLength: data.prefixlen ?? 0,
    ...(local !== undefined && addr !== undefined && addr !== local ? { peer: addr } : {}),
    ...(attrs.label !== undefined ? { label: attrs.label } : {}),
    ...(broadcast !== undefined ? { broadcast } : {}),
    scope: data.scope ?? 0,
    flags: FLAG_NAMES.filter(([k]) => flagBits[k] === true).map(([, name]) => name),
  };
}

/** A request/response rtnetlink socket. */
/**
 * The IPv4 advert source of a link's address list, skipping `exclude` (our VIPs): the first
 * primary address, else the first secondary (a VIP promoted to primary leaves the real
 * address marked secondary).
 */
export function pickPrimaryIpv4(addrs: readonly AddressInfo[], exclude: readonly string[] = []): string | undefined {
  const v4 = addrs.filter((a) => a.family === 4 && !exclude.includes(a.address));
  return (v4.find((a) => !a.flags.includes('secondary')) ?? v4[0])?.address;
}

/** The link-local IPv6 address of a link's address list, one that finished DAD first. */
export function pickIpv6LinkLocal(addrs: readonly AddressInfo[]): string | undefined {
  const ll = addrs.filter((a) => a.family === 6 && a.address.startsWith('fe80:'));
  const usable = ll.find((a) => !a.flags.includes('tentative') && !a.flags.includes('dadfailed'));
  return (usable ?? ll[0])?.address;
}

export class NetlinkClient {
  #sock: NetlinkSocket;
  #timeoutMs: number;
  #closed = false;
  #pending = new Set<(err: VipdError) => void>();
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: NetlinkOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      // Unreferenced while idle: an open client alone does not keep the process alive.
      this.#sock = createNetlink(Protocol.ROUTE, { ref: false } as Parameters<typeof createNetlink>[1]);
    } catch (err) {
      throw netlinkFailure('open rtnetlink socket', err as Error);
    }
    this.#sock.on('error', () => {
      // Request failures reach their callers; stray socket errors carry nothing to act on.
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * One request at a time: the kernel refuses a second dump on a socket while one is
   * running, and the package keeps a single multipart buffer per socket.
   */
  #request(what: string, type: number, flags: number, data: Uint8Array[]): Promise<NetlinkMessage[]> {
    const run = this.#queue.then(() => this.#send(what, type, flags, data));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves with the reply messages (dump parts, or [] for an ACK). */
  async #send(what: string, type: number, flags: number, data: Uint8Array[]): Promise<NetlinkMessage[]> {
    if (this.#closed) throw new VipdError('ENETLINK', `${what}: the netlink client is closed`);
    return new Promise<NetlinkMessage[]>((resolve, reject) => {
      const fail = (err: VipdError): void => {
        this.#pending.delete(fail);
        reject(err);
      };
      this.#pending.add(fail);
      this.#sock.request(type, data, { flags, timeout: this.#timeoutMs, checkError: false }).then(
        ([msgs]) => {
          if (!this.#pending.delete(fail)) return; // closed meanwhile
          for (const m of msgs) {
            if (m.type !== NlMessageType.ERROR) continue;
            const { errno } = parseError(m.data, m.flags);
            if (errno !== 0) {
              reject(netlinkFailure(what, errnoError(errno, 'rtnetlink')));
              return;
            }
          }
          resolve(msgs.filter((m) => m.type !== NlMessageType.ERROR));
        },
        (err: Error) => {
          if (!this.#pending.delete(fail)) return;
          const cause = /timeout/i.test(err.message)
            ? Object.assign(new Error(`no answer from the kernel in ${this.#timeoutMs} ms`), { code: 'ETIMEDOUT' })
            : err;
          reject(netlinkFailure(what, cause));
        },
      );
    });
  }

  async listLinks(): Promise<LinkInfo[]> {
    const out = new AttrStream();
    rt.formatLinkMessage({ kind: 'link', data: {}, attrs: {} }, out);
    const msgs = await this.#request('list links', rt.MessageType.GETLINK, FlagsGet.DUMP, out.bufs);
    return msgs.filter((m) => m.type === rt.MessageType.NEWLINK && linkFamily(m) === 0).map(parseLink);
  }

  /** The link with this name or index, or undefined. */
  async getLink(nameOrIndex: string | number): Promise<LinkInfo | undefined> {
    const links = await this.listLinks();
    return links.find((l) => (typeof nameOrIndex === 'number' ? l.index === nameOrIndex : l.name === nameOrIndex));
  }

  /** Addresses in the kernel's order (primary before its secondaries), optionally of one link and family. */
  async listAddresses(filter: { index?: number; family?: 4 | 6 } = {}): Promise<AddressInfo[]> {
    const out = new AttrStream();
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : 0;
    rt.formatAddressMessage({ kind: 'address', data: { family }, attrs: {} }, out);
    const msgs = await this.#request('list addresses', rt.MessageType.GETADDR, FlagsGet.DUMP, out.bufs);
    const all: AddressInfo[] = [];
    for (const m of msgs) {
      if (m.type !== rt.MessageType.NEWADDR) continue;
      const a = parseAddress(m);
      if (!a) continue;
      if (filter.index !== undefined && a.index !== filter.index) continue;
      if (filter.family !== undefined && a.family !== filter.family) continue;
      all.push(a);
    }
    return all;
  }

  /**
   * The interface's primary IPv4 address, keepalived's default advert source: the first
   * non-secondary IPv4 address. `exclude` lists addresses not to pick (our own VIPs).
   * When the only primary is excluded — with promote_secondaries, removing the host's
   * address promotes the first secondary, often a VIP — the first other address serves.
   */
  async primaryIpv4(index: number, exclude: readonly string[] = []): Promise<string | undefined> {
    return pickPrimaryIpv4(await this.listAddresses({ index, family: 4 }), exclude);
  }

  /** The interface's IPv6 link-local address (RFC 5798 §5.1.2.1: the advert source), usable ones first. */
  async ipv6LinkLocal(index: number): Promise<string | undefined> {
    return pickIpv6LinkLocal(await this.listAddresses({ index, family: 6 }));
  }

  /** Adds an address. Resolves 'exists' when the kernel already has it (EEXIST). */
  async addAddress(spec: AddressSpec): Promise<'added' | 'exists'> {
    const family = familyOf(spec.address);
    const what = `add ${spec.address}/${spec.prefixLength} to link ${spec.index}`;
    const scope = spec.scope === undefined ? 0 : typeof spec.scope === 'number' ? spec.scope : SCOPES[spec.scope];
    const low: rt.AddressFlags = {};
    const all: rt.AddressFlags = {};
    if (spec.noDad) low.nodad = all.nodad = true;
    if (spec.homeAddress) low.homeaddress = all.homeaddress = true;
    if (spec.noPrefixRoute) all.noprefixroute = true; // needs IFA_FLAGS: it does not fit the u8 field
    const attrs: rt.AddressAttrs = {
      local: addressBytes(spec.address),
      address: addressBytes(spec.peer ?? spec.address),
      flags: all,
    };
    if (spec.label !== undefined && family === 4) attrs.label = spec.label;
    if (spec.broadcast !== undefined) attrs.broadcast = addressBytes(spec.broadcast);
    const data: rt.Address = {
      family: family === 4 ? AF_INET : AF_INET6,
      prefixlen: spec.prefixLength,
      flags: low,
      scope,
      index: spec.index,
    };
    const out = new AttrStream();
    rt.formatAddressMessage({ kind: 'address', data, attrs }, out);
    try {
      await this.#request(what, rt.MessageType.NEWADDR, FlagsNew.CREATE | FlagsNew.EXCL, out.bufs);
      return 'added';
    } catch (err) {
      if (errnoName(err) === 'EEXIST') return 'exists';
      throw err;
    }
  }

  /** Removes an address. Resolves 'absent' when the kernel has no such address (EADDRNOTAVAIL). */
  async deleteAddress(key: AddressKey): Promise<'removed' | 'absent'> {
    const family = familyOf(key.address);
    const what = `delete ${key.address}/${key.prefixLength} from link ${key.index}`;
    const out = new AttrStream();
    rt.formatAddressMessage(
      {
        kind: 'address',
        data: { family: family === 4 ? AF_INET : AF_INET6, prefixlen: key.prefixLength, index: key.index },
        attrs: { local: addressBytes(key.address), address: addressBytes(key.peer ?? key.address) },
      },
      out,
    );
    try {
      await this.#request(what, rt.MessageType.DELADDR, 0, out.bufs);
      return 'removed';
    } catch (err) {
      if (errnoName(err) === 'EADDRNOTAVAIL') return 'absent';
      throw err;
    }
  }

  /** Safe to call twice; requests still waiting are rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const fail of pending) fail(new VipdError('ENETLINK', 'the netlink client was closed before the kernel answered'));
    try {
      this.#sock.close();
    } catch {
      // Already closed by the package after an error.
    }
  }
}

export function openNetlink(opts: NetlinkOptions = {}): NetlinkClient {
  return new NetlinkClient(opts);
}

// ---- monitor -----------------------------------------------------------------

export interface LinkEvent extends LinkInfo {
  readonly type: 'link';
  /** The link is gone (RTM_DELLINK). */
  readonly deleted: boolean;
  /** Set when the link kept its index but changed its name. */
  readonly renamedFrom?: string;
}

export interface AddressEvent extends AddressInfo {
  readonly type: 'address';
  readonly change: 'added' | 'removed';
}

export type NetEvent = LinkEvent | AddressEvent;

export interface MonitorOptions extends NetlinkOptions {
  readonly onEvent: (event: NetEvent) => void;
  /** Socket trouble, including lost news (after which the monitor resynchronises by itself). */
  readonly onError: (err: VipdError) => void;
}

export interface NetMonitor {
  /** The state as last reported (links by index). */
  links(): ReadonlyMap<number, LinkInfo>;
  close(): void;
}

const addressKey = (a: AddressInfo): string => `${a.index}/${a.address}/${a.prefixLength}`;

function sameLink(a: LinkInfo, b: LinkInfo): boolean {
  return a.name === b.name && a.up === b.up && a.running === b.running && a.mac === b.mac;
}

class Monitor implements NetMonitor {
  #opts: MonitorOptions;
  #client: NetlinkClient;
  #sock: NetlinkSocket;
  #links = new Map<number, LinkInfo>();
  #addrs = new Map<string, AddressInfo>();
  #closed = false;
  /** News received while a (re)synchronisation is reading the kernel's tables. */
  #buffered: NetlinkMessage[] | null = [];
  #syncing = false;
  #syncAgain = false;

  constructor(opts: MonitorOptions) {
    this.#opts = opts;
    this.#client = new NetlinkClient(opts);
    try {
      this.#sock = createNetlink(Protocol.ROUTE, { ref: true } as Parameters<typeof createNetlink>[1]);
      for (const g of [rt.MulticastGroups.LINK, rt.MulticastGroups.IPV4_IFADDR, rt.MulticastGroups.IPV6_IFADDR]) {
        this.#sock.addMembership(g);
      }
    } catch (err) {
      this.#client.close();
      throw netlinkFailure('subscribe to rtnetlink link and address news', err as Error);
    }
    this.#sock.on('message', (msgs) => {
      if (this.#closed) return;
      if (this.#buffered) this.#buffered.push(...msgs);
      else for (const m of msgs) this.#handle(m);
    });
    this.#sock.on('error', (err) => {
      if (this.#closed) return;
      this.#report(netlinkFailure('rtnetlink monitor', err));
      if (errnoName(err) === 'ENOBUFS') this.#resync();
    });
  }

  #resync(): void {
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    void this.#sync(true).finally(() => {
      this.#syncing = false;
      if (this.#syncAgain && !this.#closed) {
        this.#syncAgain = false;
        this.#resync();
      }
    });
  }

  /** Reads links and addresses; with `emit`, reports what changed since the last known state. */
  async #sync(emit: boolean): Promise<void> {
    if (this.#closed) return;
    if (!this.#buffered) this.#buffered = [];
    try {
      const [links, addrs] = await Promise.all([this.#client.listLinks(), this.#client.listAddresses()]);
      if (this.#closed) return;
      const seenLinks = new Set<number>();
      for (const l of links) {
        seenLinks.add(l.index);
        if (emit) this.#applyLink(l, false);
        else this.#links.set(l.index, l);
      }
      for (const [index, l] of [...this.#links]) {
        if (!seenLinks.has(index)) this.#applyLink(l, true);
      }
      const seenAddrs = new Set<string>();
      for (const a of addrs) {
        seenAddrs.add(addressKey(a));
        if (emit) this.#applyAddress(a, 'added');
        else this.#addrs.set(addressKey(a), a);
      }
      for (const [key, a] of [...this.#addrs]) {
        if (!seenAddrs.has(key)) this.#applyAddress(a, 'removed');
      }
    } catch (err) {
      if (!emit) throw err;
      this.#report(err as VipdError);
    } finally {
      const buffered = this.#buffered ?? [];
      this.#buffered = null;
      if (!this.#closed) for (const m of buffered) this.#handle(m);
    }
  }

  async start(): Promise<this> {
    try {
      await this.#sync(false);
    } catch (err) {
      this.close();
      throw err;
    }
    return this;
  }

  #handle(m: NetlinkMessage): void {
    try {
      switch (m.type) {
        case rt.MessageType.NEWLINK:
        case rt.MessageType.DELLINK:
          // AF_BRIDGE (and other per-family) link messages describe a port's role, not the
          // device: an RTM_DELLINK with family AF_BRIDGE means "left the bridge", not "gone".
          if (linkFamily(m) !== 0) break;
          this.#applyLink(parseLink(m), m.type === rt.MessageType.DELLINK);
          break;
        case rt.MessageType.NEWADDR:
        case rt.MessageType.DELADDR: {
          const a = parseAddress(m);
          if (a) this.#applyAddress(a, m.type === rt.MessageType.NEWADDR ? 'added' : 'removed');
          break;
        }
        default:
          break;
      }
    } catch (err) {
      this.#report(new VipdError('ENETLINK', `unreadable rtnetlink message (type ${m.type})`, { cause: err }));
    }
  }

  #applyLink(link: LinkInfo, deleted: boolean): void {
    const prev = this.#links.get(link.index);
    if (deleted) {
      this.#links.delete(link.index);
      for (const [key, a] of this.#addrs) if (a.index === link.index) this.#addrs.delete(key);
      this.#emit({ type: 'link', ...(prev ?? link), deleted: true });
      return;
    }
    this.#links.set(link.index, link);
    if (prev && sameLink(prev, link)) return;
    const renamedFrom = prev && prev.name !== link.name ? { renamedFrom: prev.name } : {};
    this.#emit({ type: 'link', ...link, deleted: false, ...renamedFrom });
  }

  #applyAddress(a: AddressInfo, change: 'added' | 'removed'): void {
    const key = addressKey(a);
    if (change === 'added') {
      const known = this.#addrs.has(key);
      this.#addrs.set(key, a);
      if (known) return;
    } else {
      this.#addrs.delete(key);
    }
    this.#emit({ type: 'address', change, ...a });
  }

  #emit(event: NetEvent): void {
    try {
      this.#opts.onEvent(event);
    } catch (err) {
      this.#report(new VipdError('ENETLINK', `onEvent handler threw: ${String(err)}`, { cause: err }));
    }
  }

  #report(err: VipdError): void {
    try {
      this.#opts.onError(err);
    } catch {
      // The error sink failed too; nothing more to do.
    }
  }

  links(): ReadonlyMap<number, LinkInfo> {
    return this.#links;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffered = null;
    this.#client.close();
    try {
      this.#sock.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Subscribes to link and address news. Resolves once the current state is known, so
 * the first events are real changes.
 */
export function openNetMonitor(opts: MonitorOptions): Promise<NetMonitor> {
  return new Monitor(opts).start();
}
