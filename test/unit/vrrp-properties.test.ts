// Property tests (fast-check): random instances fed random event sequences — adverts with
// random priorities, sources and intervals, the pending timers fired at (or just around)
// their deadlines, stale and unknown timer generations, priority changes, faults, sync-group
// orders, shutdown/startup — and after every single step the invariants below must hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createInstance, step } from '../../src/vrrp/instance.js';
import { stepSyncGroup } from '../../src/vrrp/sync-group.js';
import type { InstanceParams, InstanceState, TimerKind, VrrpAction, VrrpEvent } from '../../src/vrrp/types.js';
import { defaultParams } from '../helpers/scenario.js';

const KINDS: readonly TimerKind[] = ['advert', 'masterDown', 'garp', 'preempt'];
const ADDRESSES = ['10.0.0.5', '10.0.0.1', '10.0.0.9', '192.168.1.1', '9.9.9.9'];

const paramsArb: fc.Arbitrary<InstanceParams> = fc
  .record({
    version: fc.constantFrom(2 as const, 3 as const),
    basePriority: fc.oneof(fc.integer({ min: 1, max: 254 }), fc.constant(255)),
    intervalUnits: fc.integer({ min: 1, max: 3 }),
    v3IntervalCs: fc.integer({ min: 1, max: 300 }),
    initialState: fc.constantFrom('MASTER' as const, 'BACKUP' as const),
    preempt: fc.boolean(),
    preemptDelayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8000 })),
    primaryAddress: fc.constantFrom(...ADDRESSES),
    downTimerAdverts: fc.integer({ min: 1, max: 5 }),
    lowerPrioNoAdvert: fc.boolean(),
    higherPrioSendAdvert: fc.boolean(),
    garp: fc.record({
      masterDelayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6000 })),
      masterRepeat: fc.integer({ min: 0, max: 5 }),
      masterRefreshMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9000 })),
      masterRefreshRepeat: fc.integer({ min: 0, max: 3 }),
    }),
  })
  // (plain objects: fast-check records have no prototype, JSON round trips do)
  .map(({ intervalUnits, v3IntervalCs, garp, ...p }) =>
    defaultParams({ ...p, garp: { ...garp }, advertIntervalCs: p.version === 2 ? intervalUnits * 100 : v3IntervalCs }),
  );

type Cmd =
  | { readonly k: 'startup' }
  | { readonly k: 'shutdown' }
  | {
      readonly k: 'advert';
      readonly from: string;
      readonly priority: number;
      readonly ownInterval: boolean;
      readonly intervalCs: number;
    }
  | { readonly k: 'fire'; readonly timer: TimerKind; readonly offset: number }
  | { readonly k: 'stale'; readonly timer: TimerKind; readonly delta: number }
  | { readonly k: 'wait'; readonly ms: number }
  | { readonly k: 'priority'; readonly priority: number }
  | { readonly k: 'fault'; readonly fault: boolean; readonly reason: string }
  | { readonly k: 'sync'; readonly to: 'MASTER' | 'BACKUP' | 'FAULT' };

const cmdArb = (withSync: boolean): fc.Arbitrary<Cmd> => {
  const arbs: Array<fc.Arbitrary<Cmd>> = [
    fc.constant({ k: 'startup' as const }),
    fc.constant({ k: 'shutdown' as const }),
    fc.record({
      k: fc.constant('advert' as const),
      from: fc.constantFrom(...ADDRESSES.filter((a) => a !== '10.0.0.1'), '10.0.0.2', 'fe80::1'),
      priority: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 100, 254, 255)),
      ownInterval: fc.boolean(),
      intervalCs: fc.integer({ min: 0, max: 400 }),
    }),
    // fire weighted up: it is what moves the machine
    fc.record({ k: fc.constant('fire' as const), timer: fc.constantFrom(...KINDS), offset: fc.constantFrom(0, 0, 0, -0.5, 2) }),
    fc.record({ k: fc.constant('fire' as const), timer: fc.constantFrom<TimerKind>('masterDown', 'advert'), offset: fc.constant(0) }),
    fc.record({ k: fc.constant('stale' as const), timer: fc.constantFrom(...KINDS), delta: fc.integer({ min: -3, max: 3 }) }),
    fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 5000 }) }),
    fc.record({ k: fc.constant('priority' as const), priority: fc.integer({ min: 1, max: 254 }) }),
    fc.record({ k: fc.constant('fault' as const), fault: fc.boolean(), reason: fc.constantFrom('eth0 down', 'chk failed') }),
  ];
  if (withSync) {
    arbs.push(fc.record({ k: fc.constant('sync' as const), to: fc.constantFrom('MASTER' as const, 'BACKUP' as const, 'FAULT' as const) }));
  }
  return fc.oneof(...arbs);
};

/** Turns a command into an event at a time, given the instance's state (for timer deadlines). */
function toEvent(s: InstanceState, cmd: Cmd, now: number): { event: VrrpEvent; at: number; stale: boolean } | null {
  switch (cmd.k) {
    case 'startup':
    case 'shutdown':
      return { event: { type: cmd.k }, at: now, stale: false };
    case 'advert':
      return {
        event: {
          type: 'advert',
          advert: { from: cmd.from, priority: cmd.priority, intervalCs: cmd.ownInterval ? s.params.advertIntervalCs : cmd.intervalCs },
        },
        at: now,
        stale: false,
      };
    case 'fire': {
      const slot = s.timers[cmd.timer];
      if (!slot) return null;
      // a real timer may fire a little late, or even a hair early
      return { event: { type: 'timer', timer: cmd.timer, generation: slot.generation }, at: Math.max(now, slot.at + cmd.offset), stale: false };
    }
    case 'stale': {
      const slot = s.timers[cmd.timer];
      const generation = slot ? slot.generation + (cmd.delta === 0 ? 1 : cmd.delta) : s.generations[cmd.timer] + cmd.delta;
      return { event: { type: 'timer', timer: cmd.timer, generation }, at: now, stale: true };
    }
    case 'wait':
      return null;
    case 'priority':
      return { event: { type: 'priority', priority: cmd.priority, reason: 'tracker' }, at: now, stale: false };
    case 'fault':
      return { event: { type: 'fault', fault: cmd.fault, reason: cmd.reason }, at: now, stale: false };
    case 'sync':
      return { event: { type: 'syncGroup', to: cmd.to, reason: 'test' }, at: now, stale: false };
  }
}

/** What the shell would hold: the armed timers. */
type Armed = Map<TimerKind, { at: number; generation: number }>;

function armedFrom(s: InstanceState): Armed {
  const m: Armed = new Map();
  for (const k of KINDS) {
    const slot = s.timers[k];
    if (slot) m.set(k, { ...slot });
  }
  return m;
}

/**
 * Checks one step of one instance. `vips` is what the shell believes about the VIPs
 * before the step; returns what it believes after.
 */
function checkStep(before: InstanceState, event: VrrpEvent, now: number, after: InstanceState, actions: readonly VrrpAction[], vips: boolean, stale: boolean): boolean {
  const ctx = `${JSON.stringify(event)} in ${before.state} → ${after.state}: ${JSON.stringify(actions)}`;
  const p = before.params;

  // JSON-able
  assert.deepStrictEqual(JSON.parse(JSON.stringify(after)), after, ctx);

  // stale timers and events in INIT/FAULT that cannot matter: nothing at all
  if (stale) {
    assert.equal(actions.length, 0, `stale timer produced actions: ${ctx}`);
    assert.equal(after, before, `stale timer changed the state: ${ctx}`);
  }
  if (event.type === 'advert' && (before.state === 'INIT' || before.state === 'FAULT')) {
    assert.equal(actions.length, 0, `advert in ${before.state} produced actions: ${ctx}`);
    assert.equal(after, before, ctx);
  }

  // the shell's timer table follows the actions and always equals the state's
  const armed = armedFrom(before);
  if (event.type === 'timer') {
    const slot = armed.get(event.timer);
    if (slot && slot.generation === event.generation) armed.delete(event.timer);
  }
  const setPerKind = new Map<TimerKind, number>();
  for (const a of actions) {
    if (a.type === 'setTimer') {
      assert.ok(a.at >= now, `deadline in the past: ${ctx}`);
      assert.ok(a.generation > before.generations[a.timer], `generation not increasing: ${ctx}`);
      setPerKind.set(a.timer, (setPerKind.get(a.timer) ?? 0) + 1);
      armed.set(a.timer, { at: a.at, generation: a.generation });
    } else if (a.type === 'cancelTimer') {
      assert.ok(armed.has(a.timer), `cancel of a timer that is not pending: ${ctx}`);
      armed.delete(a.timer);
    }
  }
  for (const [k, n] of setPerKind) assert.equal(n, 1, `${n} setTimer ${k} in one step: ${ctx}`);
  for (const k of KINDS) assert.deepStrictEqual(after.timers[k] ?? undefined, armed.get(k), `timer ${k} table differs: ${ctx}`);

  // which timers may be pending in which state: at most one advert timer, and only in MASTER
  assert.equal(after.timers.advert !== null, after.state === 'MASTER', `advert timer vs state: ${ctx}`);
  assert.equal(after.timers.masterDown !== null, after.state === 'BACKUP', `masterDown timer vs state: ${ctx}`);
  if (after.timers.garp !== null) assert.equal(after.state, 'MASTER', ctx);
  assert.equal(after.timers.preempt, null, ctx);

  // VIPs only in MASTER, add/remove always paired
  let held = vips;
  for (const a of actions) {
    if (a.type === 'addVips') {
      assert.equal(held, false, `addVips twice: ${ctx}`);
      held = true;
    } else if (a.type === 'removeVips') {
      assert.equal(held, true, `removeVips without addVips: ${ctx}`);
      held = false;
    } else if (a.type === 'sendGarp') {
      assert.equal(held, true, `GARP without VIPs: ${ctx}`);
      assert.ok(a.repeat > 0, ctx);
    }
  }
  assert.equal(held, after.state === 'MASTER', `VIPs held outside MASTER (or not in MASTER): ${ctx}`);
  assert.equal(after.vipsHeld, held, ctx);

  // adverts: only as MASTER, except one priority-0 advert when leaving MASTER, and the
  // one higher_prio_send_advert sends before yielding
  const adverts = actions.filter((a) => a.type === 'sendAdvert');
  if (after.state === 'MASTER') {
    assert.ok(adverts.length <= 1, ctx);
    for (const a of adverts) assert.equal(a.priority, after.effectivePriority, ctx);
  } else {
    const zero = adverts.filter((a) => a.priority === 0);
    const other = adverts.filter((a) => a.priority !== 0);
    assert.ok(zero.length <= 1, ctx);
    if (zero.length === 1) assert.equal(before.state, 'MASTER', `priority 0 sent but we were not MASTER: ${ctx}`);
    assert.ok(other.length <= 1, ctx);
    if (other.length === 1) {
      assert.ok(p.higherPrioSendAdvert && event.type === 'advert' && before.state === 'MASTER', `advert sent in ${after.state}: ${ctx}`);
    }
  }

  // one transition per state change, first (after the higher_prio_send_advert advert)
  const transitions = actions.filter((a) => a.type === 'transition');
  if (after.state === before.state) {
    assert.equal(transitions.length, 0, ctx);
  } else {
    assert.equal(transitions.length, 1, ctx);
    const t = transitions[0];
    assert.ok(t && t.type === 'transition' && t.from === before.state && t.to === after.state && t.reason.length > 0, ctx);
    const at = actions.indexOf(t);
    assert.ok(at === 0 || (at === 1 && actions[0]?.type === 'sendAdvert'), `transition is not first: ${ctx}`);
    assert.deepStrictEqual(after.lastTransition, { from: t.from, to: t.to, reason: t.reason, at: now }, ctx);
  }
  const notifies = actions.filter((a) => a.type === 'notify');
  assert.equal(notifies.length, transitions.length, `one notify per transition: ${ctx}`);
  for (const n of notifies) assert.equal(n.state, after.state === 'INIT' ? 'STOP' : after.state, ctx);

  // priority bounds
  assert.ok(after.effectivePriority >= 1 && after.effectivePriority <= 255, ctx);
  if (p.basePriority !== 255) assert.ok(after.effectivePriority <= 254, ctx);
  if (after.state === 'FAULT') assert.ok(after.fault || after.wantState === 'FAULT' || event.type === 'syncGroup' || before.state === 'FAULT', ctx);

  return held;
}

describe('state machine properties', () => {
  it('holds its invariants after every step of random event sequences', () => {
    // what the runs went through, so a generator that never reaches MASTER cannot pass quietly
    const seen = new Map<string, number>();
    const count = (key: string): void => void seen.set(key, (seen.get(key) ?? 0) + 1);
    fc.assert(
      fc.property(paramsArb, fc.array(cmdArb(true), { minLength: 10, maxLength: 80, size: 'max' }), (params, cmds) => {
        let s = createInstance(params);
        let now = 0;
        let vips = false;
        for (const cmd of cmds) {
          if (cmd.k === 'wait') {
            now += cmd.ms;
            continue;
          }
          const e = toEvent(s, cmd, now);
          if (!e) continue;
          now = e.at;
          const snapshot = JSON.stringify(s);
          const r = step(s, e.event, now);
          assert.equal(JSON.stringify(s), snapshot, 'step mutated its input');
          vips = checkStep(s, e.event, now, r.state, r.actions, vips, e.stale);
          for (const a of r.actions) count(a.type === 'transition' ? `${a.from}->${a.to}` : a.type);
          s = r.state;
        }
      }),
      { numRuns: 400 },
    );
    for (const key of ['INIT->BACKUP', 'INIT->MASTER', 'INIT->FAULT', 'BACKUP->MASTER', 'MASTER->BACKUP', 'MASTER->FAULT', 'BACKUP->FAULT', 'FAULT->BACKUP', 'FAULT->MASTER', 'MASTER->INIT', 'sendGarp', 'advertDropped']) {
      assert.ok((seen.get(key) ?? 0) >= 5, `the random runs reached ${key} only ${seen.get(key) ?? 0} times`);
    }
  });

  it('a stale expiry of every pending timer kind changes nothing', () => {
    fc.assert(
      fc.property(paramsArb, fc.array(cmdArb(false), { maxLength: 40, size: 'max' }), fc.integer({ min: 1, max: 5 }), (params, cmds, back) => {
        let s = createInstance(params);
        let now = 0;
        for (const cmd of cmds) {
          const e = toEvent(s, cmd, now);
          if (!e) continue;
          now = e.at;
          s = step(s, e.event, now).state;
        }
        for (const k of KINDS) {
          const slot = s.timers[k];
          for (const generation of [slot ? slot.generation - back : s.generations[k] - back + 1, (slot?.generation ?? s.generations[k]) + back]) {
            const r = step(s, { type: 'timer', timer: k, generation }, now + 1);
            assert.equal(r.state, s);
            assert.deepEqual(r.actions, []);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('sync group properties', () => {
  const groupArb = fc
    .tuple(paramsArb, paramsArb, fc.option(paramsArb, { nil: undefined }))
    .map(([a, b, c]) =>
      [a, b, ...(c ? [c] : [])].map((p, i) => ({ ...p, name: `VI_${i + 1}`, vrid: 50 + i })),
    );
  const groupCmdArb = fc.tuple(fc.integer({ min: 0, max: 2 }), cmdArb(false));

  it('members follow each other and never split between FAULT and the rest', () => {
    fc.assert(
      fc.property(groupArb, fc.array(groupCmdArb, { minLength: 10, maxLength: 80, size: 'max' }), (params, cmds) => {
        let members = params.map((p) => createInstance(p));
        const vips = new Map<string, boolean>(members.map((m) => [m.params.name, false]));
        let now = 0;
        for (const [which, cmd] of cmds) {
          if (cmd.k === 'wait') {
            now += cmd.ms;
            continue;
          }
          const target = members[which % members.length] as InstanceState;
          const e = toEvent(target, cmd, now);
          if (!e) continue;
          now = e.at;
          const before = members;
          const r = stepSyncGroup(members, target.params.name, e.event, now);
          members = r.members;
          const ctx = `${target.params.name} ${JSON.stringify(e.event)}: ${JSON.stringify(r.actions)}`;

          if (e.stale) assert.deepEqual(r.actions, [], ctx);
          // per member: the VIP pairing, and the state/timer consistency
          for (const m of members) {
            let held = vips.get(m.params.name) ?? false;
            for (const { instance, action } of r.actions) {
              if (instance !== m.params.name) continue;
              if (action.type === 'addVips') {
                assert.equal(held, false, ctx);
                held = true;
              } else if (action.type === 'removeVips') {
                assert.equal(held, true, ctx);
                held = false;
              }
            }
            vips.set(m.params.name, held);
            assert.equal(held, m.state === 'MASTER', ctx);
            assert.equal(m.timers.advert !== null, m.state === 'MASTER', ctx);
            assert.equal(m.timers.masterDown !== null, m.state === 'BACKUP', ctx);
          }
          const started = members.filter((m) => m.state !== 'INIT');
          // a member with a fault of its own keeps the whole group in FAULT, and only that does
          const faulty = started.some((m) => m.fault);
          for (const m of started) assert.equal(m.state === 'FAULT', faulty, `${m.params.name} in ${m.state}: ${ctx}`);
          // the leader's new state is everyone's (a member starting up joins quietly)
          const lead = r.actions.find((a) => a.instance === target.params.name && a.action.type === 'transition');
          if (lead && lead.action.type === 'transition' && lead.action.to !== 'INIT' && (lead.action.from !== 'INIT' || lead.action.to === 'FAULT')) {
            for (const m of started) assert.equal(m.state, lead.action.to, `${m.params.name} did not follow: ${ctx}`);
          }
          // followers move only when the leader moved, got a fault of its own, or stopped
          const self = members.find((m) => m.params.name === target.params.name) as InstanceState;
          if (!lead && !(self.fault && !target.fault)) {
            for (const [i, m] of members.entries()) {
              if (m.params.name !== target.params.name) assert.equal(m, before[i], `${m.params.name} moved on its own: ${ctx}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
