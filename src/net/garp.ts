/**
 * Gratuitous ARP and unsolicited Neighbour Advertisement bursts, sent as whole
 * Ethernet frames on an AF_PACKET socket (the addon), as keepalived does.
 *
 * One burst = `repeat` rounds; each round announces every address once (keepalived's
 * order: rounds outside, addresses inside). ARPs are spaced by vrrp_garp_interval and
 * NAs by vrrp_gna_interval, each on its own clock as in keepalived; with an interval
 * of 0 (keepalived's default) packets go out back to back, yielding to the event loop
 * every few dozen so a long VIP list never stalls it. A burst can be cancelled
 * (leaving MASTER) through its AbortSignal or by closing the sender.
 *
 * The *when* (on becoming MASTER, the second burst after garp_master_delay, refreshes)
 * is the state machine's; this module only sends.
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { VipdError } from '../errors.js';
import { buildGratuitousArp, toMacBytes } from '../protocol/arp.js';
import { buildUnsolicitedNa } from '../protocol/ndisc.js';
import { errnoName, loadNative, systemError, type NativeAddon } from './native.js';

const YIELD_EVERY = 32;

export interface GarpBurst {
  readonly ifindex: number;
  /** For messages only. */
  readonly ifname: string;
  /** The interface's MAC: Ethernet source, ARP sender / NA target link-layer address. */
  readonly mac: string | Uint8Array;
  readonly ipv4?: readonly string[];
  readonly ipv6?: readonly string[];
  /** Packets per address: garp_master_repeat (keepalived default 5). */
  readonly repeat: number;
  /** vrrp_garp_interval / garp_interval in ms between two ARPs on the interface; default 0. */
  readonly garpIntervalMs?: number;
  /** vrrp_gna_interval / gna_interval in ms between two NAs on the interface; default 0. */
  readonly gnaIntervalMs?: number;
  /** Set the NA Router flag (keepalived does when the interface forwards IPv6). */
  readonly router?: boolean;
  readonly signal?: AbortSignal;
}

export interface BurstResult {
  readonly sent: number;
  readonly failed: number;
  /** The burst stopped early because it was cancelled or the sender closed. */
  readonly cancelled: boolean;
  /** One error per distinct failure reason (errno), in the order first seen. */
  readonly errors: readonly VipdError[];
}

export class GarpSender {
  #native: NativeAddon;
  #fd: number;
  #closing = new AbortController();

  constructor() {
    this.#native = loadNative();
    try {
      this.#fd = this.#native.packetOpen();
    } catch (err) {
      throw systemError('ESOCKET', 'open AF_PACKET socket for gratuitous ARP', err);
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Sends one burst. Resolves when it is done or cancelled; rejects only for invalid
   * input (bad MAC or address). Per-packet send failures are counted, not thrown.
   */
  async burst(b: GarpBurst): Promise<BurstResult> {
    if (this.closed) throw new VipdError('ESOCKET', `gratuitous ARP sender is closed (${b.ifname})`);
    const mac = toMacBytes(b.mac);
    const arps = (b.ipv4 ?? []).map((ip) => buildGratuitousArp(mac, ip));
    const nas = (b.ipv6 ?? []).map((ip) => buildUnsolicitedNa({ mac, target: ip, router: b.router ?? false }));
    const signal = b.signal ? AbortSignal.any([b.signal, this.#closing.signal]) : this.#closing.signal;
    const state = { sent: 0, failed: 0, errors: new Map<string, VipdError>() };

    const run = async (frames: Buffer[], intervalMs: number, kind: string): Promise<boolean> => {
      let sinceYield = 0;
      let first = true;
      for (let round = 0; round < b.repeat; round++) {
        for (const frame of frames) {
          if (!first) {
            if (intervalMs > 0) await sleep(intervalMs, undefined, { signal });
            else if (++sinceYield >= YIELD_EVERY) {
              sinceYield = 0;
              await yieldToLoop(undefined, { signal });
            }
          }
          first = false;
          if (signal.aborted || this.closed) return false;
          this.#sendFrame(b, frame, kind, state);
        }
      }
      return true;
    };

    let complete: boolean;
    try {
      const done = await Promise.all([run(arps, b.garpIntervalMs ?? 0, 'gratuitous ARP'), run(nas, b.gnaIntervalMs ?? 0, 'unsolicited NA')]);
      complete = done.every(Boolean);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
      complete = false;
    }
    return { sent: state.sent, failed: state.failed, cancelled: !complete, errors: [...state.errors.values()] };
  }

  #sendFrame(
    b: GarpBurst,
    frame: Buffer,
    kind: string,
    state: { sent: number; failed: number; errors: Map<string, VipdError> },
  ): void {
    try {
      this.#native.packetSend(this.#fd, b.ifindex, frame);
      state.sent++;
    } catch (err) {
      state.failed++;
      const key = `${kind}/${errnoName(err) ?? String(err)}`;
      if (!state.errors.has(key)) state.errors.set(key, systemError('ESOCKET', `send ${kind} on ${b.ifname}`, err));
    }
  }

  /** Cancels bursts in progress and closes the socket. Safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    this.#closing.abort();
    const fd = this.#fd;
    this.#fd = -1;
    this.#native.fdClose(fd);
  }
}

export function openGarpSender(): GarpSender {
  return new GarpSender();
}
