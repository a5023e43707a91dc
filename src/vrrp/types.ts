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
  | 'preempt' // unused: keepalived only compares preempt_time when an advert arrives, so the core keeps a deadline (InstanceState.preemptAt) and never arms this timer
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
  /** Source address of the IP packet (the sender's primary address), IPv4 dotted or IPv6 text. */
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
  /**
   * The aggregate fault state (priority.ts `fault`) changed: `fault: true` means the instance
   * is faulty now (interface down, weight-0 tracker failed), `fault: false` that no fault is
   * left. `reasons` (optional) lists every current reason; without it, `[reason]` is used.
   */
  | {
      readonly type: 'fault';
      readonly fault: boolean;
      readonly reason: string;
      readonly reasons?: readonly string[];
    }
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
  | { readonly type: 'notify'; readonly state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'; readonly priority: number }
  /**
   * A received advert was refused by the state machine (the shell counts it under
   * `stats.dropped[reason]` and logs `detail`). Today only VRRPv2's interval check
   * (RFC 3768 §7.1) and a v3 interval of 0.
   */
  | { readonly type: 'advertDropped'; readonly reason: 'interval'; readonly detail: string };

/** A pending timer: its absolute deadline (ms, the shell's monotonic clock) and generation. */
export interface TimerSlot {
  readonly at: number;
  readonly generation: number;
}

/**
 * The whole state of one instance: plain JSON-able data, never mutated (step returns a new one).
 * Fields not listed in the status JSON contract are internal but stable enough to show in debug output.
 */
export interface InstanceState {
  /** The parameters after keepalived's normalisation (see normalizeParams in instance.ts). */
  readonly params: InstanceParams;
  readonly state: VrrpState;
  /**
   * keepalived's `wantstate`: the state this instance would be in if it were not held back
   * by its vrrp_sync_group. Read by sync-group.ts (vrrp_sync_can_goto_master).
   */
  readonly wantState: 'BACKUP' | 'MASTER' | 'FAULT';
  /** params.basePriority, except 254 after an address-owner conflict (keepalived vrrp.c). */
  readonly basePriority: number;
  /** The priority we advertise and compare with: base ± tracker weights, 1..254, or 255 for the owner. */
  readonly effectivePriority: number;
  /** Our own fault (trackers, interface); a sync group can also hold us in FAULT without it. */
  readonly fault: boolean;
  readonly faultReasons: readonly string[];
  /** RFC 5798 §6.1 Master_Adver_Interval in centiseconds: learned from the master as v3 Backup, else ours. */
  readonly masterAdverIntervalCs: number;
  readonly timers: { readonly [K in TimerKind]: TimerSlot | null };
  /** The last generation handed out per timer; the next setTimer uses +1. */
  readonly generations: { readonly [K in TimerKind]: number };
  /** Whether the VIPs are (supposed to be) configured: addVips seen without a later removeVips. */
  readonly vipsHeld: boolean;
  /** The last master seen on the wire (ourselves while MASTER). */
  readonly lastMaster: { readonly address: string; readonly priority: number } | null;
  /** keepalived's preempt_time: before this instant a lower-priority master is still accepted. */
  readonly preemptAt: number | null;
  /** Pending gratuitous ARP bursts multiplexed onto the single `garp` timer. */
  readonly garp: { readonly delayAt: number | null; readonly refreshAt: number | null };
  /** Why the masterDown timer is armed: becomes the transition reason when it fires. */
  readonly downReason: string;
  readonly lastTransition: {
    readonly from: VrrpState;
    readonly to: VrrpState;
    readonly reason: string;
    readonly at: number;
  } | null;
}

/**
 * What a member of a vrrp_sync_group must know about the others before it steps
 * (keepalived vrrp_sync.c). Built by sync-group.ts; omit it for an instance in no group.
 */
export interface SyncGroupContext {
  /** vrrp_sync_can_goto_master(): every other member wants MASTER (or already is). */
  readonly mayBecomeMaster: boolean;
  /** Another member is faulty on its own account: the whole group stays in FAULT. */
  readonly faultyMember: string | null;
}

export interface StepResult {
  readonly state: InstanceState;
  readonly actions: readonly VrrpAction[];
}
