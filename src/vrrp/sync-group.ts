/**
 * vrrp_sync_group: members move together (keepalived 2.2.7 vrrp_sync.c, vrrp_scheduler.c,
 * vrrp_track.c).
 *
 * - One member enters FAULT, or gets a fault of its own while already held in FAULT →
 *   every other started member enters FAULT (down_instance → vrrp_sync_fault); a MASTER
 *   among them sends one priority-0 advert and gives its VIPs back.
 * - One member enters MASTER → every other one enters MASTER at once (vrrp_sync_master).
 *   But a member only goes to MASTER on its own when all the others want MASTER too
 *   (vrrp_sync_can_goto_master, "prefer backup state to avoid thrashing"): until then its
 *   down timer just restarts. `SyncGroupContext.mayBecomeMaster` carries that.
 * - One member enters BACKUP (from MASTER, or leaving FAULT) → every other one enters
 *   BACKUP (vrrp_sync_backup).
 * - While any member has a fault of its own the group stays in FAULT: a member whose
 *   fault clears waits for the others (try_up_instance and num_member_fault).
 *   `SyncGroupContext.faultyMember` carries that.
 * Followers do not cascade: keepalived's sync handlers change the other members directly.
 *
 * Members are identified by `params.name`. Members in INIT (not started, or stopped) do not
 * follow and hold nobody back. A member starting up joins quietly (it leads only if it
 * starts in FAULT): keepalived starts all members together, vipd's shell starts them one
 * after the other within one tick. A member that stops while it kept the group in FAULT
 * releases the others to BACKUP (keepalived never stops one member alone).
 */
import { step } from './instance.js';
import type { InstanceState, SyncGroupContext, VrrpAction, VrrpEvent } from './types.js';

/** One member's action, tagged with the member's name. */
export interface MemberAction {
  readonly instance: string;
  readonly action: VrrpAction;
}

export interface SyncGroupEvent {
  readonly instance: string;
  readonly event: Extract<VrrpEvent, { type: 'syncGroup' }>;
}

/** The context `self` must step with, given the current states of all members (self included or not). */
export function syncGroupContext(self: string, members: readonly InstanceState[]): SyncGroupContext {
  const others = members.filter((m) => m.params.name !== self && m.state !== 'INIT');
  return {
    mayBecomeMaster: others.every((m) => m.wantState === 'MASTER' || m.state === 'MASTER'),
    faultyMember: others.find((m) => m.fault)?.params.name ?? null,
  };
}

/**
 * The events to feed the other members after `source` stepped: `members` holds every
 * member's current state (the source's new one included), `previous` the source's state
 * before its step.
 */
export function syncGroupEvents(
  members: readonly InstanceState[],
  source: string,
  previous: InstanceState,
): SyncGroupEvent[] {
  const current = members.find((m) => m.params.name === source);
  if (!current) throw new RangeError(`no member named ${source} in this sync group`);
  const others = members.filter((m) => m.params.name !== source && m.state !== 'INIT');
  const send = (targets: readonly InstanceState[], to: 'MASTER' | 'BACKUP' | 'FAULT', reason: string): SyncGroupEvent[] =>
    targets.map((m) => ({ instance: m.params.name, event: { type: 'syncGroup', to, reason } }));

  if (current.state === previous.state) {
    // A fault of our own while the group already held us in FAULT: we lead now.
    if (current.state === 'FAULT' && current.fault && !previous.fault) {
      const reason = `sync group: ${source} fault: ${current.faultReasons.join(', ')}`;
      return send(others.filter((m) => m.state !== 'FAULT'), 'FAULT', reason);
    }
    return [];
  }
  const to = current.state;
  if (to === 'INIT') {
    // Stopped. If it was what kept the group in FAULT, the others may come back.
    if (others.some((m) => m.fault)) return [];
    return send(others.filter((m) => m.state === 'FAULT'), 'BACKUP', `sync group: ${source} stopped`);
  }
  if (previous.state === 'INIT' && to !== 'FAULT') return [];
  const reason = `sync group: ${source} entered ${to} (${current.lastTransition?.reason ?? ''})`;
  // a member with its own fault follows the group only into FAULT
  return send(others.filter((m) => m.state !== to && (to === 'FAULT' || !m.fault)), to, reason);
}

/**
 * Step one member of a sync group and let the others follow it. Returns every member's
 * new state (same order as given) and all actions, tagged, in the order they happen.
 */
export function stepSyncGroup(
  members: readonly InstanceState[],
  target: string,
  event: VrrpEvent,
  now: number,
): { members: InstanceState[]; actions: MemberAction[] } {
  const states = [...members];
  const index = (name: string): number => {
    const i = states.findIndex((m) => m.params.name === name);
    if (i === -1) throw new RangeError(`no member named ${name} in this sync group`);
    return i;
  };
  const actions: MemberAction[] = [];
  const run = (name: string, ev: VrrpEvent): InstanceState => {
    const i = index(name);
    const previous = states[i] as InstanceState;
    const r = step(previous, ev, now, syncGroupContext(name, states));
    states[i] = r.state;
    for (const action of r.actions) actions.push({ instance: name, action });
    return previous;
  };

  const previous = run(target, event);
  for (const follow of syncGroupEvents(states, target, previous)) run(follow.instance, follow.event);
  return { members: states, actions };
}

/**
 * keepalived vrrp_complete_init: if a group mixes members that would start as MASTER
 * (address owner with `state MASTER`) with members that would not, all start as BACKUP.
 */
export function syncGroupInitialStates<T extends { readonly basePriority: number; readonly initialState: 'MASTER' | 'BACKUP' }>(
  params: readonly T[],
): T[] {
  const wantsMaster = (p: T): boolean => p.initialState === 'MASTER' && p.basePriority === 255;
  const mixed = params.some(wantsMaster) && params.some((p) => !wantsMaster(p));
  // Only an owner's initial state changes anything in the machine; leaving the others
  // alone keeps normalizeParams' `state MASTER` corrections (nopreempt, preempt_delay).
  return params.map((p) => (mixed && wantsMaster(p) ? { ...p, initialState: 'BACKUP' as const } : p));
}
