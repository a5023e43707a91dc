/**
 * The contract of the VRRP core: a pure state machine driven by events, with time
 * passed in. `step(state, event, now) → { state, actions }`.
 *
 * `now` is milliseconds on a monotonic clock (the shell uses performance.now() or
 * process.hrtime); the core never reads a clock. Every deadline in an action is on
 * that same clock.
 */

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** Timers an instance can have pending, each with its own generation counter. */
export type TimerKind =
  | 'advert' // MASTER: time to send the next advertisement
  | 'masterDown' // BACKUP: the master is presumed dead when this fires
  | 'preempt' // BACKUP: preempt_delay is over, we may take over from a lower master
  | 'garp'; // MASTER: the next gratuitous ARP burst (garp_master_delay / refresh)

/** Static parameters of one instance; the shell builds them from the config model. */
export interface InstanceParams {
  readonly name: string;
  readonly vrid: number; // 1..255
  readonly version: 2 | 3;
  readonly family: 4 | 6;
  /** Configured priority, 1..255; 255 means we own the addresses. */
  readonly basePriority: number;
  /** Configured advert_int in centiseconds (v2: a multiple of 100). */
  readonly advertIntervalCs: number;
  /** The `state` keyword: keepalived's initial wish, not a guarantee. */
  readonly initialState: 'MASTER' | 'BACKUP';
  /** false with `nopreempt`. */
  readonly preempt: boolean;
  /** preempt_delay in ms (0 = none). */
  readonly preemptDelayMs: number;
  /**
   * Our primary address on the instance's interface (the advert's source), used to
   * break ties between equal priorities (RFC 3768 §6.4.3, RFC 5798 §6.4.3).
   */
  readonly primaryAddress: string;
  /** keepalived's vrrp_down_timer_adverts (default 3). */
  readonly downTimerAdverts: number;
  /** keepalived's lower_prio_no_advert: as MASTER, do not answer a lower advert with ours. */
  readonly lowerPrioNoAdvert: boolean;
  /** keepalived's higher_prio_send_advert: as MASTER, send one advert before yielding. */
  readonly higherPrioSendAdvert: boolean;
  /** Gratuitous ARP / unsolicited NA pattern on becoming MASTER (keepalived names). */
  readonly garp: GarpParams;
}

export interface GarpParams {
  /** garp_master_delay: seconds after the first burst until the second one (0 = no second burst). */
  readonly masterDelayMs: number;
  /** garp_master_repeat: packets per VIP in each burst. */
  readonly masterRepeat: number;
  /** garp_master_refresh: re-announce periodically while MASTER (0 = off). */
  readonly masterRefreshMs: number;
  /** garp_master_refresh_repeat: packets per VIP in each refresh. */
  readonly masterRefreshRepeat: number;
}

/** What the shell learned from a received, already validated advertisement. */
export interface ReceivedAdvert {
  /** Source address of the IP packet (the sender's primary address). */
  readonly from: string;
  readonly priority: number; // 0..255
  /** Max advert interval the sender announced, in centiseconds. */
  readonly intervalCs: number;
}

export type VrrpEvent =
  | { readonly type: 'startup' }
  | { readonly type: 'shutdown' }
  | { readonly type: 'advert'; readonly advert: ReceivedAdvert }
  | { readonly type: 'timer'; readonly timer: TimerKind; readonly generation: number }
  /** Effective priority changed (trackers). The value is already clamped by priority.ts. */
  | { readonly type: 'priority'; readonly priority: number; readonly reason: string }
  /** A fault appeared (interface down, weight-0 tracker failed) or cleared. */
  | { readonly type: 'fault'; readonly fault: boolean; readonly reason: string }
  /** Another member of our vrrp_sync_group changed state; follow it. */
  | { readonly type: 'syncGroup'; readonly to: 'MASTER' | 'BACKUP' | 'FAULT'; readonly reason: string };

export type VrrpAction =
  | { readonly type: 'sendAdvert'; readonly priority: number }
  | { readonly type: 'addVips' }
  | { readonly type: 'removeVips' }
  /** One burst: `repeat` gratuitous ARPs / unsolicited NAs per VIP. */
  | { readonly type: 'sendGarp'; readonly repeat: number }
  | { readonly type: 'setTimer'; readonly timer: TimerKind; readonly at: number; readonly generation: number }
  | { readonly type: 'cancelTimer'; readonly timer: TimerKind }
  | {
      readonly type: 'transition';
      readonly from: VrrpState;
      readonly to: VrrpState;
      readonly reason: string;
    }
  /** Run notify scripts / write the FIFO. STOP is emitted on shutdown. */
  | { readonly type: 'notify'; readonly state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'; readonly priority: number };
