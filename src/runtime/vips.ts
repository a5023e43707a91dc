/**
 * VIP bookkeeping between the instances and the kernel. For each owner (an instance)
 * it remembers whether its VIPs should be on the host ("held") and makes the kernel
 * agree: adds and removes through rtnetlink, and puts back a VIP someone else deleted
 * while held. A refused add is reported to `onRefused` with the kernel's reason; what
 * to do about it (not claiming MASTER, trying again later) is the daemon's policy.
 *
 * Requests for one owner run one after the other, so an add followed by a remove can
 * never land in the kernel in the opposite order.
 */
import type { Logger } from 'pino';
import type { Vip } from '../config/model.js';
import { isVipdError } from '../errors.js';
import type { AddressSpec, NetlinkClient } from '../net/netlink.js';
import { errnoName } from '../net/native.js';
import { canonicalAddress } from '../protocol/index.js';
import { vipText } from './params.js';

export interface OwnedVips {
  /** Instance name. */
  readonly owner: string;
  /** virtual_ipaddress and virtual_ipaddress_excluded. */
  readonly vips: readonly Vip[];
  /** The instance's interface, for VIPs without `dev`. */
  readonly ifname: string;
}

export interface VipManagerOptions {
  readonly netlink: NetlinkClient;
  readonly log: Logger;
  /** Interface name → index, from the link monitor (undefined: not present now). */
  readonly ifindex: (ifname: string) => number | undefined;
  /** Some VIPs of a held owner could not be added: one line per VIP, with the reason. */
  readonly onRefused?: (owner: string, problems: readonly string[]) => void;
}

interface Entry {
  spec: OwnedVips;
  held: boolean;
  chain: Promise<void>;
}

const FAMILY_SCOPES = new Set(['global', 'site', 'link', 'host', 'nowhere']);

export class VipManager {
  readonly #o: VipManagerOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(opts: VipManagerOptions) {
    this.#o = opts;
  }

  #entry(spec: OwnedVips): Entry {
    let e = this.#entries.get(spec.owner);
    if (e === undefined) {
      e = { spec, held: false, chain: Promise.resolve() };
      this.#entries.set(spec.owner, e);
    } else {
      e.spec = spec;
    }
    return e;
  }

  #enqueue(e: Entry, job: () => Promise<void>): Promise<void> {
    e.chain = e.chain.then(job).catch((err: unknown) => {
      this.#o.log.error({ err }, `VIP bookkeeping failed for ${e.spec.owner}`);
    });
    return e.chain;
  }

  #spec(v: Vip, index: number): AddressSpec {
    return {
      index,
      address: v.address,
      prefixLength: v.prefixLength,
      ...(v.label !== undefined ? { label: v.label } : {}),
      ...(v.brd !== undefined ? { broadcast: v.brd } : {}),
      ...(v.scope !== undefined
        ? { scope: FAMILY_SCOPES.has(v.scope) ? (v.scope as AddressSpec['scope'] & string) : Number(v.scope) }
        : {}),
      ...(v.peer !== undefined ? { peer: v.peer.split('/')[0] as string } : {}),
      noPrefixRoute: v.noprefixroute,
      noDad: v.nodad,
      homeAddress: v.home,
    };
  }

  #devOf(e: Entry, v: Vip): string {
    return v.dev ?? e.spec.ifname;
  }

  /** Puts the owner's VIPs on the host (and keeps them there until release). */
  hold(spec: OwnedVips): Promise<void> {
    const e = this.#entry(spec);
    e.held = true;
    return this.#enqueue(e, () => this.#addAll(e));
  }

  async #addAll(e: Entry): Promise<void> {
    if (!e.held || this.#closed) return;
    const log = this.#o.log.child({ instance: e.spec.owner });
    const problems: string[] = [];
    for (const v of e.spec.vips) {
      const dev = this.#devOf(e, v);
      const index = this.#o.ifindex(dev);
      if (index === undefined) {
        problems.push(`${vipText(v)}: interface ${dev} not present`);
        continue;
      }
      try {
        const r = await this.#o.netlink.addAddress(this.#spec(v, index));
        if (r === 'added') log.debug({ vip: vipText(v), dev }, 'VIP added');
      } catch (err) {
        problems.push(`${vipText(v)} on ${dev}: ${errText(err)}`);
      }
      if (!e.held) return; // released meanwhile: the release job removes what we added
    }
    if (problems.length > 0 && e.held && !this.#closed) {
      log.error({ problems }, `(${e.spec.owner}) cannot hold its VIPs: ${problems.join('; ')}`);
      this.#o.onRefused?.(e.spec.owner, problems);
    }
  }

  /** Takes the owner's VIPs off the host. */
  release(spec: OwnedVips): Promise<void> {
    const e = this.#entry(spec);
    e.held = false;
    return this.#enqueue(e, () => this.#removeAll(e.spec, false));
  }

  /**
   * Removes the owner's VIPs if they are on the host, whatever we believe: used at
   * start-up for VIPs left behind by a crash (keepalived does the same).
   */
  purge(spec: OwnedVips): Promise<void> {
    const e = this.#entry(spec);
    return this.#enqueue(e, () => this.#removeAll(spec, true));
  }

  async #removeAll(spec: OwnedVips, stale: boolean): Promise<void> {
    const log = this.#o.log.child({ instance: spec.owner });
    for (const v of spec.vips) {
      const dev = v.dev ?? spec.ifname;
      const index = this.#o.ifindex(dev);
      if (index === undefined) continue; // interface gone: so is the address
      try {
        const r = await this.#o.netlink.deleteAddress({
          index,
          address: v.address,
          prefixLength: v.prefixLength,
          ...(v.peer !== undefined ? { peer: v.peer.split('/')[0] as string } : {}),
        });
        if (r === 'removed') {
          if (stale) log.warn({ vip: vipText(v), dev }, `(${spec.owner}) removed stale VIP ${vipText(v)} from ${dev} (left by an earlier run)`);
          else log.debug({ vip: vipText(v), dev }, 'VIP removed');
        }
      } catch (err) {
        // The interface went away between the lookup and the request: so did the address.
        if (errnoName(err) === 'ENODEV') continue;
        log.error({ vip: vipText(v), dev, err: errText(err) }, `(${spec.owner}) kernel refused to remove ${vipText(v)} from ${dev}: ${errText(err)}`);
      }
    }
  }

  /**
   * Kernel news: an address went away. If it is a VIP we hold, someone else removed it:
   * put it back. Returns the owner when that happened.
   */
  addressRemoved(index: number, address: string, prefixLength: number): string | undefined {
    // The kernel reports the canonical text; the config keeps what the user wrote ("FD00:0:0::1").
    const removed = canonicalAddress(address) ?? address;
    for (const e of this.#entries.values()) {
      if (!e.held) continue;
      const hit = e.spec.vips.find(
        (v) =>
          (canonicalAddress(v.address) ?? v.address) === removed &&
          v.prefixLength === prefixLength &&
          this.#o.ifindex(this.#devOf(e, v)) === index,
      );
      if (hit === undefined) continue;
      this.#o.log.warn(
        { instance: e.spec.owner, vip: vipText(hit) },
        `(${e.spec.owner}) VIP ${vipText(hit)} was removed by someone else while MASTER; putting it back`,
      );
      void this.#enqueue(e, () => this.#addAll(e));
      return e.spec.owner;
    }
    return undefined;
  }

  /** Forgets an owner (after its VIPs were released). */
  forget(owner: string): void {
    this.#entries.delete(owner);
  }

  /** Waits for every queued kernel request. */
  async settle(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.chain));
  }

  close(): void {
    this.#closed = true;
  }
}

function errText(err: unknown): string {
  if (isVipdError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}
