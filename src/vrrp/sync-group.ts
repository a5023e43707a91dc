/**
 * vrrp_sync_group: members move together (keepalived 2.2.7 vrrp_sync.c, vrrp_scheduler.c).
 *
 * - One member enters FAULT → every other started member enters FAULT (vrrp_sync_fault);
 *   a MASTER among them sends one priority-0 advert and gives its VIPs back.
 * - One member enters MASTER → every other one enters MASTER at once (vrrp_sync_master).
 *   But a member only goes to MASTER on its own when all the others want MASTER too
 *   (vrrp_sync_can_goto_master, "prefer backup state to avoid thrashing"): until then its
 *   down timer just restarts. `SyncGroupContext.mayBecomeMaster` carries that.
 * - One member enters BACKUP (from MASTER or leaving FAULT) → every other one enters
 *   BACKUP (vrrp_sync_backup).
 * - While any member is faulty on its own account the group stays in FAULT: a member
 *   whose fault clears waits for the others (try_up_instance and num_member_fault).
 *   `SyncGroupContext.faultyMember` carries that.
 * Followers do not cascade: keepalived's sync handlers change the other members directly.
 *
 * Members are identified by `params.name`. INIT members (not started, or stopped) neither
 * lead nor follow.
 */
import { step } from './instance.js';
import type { InstanceState, SyncGroupContext, VrrpAction, VrrpEvent, VrrpState } from './types.js';

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
  const others = members.filter((m) => m.params.name !== self);
  return {
    mayBecomeMaster: others.every((m) => m.wantState === 'MASTER' || m.state === 'MASTER'),
    faultyMember: others.find((m) => m.fault)?.params.name ?? null,
  };
}

/**
 * The events to feed the other members after `source` made `transition`, given the
 * members' states *after* the source's step.
 */
export function syncGroupEvents(
  members: readonly InstanceState[],
  source: string,
  transition: { readonly from: VrrpState; readonly to: VrrpState; readonly reason: string },
): SyncGroupEvent[] {
  const to = transition.to;
  if (to === 'INIT') return [];
  const reason = `sync group: ${source} entered ${to} (${transition.reason})`;
  return members
    .filter(
      (m) =>
        m.params.name !== source &&
        m.state !== 'INIT' &&
        m.state !== to &&
        // a member with its own fault follows the group only into FAULT
        (to === 'FAULT' || !m.fault),
    )
    .map((m) => ({ instance: m.params.name, event: { type: 'syncGroup', to, reason } }));
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
  const run = (name: string, ev: VrrpEvent): readonly VrrpAction[] => {
    const i = index(name);
    const current = states[i] as InstanceState;
    const r = step(current, ev, now, syncGroupContext(name, states));
    states[i] = r.state;
    for (const action of r.actions) actions.push({ instance: name, action });
    return r.actions;
  };

  for (const action of run(target, event)) {
    if (action.type !== 'transition') continue;
    for (const follow of syncGroupEvents(states, target, action)) run(follow.instance, follow.event);
  }
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
