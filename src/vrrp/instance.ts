/**
 * The VRRP instance state machine: `step(state, event, now) → { state, actions }`.
 *
 * Pure: no clock, no I/O, no timers. `now` is ms on the shell's monotonic clock; every
 * deadline is absolute on it. A timer is "pending" while `state.timers[kind]` is set; the
 * shell arms one real timer per `setTimer` and feeds back `{ type: 'timer', timer,
 * generation }`. Only the current generation of a pending timer does anything, so a late
 * or cancelled timer is harmless, and the timer that fires is consumed (no cancelTimer).
 *
 * RFC 3768 (v2) / RFC 5798 (v3) §6.4 is the skeleton; where the RFCs leave room, this
 * follows keepalived 2.2.7 (keepalived/vrrp/vrrp.c, vrrp_scheduler.c, vrrp_sync.c,
 * vrrp_track.c), because vipd must be a drop-in replacement for it on the same LAN.
 *
 * Order of actions on a state change: `transition` first, then what leaving the old state
 * needs (cancelTimer, priority-0 advert, removeVips), then what entering the new one
 * needs (sendAdvert, addVips, sendGarp, notify), then setTimer.
 */
import { compareAddresses } from './address.js';
import { masterDownIntervalMs, skewTimeMs } from './timing.js';
import type {
  InstanceParams,
  InstanceState,
  ReceivedAdvert,
  StepResult,
  SyncGroupContext,
  TimerKind,
  TimerSlot,
  VrrpAction,
  VrrpEvent,
  VrrpState,
} from './types.js';

export { masterDownIntervalMs, skewTimeMs } from './timing.js';

const OWNER = 255;
const TIMER_KINDS: readonly TimerKind[] = ['advert', 'masterDown', 'garp', 'preempt'];
/** An instance in no sync group: nothing holds it back. */
const NO_GROUP: SyncGroupContext = { mayBecomeMaster: true, faultyMember: null };

/**
 * keepalived's corrections of contradictory options (vrrp.c vrrp_complete_instance), with
 * the warnings it logs. createInstance applies them; the config layer may show the warnings.
 */
export function normalizeParams(params: InstanceParams): { params: InstanceParams; warnings: string[] } {
  const warnings: string[] = [];
  let { preempt, preemptDelayMs } = params;
  if (params.basePriority === OWNER && !preempt) {
    warnings.push(`nopreempt is incompatible with priority ${OWNER}, resetting nopreempt`);
    preempt = true;
  }
  if (params.initialState === 'MASTER') {
    if (!preempt) {
      warnings.push('nopreempt will not work with initial state MASTER, clearing');
      preempt = true;
    }
    if (preemptDelayMs > 0) {
      warnings.push('preempt_delay will not work with initial state MASTER, clearing');
      preemptDelayMs = 0;
    }
  }
  if (preemptDelayMs > 0 && !preempt) {
    warnings.push('preempt_delay is incompatible with nopreempt, resetting');
    preemptDelayMs = 0;
  }
  if (preempt === params.preempt && preemptDelayMs === params.preemptDelayMs) return { params, warnings };
  return { params: { ...params, preempt, preemptDelayMs }, warnings };
}

/** keepalived only goes to MASTER at once for the address owner whose `state` is MASTER. */
function startsAsOwner(params: InstanceParams): boolean {
  return params.basePriority === OWNER && params.initialState === 'MASTER';
}

export function createInstance(params: InstanceParams): InstanceState {
  const normal = normalizeParams(params).params;
  return {
    params: normal,
    state: 'INIT',
    wantState: startsAsOwner(normal) ? 'MASTER' : 'BACKUP',
    basePriority: normal.basePriority,
    effectivePriority: normal.basePriority,
    fault: false,
    faultReasons: [],
    masterAdverIntervalCs: normal.advertIntervalCs,
    timers: { advert: null, masterDown: null, preempt: null, garp: null },
    generations: { advert: 0, masterDown: 0, preempt: 0, garp: 0 },
    vipsHeld: false,
    lastMaster: null,
    preemptAt: null,
    garp: { delayAt: null, refreshAt: null },
    downReason: 'master down timer',
    lastTransition: null,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class Machine {
  readonly s: Mutable<InstanceState>;
  readonly timers: Mutable<InstanceState['timers']>;
  readonly generations: Mutable<InstanceState['generations']>;
  readonly actions: VrrpAction[] = [];
  readonly p: InstanceParams;

  constructor(
    state: InstanceState,
    readonly now: number,
    readonly group: SyncGroupContext,
  ) {
    this.timers = { ...state.timers };
    this.generations = { ...state.generations };
    this.s = { ...state, timers: this.timers, generations: this.generations };
    this.p = state.params;
  }

  // ---- helpers -------------------------------------------------------------------------

  private get intervalMs(): number {
    return this.p.advertIntervalCs * 10;
  }

  private downIntervalMs(): number {
    return masterDownIntervalMs(
      this.s.effectivePriority,
      this.s.masterAdverIntervalCs,
      this.p.version,
      this.p.downTimerAdverts,
    );
  }

  private arm(timer: TimerKind, at: number): void {
    const generation = this.generations[timer] + 1;
    this.generations[timer] = generation;
    this.timers[timer] = { at, generation };
    this.actions.push({ type: 'setTimer', timer, at, generation });
  }

  private cancel(timer: TimerKind): void {
    if (this.timers[timer] === null) return;
    this.timers[timer] = null;
    this.actions.push({ type: 'cancelTimer', timer });
  }

  private transition(to: VrrpState, reason: string): void {
    const from = this.s.state;
    this.actions.push({ type: 'transition', from, to, reason });
    this.s.state = to;
    this.s.lastTransition = { from, to, reason, at: this.now };
  }

  private notify(state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'): void {
    this.actions.push({ type: 'notify', state, priority: this.s.effectivePriority });
  }

  private sendAdvert(priority: number): void {
    this.actions.push({ type: 'sendAdvert', priority });
  }

  private armMasterDown(delayMs: number, reason: string): void {
    this.s.downReason = reason;
    this.arm('masterDown', this.now + delayMs);
  }

  /** The single `garp` timer serves both the delayed second burst and the refresh. */
  private armGarp(): void {
    const { delayAt, refreshAt } = this.s.garp;
    const next = delayAt === null ? refreshAt : refreshAt === null ? delayAt : Math.min(delayAt, refreshAt);
    const pending = this.timers.garp;
    if (next === null) this.cancel('garp');
    else if (pending === null || pending.at !== next) this.arm('garp', next);
  }

  // ---- state changes -------------------------------------------------------------------

  /**
   * Become MASTER (RFC 3768 §6.4.1 / §6.4.2 "Transition to the Master state").
   * keepalived vrrp_state_master_tx/vrrp_state_become_master: the advert goes out first
   * ("the old master needs to remove the VIPs before we send the gratuitous ARPs"), then
   * the VIPs, the first GARP burst, notify; the second burst comes garp_master_delay
   * later, and a refresh every garp_master_refresh.
   */
  private becomeMaster(reason: string): void {
    this.transition('MASTER', reason);
    this.cancel('masterDown');
    this.s.wantState = 'MASTER';
    // RFC 5798 §6.4.2: a new master advertises its own Advertisement_Interval.
    this.s.masterAdverIntervalCs = this.p.advertIntervalCs;
    this.s.preemptAt = null;
    this.sendAdvert(this.s.effectivePriority);
    this.actions.push({ type: 'addVips' });
    this.s.vipsHeld = true;
    const g = this.p.garp;
    if (g.masterRepeat > 0) this.actions.push({ type: 'sendGarp', repeat: g.masterRepeat });
    this.notify('MASTER');
    this.s.lastMaster = { address: this.p.primaryAddress, priority: this.s.effectivePriority };
    this.arm('advert', this.now + this.intervalMs);
    this.s.garp = {
      delayAt: g.masterDelayMs > 0 && g.masterRepeat > 0 ? this.now + g.masterDelayMs : null,
      refreshAt: g.masterRefreshMs > 0 && g.masterRefreshRepeat > 0 ? this.now + g.masterRefreshMs : null,
    };
    this.armGarp();
  }

  /**
   * Leave MASTER: cancel the advert and every GARP timer, optionally tell the others with
   * a priority-0 advert (RFC 3768 §6.4.3 shutdown), and give the VIPs back.
   * keepalived sends priority 0 twice when a master enters FAULT (vrrp_state_leave_master
   * with advF); once is what the RFC asks for and what the peers need.
   */
  private leaveMaster(to: 'BACKUP' | 'FAULT' | 'INIT', reason: string, priorityZero: boolean): void {
    this.transition(to, reason);
    this.cancel('advert');
    this.cancel('garp');
    this.s.garp = { delayAt: null, refreshAt: null };
    if (priorityZero) this.sendAdvert(0);
    this.actions.push({ type: 'removeVips' });
    this.s.vipsHeld = false;
  }

  /** Enter BACKUP from INIT, MASTER or FAULT with a fresh Master_Down_Timer. */
  private enterBackup(reason: string): void {
    if (this.s.state === 'MASTER') this.leaveMaster('BACKUP', reason, false);
    else this.transition('BACKUP', reason);
    this.s.wantState = 'BACKUP';
    this.s.preemptAt = null;
    this.notify('BACKUP');
    this.armMasterDown(this.downIntervalMs(), 'master down timer');
  }

  private enterFault(reason: string): void {
    if (this.s.state === 'MASTER') this.leaveMaster('FAULT', reason, true);
    else {
      this.transition('FAULT', reason);
      this.cancel('masterDown');
    }
    this.s.preemptAt = null;
    this.notify('FAULT');
  }

  /** Leave FAULT (keepalived vrrp_state_leave_fault): back to BACKUP, or MASTER for the owner. */
  private recover(reason: string): void {
    this.s.masterAdverIntervalCs = this.p.advertIntervalCs;
    const owner = startsAsOwner(this.p) && this.s.basePriority === OWNER;
    this.s.wantState = owner ? 'MASTER' : 'BACKUP';
    if (owner && this.group.mayBecomeMaster) this.becomeMaster(reason);
    else this.enterBackup(reason);
  }

  // ---- events --------------------------------------------------------------------------

  startup(): void {
    if (this.s.state !== 'INIT') return;
    this.s.masterAdverIntervalCs = this.p.advertIntervalCs;
    this.s.preemptAt = null;
    const owner = startsAsOwner(this.p) && this.s.basePriority === OWNER;
    this.s.wantState = this.s.fault ? 'FAULT' : owner ? 'MASTER' : 'BACKUP';
    if (this.s.fault) {
      this.transition('FAULT', `fault: ${this.s.faultReasons.join(', ')}`);
      this.notify('FAULT');
      return;
    }
    if (this.group.faultyMember !== null) {
      this.transition('FAULT', `sync group: ${this.group.faultyMember} is in fault`);
      this.notify('FAULT');
      return;
    }
    // RFC 3768 §6.4.1: the address owner becomes Master at once (keepalived: a 1 µs down timer).
    if (owner && this.group.mayBecomeMaster) {
      this.becomeMaster('address owner (priority 255)');
      return;
    }
    this.transition('BACKUP', 'startup');
    this.notify('BACKUP');
    if (owner) {
      // keepalived vrrp_init_state: an owner held back by its sync group waits one
      // interval plus the smallest skew "to ensure there is no other master".
      this.armMasterDown(
        this.s.masterAdverIntervalCs * 10 + skewTimeMs(OWNER, this.s.masterAdverIntervalCs, this.p.version),
        'master down timer',
      );
    } else {
      // keepalived 2.2.7 gives `state MASTER` (not owner) no head start: it waits the full
      // Master_Down_Interval as BACKUP, like `state BACKUP` (checked against the real daemon).
      this.armMasterDown(this.downIntervalMs(), 'master down timer');
    }
  }

  shutdown(): void {
    if (this.s.state === 'INIT') return;
    if (this.s.state === 'MASTER') {
      // RFC 3768 §6.4.3 "If a Shutdown event is received": send priority 0, stop.
      this.leaveMaster('INIT', 'shutdown', true);
    } else {
      this.transition('INIT', 'shutdown');
    }
    for (const kind of TIMER_KINDS) this.cancel(kind);
    this.s.preemptAt = null;
    this.s.garp = { delayAt: null, refreshAt: null };
    this.s.masterAdverIntervalCs = this.p.advertIntervalCs;
    this.notify('STOP');
  }

  timer(kind: TimerKind, generation: number): void {
    const slot: TimerSlot | null = this.timers[kind];
    if (slot === null || slot.generation !== generation) return; // stale: changes nothing
    this.timers[kind] = null;
    switch (kind) {
      case 'masterDown':
        this.masterDown();
        return;
      case 'advert':
        // RFC 3768 §6.4.3: Adver_Timer fires → send an ADVERTISEMENT, reset the timer.
        this.sendAdvert(this.s.effectivePriority);
        this.arm('advert', this.now + this.intervalMs);
        return;
      case 'garp':
        this.garpDue(slot.at);
        return;
      case 'preempt':
        return; // never armed (see types.ts)
    }
  }

  private masterDown(): void {
    // keepalived vrrp_state_goto_master: wanting MASTER is recorded even if the group says no.
    this.s.wantState = 'MASTER';
    if (!this.group.mayBecomeMaster) {
      // vrrp_sync_can_goto_master: "prefer backup state to avoid thrashing"; wait another
      // Master_Down_Interval for the other members to want MASTER too.
      this.armMasterDown(this.downIntervalMs(), 'master down timer');
      return;
    }
    this.becomeMaster(this.s.downReason);
  }

  /**
   * Send every burst due by the deadline the timer was armed for (a real timer may fire
   * a hair early) or by now (it may fire late, past the next burst too).
   */
  private garpDue(deadline: number): void {
    const due = Math.max(deadline, this.now);
    const g = this.p.garp;
    const { delayAt, refreshAt } = this.s.garp;
    let next = { delayAt, refreshAt };
    if (delayAt !== null && delayAt <= due) {
      this.actions.push({ type: 'sendGarp', repeat: g.masterRepeat });
      next = { ...next, delayAt: null };
    }
    if (refreshAt !== null && refreshAt <= due) {
      // keepalived checks its refresh deadline on each advert; an exact timer is kinder.
      this.actions.push({ type: 'sendGarp', repeat: g.masterRefreshRepeat });
      next = { ...next, refreshAt: this.now + g.masterRefreshMs };
    }
    this.s.garp = next;
    this.armGarp();
  }

  advert(a: ReceivedAdvert): void {
    // RFC 3768 §6.4.1: only Backup and Master process adverts (keepalived ignores them in INIT/FAULT).
    if (this.s.state !== 'BACKUP' && this.s.state !== 'MASTER') return;
    if (this.p.version === 2 && a.intervalCs !== this.p.advertIntervalCs) {
      // RFC 3768 §7.1: MUST verify the Adver Interval matches the local one, else discard.
      this.actions.push({
        type: 'advertDropped',
        reason: 'interval',
        detail: `advert interval ${a.intervalCs / 100} s from ${a.from}, ours is ${this.p.advertIntervalCs / 100} s`,
      });
      return;
    }
    if (this.p.version === 3 && a.intervalCs < 1) {
      this.actions.push({ type: 'advertDropped', reason: 'interval', detail: `advert interval 0 from ${a.from}` });
      return;
    }
    if (this.s.state === 'BACKUP') this.backupAdvert(a);
    else this.masterAdvert(a);
  }

  /** RFC 3768 §6.4.2 / RFC 5798 §6.4.2, with keepalived's preempt_delay (vrrp.c vrrp_state_backup). */
  private backupAdvert(a: ReceivedAdvert): void {
    const ours = this.s.effectivePriority;
    if (a.priority === 0) {
      // "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer to Skew_Time"
      this.armMasterDown(
        skewTimeMs(ours, this.s.masterAdverIntervalCs, this.p.version),
        `master down timer after priority 0 advert from ${a.from}`,
      );
      return;
    }
    // keepalived: before preempt_time (set when a lower master is first seen), a lower
    // master is accepted like a higher one. preempt_time is only ever compared here, so a
    // deadline in the state is enough; no timer.
    const delayPending =
      this.p.preemptDelayMs > 0 && (this.s.preemptAt === null || this.s.preemptAt > this.now);
    if (!this.p.preempt || a.priority >= ours || delayPending) {
      // "Else if Preempt_Mode is False, or the Priority is greater than or equal to the local Priority"
      if (this.p.version === 3) {
        // RFC 5798 §6.4.2: set Master_Adver_Interval from the ADVERTISEMENT, recompute
        // Skew_Time and Master_Down_Interval.
        this.s.masterAdverIntervalCs = a.intervalCs;
      }
      this.s.lastMaster = { address: a.from, priority: a.priority };
      if (this.p.preemptDelayMs > 0) {
        if (a.priority >= ours) this.s.preemptAt = null;
        else if (this.s.preemptAt === null) this.s.preemptAt = this.now + this.p.preemptDelayMs;
      }
      this.s.wantState = 'BACKUP';
      this.armMasterDown(this.downIntervalMs(), 'master down timer');
      return;
    }
    // "Else (preempt and lower priority): Discard the ADVERTISEMENT." The timer keeps
    // running and we take over when it fires.
    this.s.lastMaster = { address: a.from, priority: a.priority };
    this.s.downReason = `preempting lower priority master ${a.from} (${a.priority} < ${ours})`;
  }

  /** RFC 3768 §6.4.3 / RFC 5798 §6.4.3, in keepalived's order (vrrp.c vrrp_state_master_rx). */
  private masterAdvert(a: ReceivedAdvert): void {
    const cmp = compareAddresses(a.from, this.p.primaryAddress);
    let ours = this.s.effectivePriority;
    const higher = (): boolean => a.priority > ours || (a.priority === ours && cmp > 0);

    if (a.priority === 0) {
      // "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT, Reset the
      // Adver_Timer" (keepalived skips the reset with lower_prio_no_advert; we follow the RFC)
      this.sendAdvert(ours);
      this.arm('advert', this.now + this.intervalMs);
      return;
    }
    // keepalived higher_prio_send_advert: one advert of ours before yielding.
    if (this.p.higherPrioSendAdvert && higher()) this.sendAdvert(ours);

    let conflict = '';
    if (a.priority === ours && ours === OWNER && cmp !== 0) {
      // keepalived: two address owners is a configuration error; it lowers its own
      // priority to 254 as a workaround (and so yields to the other owner).
      this.s.basePriority = OWNER - 1;
      this.s.effectivePriority = OWNER - 1;
      ours = OWNER - 1;
      conflict = ', both claim address ownership: lowered ours to 254';
    }

    if (a.priority < ours || (a.priority === ours && cmp < 0)) {
      // keepalived answers a lower master with its own advert at once ("forcing new
      // election"), unless lower_prio_no_advert; the RFC would just discard it.
      if (!this.p.lowerPrioNoAdvert) {
        this.sendAdvert(ours);
        this.arm('advert', this.now + this.intervalMs);
      }
      return;
    }
    if (!higher()) return; // equal priority from our own address: the shell drops those

    // "If the Priority is greater than the local Priority, or equal and the primary IP
    // Address of the sender is greater: Cancel Adver_Timer, set Master_Down_Timer to
    // Master_Down_Interval, transition to the Backup state."
    if (this.p.version === 3) this.s.masterAdverIntervalCs = a.intervalCs;
    this.s.lastMaster = { address: a.from, priority: a.priority };
    const why =
      a.priority > ours
        ? `higher priority advert from ${a.from} (${a.priority} > ${ours})`
        : `equal priority advert from higher address ${a.from} (${a.priority})`;
    this.enterBackup(why + conflict);
  }

  priority(value: number): void {
    // vrrp_set_effective_priority: "Don't change priority if address owner".
    if (this.p.basePriority === OWNER) return;
    const next = Math.min(OWNER - 1, Math.max(1, Math.round(value)));
    if (next === this.s.effectivePriority) return;
    const before = this.downIntervalMs();
    this.s.effectivePriority = next;
    if (this.s.state === 'MASTER') {
      // The next advert carries it; nothing else changes.
      this.s.lastMaster = { address: this.p.primaryAddress, priority: next };
      return;
    }
    const pending = this.timers.masterDown;
    if (this.s.state === 'BACKUP' && pending !== null) {
      // keepalived moves the running down timer by the change in Master_Down_Interval
      // (i.e. in Skew_Time). A backup now above its master does not take over at once:
      // the master's next adverts are discarded and the timer runs out.
      const at = Math.max(this.now, pending.at + (this.downIntervalMs() - before));
      this.arm('masterDown', at);
    }
  }

  fault(fault: boolean, reason: string, reasons: readonly string[] | undefined): void {
    if (fault) {
      const list = reasons !== undefined && reasons.length > 0 ? [...reasons] : [reason];
      this.s.fault = true;
      this.s.faultReasons = list;
      this.s.wantState = 'FAULT';
      if (this.s.state === 'BACKUP' || this.s.state === 'MASTER') this.enterFault(`fault: ${list.join(', ')}`);
      return;
    }
    if (!this.s.fault) return;
    this.s.fault = false;
    this.s.faultReasons = [];
    const owner = startsAsOwner(this.p) && this.s.basePriority === OWNER;
    if (this.s.state !== 'FAULT' || this.group.faultyMember !== null) {
      // INIT: startup decides. FAULT held by the group: another member is still faulty
      // (keepalived try_up_instance waits for the group's num_member_fault to reach 0).
      this.s.wantState = owner ? 'MASTER' : 'BACKUP';
      return;
    }
    this.recover(`fault cleared: ${reason}`);
  }

  syncGroup(to: 'MASTER' | 'BACKUP' | 'FAULT', reason: string): void {
    const from = this.s.state;
    if (from === 'INIT' || from === to) return;
    if (to === 'FAULT') {
      // vrrp_sync_fault: a master leaves with one priority-0 advert.
      this.s.wantState = 'FAULT';
      this.enterFault(reason);
      return;
    }
    // Our own fault, or another member's, keeps us in FAULT whatever the group says.
    if (this.s.fault || this.group.faultyMember !== null) return;
    if (to === 'MASTER') {
      // vrrp_sync_master: every other member goes straight to MASTER.
      this.becomeMaster(reason);
      return;
    }
    // vrrp_sync_backup: MASTER leaves without a priority-0 advert; FAULT leaves as from a fault.
    if (from === 'FAULT') this.s.masterAdverIntervalCs = this.p.advertIntervalCs;
    this.enterBackup(reason);
  }

  result(): StepResult {
    return { state: this.s, actions: this.actions };
  }
}

/**
 * Feed one event to an instance. `group` is for members of a vrrp_sync_group (build it
 * with sync-group.ts); an instance in no group omits it.
 */
export function step(
  state: InstanceState,
  event: VrrpEvent,
  now: number,
  group: SyncGroupContext = NO_GROUP,
): StepResult {
  const m = new Machine(state, now, group);
  switch (event.type) {
    case 'startup':
      m.startup();
      break;
    case 'shutdown':
      m.shutdown();
      break;
    case 'advert':
      m.advert(event.advert);
      break;
    case 'timer':
      m.timer(event.timer, event.generation);
      break;
    case 'priority':
      m.priority(event.priority);
      break;
    case 'fault':
      m.fault(event.fault, event.reason, event.reasons);
      break;
    case 'syncGroup':
      m.syncGroup(event.to, event.reason);
      break;
  }
  // Nothing happened: hand back the very same state, so a caller can compare by identity.
  if (m.actions.length === 0 && sameState(state, m.s)) return { state, actions: [] };
  return m.result();
}

function sameState(a: InstanceState, b: InstanceState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
