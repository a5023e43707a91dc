/**
 * What an instance does after the kernel refused its VIPs: it stays in FAULT, so it never
 * claims MASTER for addresses it cannot hold, and tries again later.
 *
 * Trying again means leaving FAULT; with preemption that takes the VIPs away from a backup
 * that serves them fine, only to find out the cause is still there. So while another router
 * is heard advertising our VRID, a try is made only when the kernel brings news about an
 * interface the VIPs live on (the cause may be gone: an address or the link came back), or
 * after a long quiet time. With nobody serving the VIPs, trying costs nothing: a doubling
 * back-off then paces the tries.
 */
import { realTimers, type Timers } from '../track/timers.js';

export const MIN_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 60_000;
/** With another router serving the VIPs and no news from the kernel: one try this often at most. */
export const QUIET_RETRY_MS = 10 * 60_000;
/** Kernel news comes in bursts: let one end before trying. */
export const NEWS_SETTLE_MS = 500;

export interface RefusalRetryOptions {
  /** Leave FAULT and try again: the daemon refreshes the instance's faults. */
  readonly onRetry: () => void;
  /** For how long an advert from another router means it still serves the VIPs. */
  readonly masterDownMs: () => number;
  readonly timers?: Timers;
}

export class RefusalRetry {
  readonly #o: RefusalRetryOptions;
  readonly #timers: Timers;
  #fault: string | null = null;
  #backoffMs = 0;
  #lastTry = Number.NEGATIVE_INFINITY;
  #peerAt = Number.NEGATIVE_INFINITY;
  #news = false;
  #devs: ReadonlySet<string> = new Set();
  #timer: unknown = undefined;
  #closed = false;

  constructor(opts: RefusalRetryOptions) {
    this.#o = opts;
    this.#timers = opts.timers ?? realTimers;
  }

  /** The fault reason while the instance must stay out of MASTER, else null. */
  get fault(): string | null {
    return this.#fault;
  }

  /** Another router advertised our VRID (it holds the VIPs, or will). */
  heardMaster(): void {
    this.#peerAt = this.#timers.now();
  }

  /** The kernel refused some VIPs (`problems`, one per VIP) that live on `devs`. */
  refused(problems: readonly string[], devs: readonly string[]): void {
    const now = this.#timers.now();
    // Refused again soon after the last try: wait longer. A long quiet spell starts over.
    const recent = this.#backoffMs > 0 && now - this.#lastTry < 2 * this.#backoffMs + MAX_BACKOFF_MS;
    this.#backoffMs = recent ? Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2) : MIN_BACKOFF_MS;
    this.#lastTry = now;
    this.#news = false;
    this.#devs = new Set(devs);
    // A backup needs up to its Master_Down_Interval to take over: only then can we tell
    // whether someone serves the VIPs.
    const delay = Math.max(this.#backoffMs, this.#o.masterDownMs());
    const where = [...this.#devs].join(', ');
    this.#fault =
      `cannot hold VIPs (${problems.join('; ')}); trying again in ${Math.round(delay / 100) / 10} s, ` +
      `but while another router holds them only once ${where} changes`;
    this.#arm(delay);
  }

  /** Kernel news that may remove the cause: an address added on `ifname`, or the link there (again). */
  news(ifname: string): void {
    if (this.#fault === null || !this.#devs.has(ifname)) return;
    this.#news = true;
    this.#arm(Math.max(NEWS_SETTLE_MS, this.#lastTry + this.#backoffMs - this.#timers.now()));
  }

  #arm(ms: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => this.#due(), ms);
  }

  #due(): void {
    this.#timer = undefined;
    if (this.#fault === null) return;
    const now = this.#timers.now();
    const served = now - this.#peerAt < this.#o.masterDownMs();
    if (served && !this.#news && now - this.#lastTry < QUIET_RETRY_MS) {
      // Look again once the other router could have gone quiet.
      this.#arm(Math.max(MIN_BACKOFF_MS, this.#o.masterDownMs()));
      return;
    }
    this.#fault = null;
    this.#o.onRetry();
  }

  /** Stops the timer. Safe to call twice. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
