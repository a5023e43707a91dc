// createInstance / normalizeParams / step: the API details the golden scenarios do not show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInstance, normalizeParams, step } from '../../src/vrrp/instance.js';
import type { InstanceState, VrrpEvent } from '../../src/vrrp/types.js';
import { defaultParams } from '../helpers/scenario.js';

function run(s: InstanceState, events: Array<[number, VrrpEvent]>): InstanceState {
  for (const [at, e] of events) s = step(s, e, at).state;
  return s;
}

describe('normalizeParams (keepalived vrrp_complete_instance)', () => {
  it('leaves consistent parameters alone, same object', () => {
    const p = defaultParams();
    assert.equal(normalizeParams(p).params, p);
    assert.deepEqual(normalizeParams(p).warnings, []);
  });
  it('priority 255 cannot be nopreempt', () => {
    const r = normalizeParams(defaultParams({ basePriority: 255, preempt: false }));
    assert.equal(r.params.preempt, true);
    assert.match(r.warnings[0] ?? '', /nopreempt is incompatible with priority 255/);
  });
  it('state MASTER clears nopreempt and preempt_delay', () => {
    const r = normalizeParams(defaultParams({ initialState: 'MASTER', preempt: false, preemptDelayMs: 3000 }));
    assert.equal(r.params.preempt, true);
    assert.equal(r.params.preemptDelayMs, 0);
    assert.equal(r.warnings.length, 2);
  });
  it('nopreempt clears preempt_delay', () => {
    const r = normalizeParams(defaultParams({ preempt: false, preemptDelayMs: 3000 }));
    assert.equal(r.params.preempt, false);
    assert.equal(r.params.preemptDelayMs, 0);
    assert.match(r.warnings[0] ?? '', /preempt_delay is incompatible with nopreempt/);
  });
});

describe('createInstance', () => {
  it('starts in INIT with nothing pending, as plain JSON data', () => {
    const s = createInstance(defaultParams());
    assert.equal(s.state, 'INIT');
    assert.equal(s.effectivePriority, 100);
    assert.deepEqual(s.timers, { advert: null, masterDown: null, preempt: null, garp: null });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
  it('an owner with state MASTER wants MASTER from the start; others BACKUP', () => {
    assert.equal(createInstance(defaultParams({ basePriority: 255, initialState: 'MASTER' })).wantState, 'MASTER');
    assert.equal(createInstance(defaultParams({ basePriority: 254, initialState: 'MASTER' })).wantState, 'BACKUP');
  });
});

describe('step', () => {
  it('never mutates the state it is given', () => {
    const s0 = createInstance(defaultParams());
    const frozen = JSON.stringify(s0);
    const s1 = step(s0, { type: 'startup' }, 0).state;
    step(s1, { type: 'timer', timer: 'masterDown', generation: 1 }, 3609.375);
    assert.equal(JSON.stringify(s0), frozen);
    assert.equal(s1.state, 'BACKUP');
  });

  it('returns the very same state object when nothing happens', () => {
    const s = run(createInstance(defaultParams()), [[0, { type: 'startup' }]]);
    const r = step(s, { type: 'timer', timer: 'advert', generation: 7 }, 10);
    assert.equal(r.state, s);
    assert.deepEqual(r.actions, []);
  });

  it('clamps a priority event to 1..254 (the contract says it is clamped already)', () => {
    let s = createInstance(defaultParams());
    s = step(s, { type: 'priority', priority: 400, reason: 'x' }, 0).state;
    assert.equal(s.effectivePriority, 254);
    s = step(s, { type: 'priority', priority: -3, reason: 'x' }, 0).state;
    assert.equal(s.effectivePriority, 1);
  });

  it('records the last transition with its time and reason', () => {
    const s = run(createInstance(defaultParams()), [
      [0, { type: 'startup' }],
      [3609.375, { type: 'timer', timer: 'masterDown', generation: 1 }],
    ]);
    assert.deepEqual(s.lastTransition, { from: 'BACKUP', to: 'MASTER', reason: 'master down timer', at: 3609.375 });
  });

  it('a fault event without reasons uses its reason; with reasons, the list', () => {
    let s = run(createInstance(defaultParams()), [[0, { type: 'startup' }]]);
    s = step(s, { type: 'fault', fault: true, reason: 'eth0 down' }, 1).state;
    assert.deepEqual(s.faultReasons, ['eth0 down']);
    s = step(s, { type: 'fault', fault: true, reason: 'chk', reasons: ['eth0 down', 'chk'] }, 2).state;
    assert.deepEqual(s.faultReasons, ['eth0 down', 'chk']);
    assert.equal(s.state, 'FAULT');
  });

  it('a v3 instance accepts any interval but 0; v2 drops a different one', () => {
    let v3 = run(createInstance(defaultParams({ version: 3 })), [[0, { type: 'startup' }]]);
    v3 = step(v3, { type: 'advert', advert: { from: '10.0.0.2', priority: 200, intervalCs: 4095 } }, 1).state;
    assert.equal(v3.masterAdverIntervalCs, 4095);
    const v2 = run(createInstance(defaultParams()), [[0, { type: 'startup' }]]);
    const r = step(v2, { type: 'advert', advert: { from: '10.0.0.2', priority: 200, intervalCs: 300 } }, 1);
    assert.deepEqual(r.actions.map((a) => a.type), ['advertDropped']);
    assert.equal(r.state.lastMaster, null);
  });

  it('a syncGroup order to a stopped instance does nothing', () => {
    const s = createInstance(defaultParams());
    for (const to of ['MASTER', 'BACKUP', 'FAULT'] as const) {
      const r = step(s, { type: 'syncGroup', to, reason: 'x' }, 0);
      assert.equal(r.state, s);
    }
  });

  it('syncGroup FAULT on a MASTER sends priority 0 once and removes the VIPs', () => {
    const s = run(createInstance(defaultParams({ basePriority: 255, initialState: 'MASTER' })), [[0, { type: 'startup' }]]);
    const r = step(s, { type: 'syncGroup', to: 'FAULT', reason: 'sync group: VI_2 entered FAULT' }, 10);
    assert.deepEqual(
      r.actions.filter((a) => a.type === 'sendAdvert' || a.type === 'removeVips'),
      [{ type: 'sendAdvert', priority: 0 }, { type: 'removeVips' }],
    );
    assert.equal(r.state.state, 'FAULT');
    assert.equal(r.state.fault, false, 'held by the group, not faulty itself');
  });

  it('a member held by its group stays BACKUP when its down timer fires', () => {
    const s = run(createInstance(defaultParams()), [[0, { type: 'startup' }]]);
    const r = step(s, { type: 'timer', timer: 'masterDown', generation: 1 }, 3609.375, {
      mayBecomeMaster: false,
      faultyMember: null,
    });
    assert.equal(r.state.state, 'BACKUP');
    assert.equal(r.state.wantState, 'MASTER');
    assert.deepEqual(r.actions, [{ type: 'setTimer', timer: 'masterDown', at: 7218.75, generation: 2 }]);
  });

  it('a member whose fault clears stays FAULT while another member is faulty', () => {
    let s = run(createInstance(defaultParams()), [
      [0, { type: 'startup' }],
      [1, { type: 'fault', fault: true, reason: 'eth0 down' }],
    ]);
    const r = step(s, { type: 'fault', fault: false, reason: 'eth0 up' }, 2, { mayBecomeMaster: true, faultyMember: 'VI_2' });
    assert.deepEqual(r.actions, []);
    assert.equal(r.state.state, 'FAULT');
    assert.equal(r.state.fault, false);
    s = r.state;
    // ... and leaves with the group
    const back = step(s, { type: 'syncGroup', to: 'BACKUP', reason: 'sync group: VI_2 entered BACKUP' }, 3);
    assert.equal(back.state.state, 'BACKUP');
  });
});
