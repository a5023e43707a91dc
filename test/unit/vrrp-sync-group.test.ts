// sync-group.ts helpers (keepalived 2.2.7 vrrp_sync.c). The end-to-end behaviour is in the
// sync-group-*.jsonl golden scenarios; these pin the helpers a shell may call directly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInstance, step } from '../../src/vrrp/instance.js';
import { stepSyncGroup, syncGroupContext, syncGroupEvents, syncGroupInitialStates } from '../../src/vrrp/sync-group.js';
import type { InstanceState, VrrpEvent } from '../../src/vrrp/types.js';
import { defaultParams } from '../helpers/scenario.js';

const member = (name: string, over = {}): InstanceState => createInstance(defaultParams({ name, ...over }));
const started = (s: InstanceState, ...events: Array<[number, VrrpEvent]>): InstanceState => {
  s = step(s, { type: 'startup' }, 0).state;
  for (const [at, e] of events) s = step(s, e, at).state;
  return s;
};

describe('syncGroupContext', () => {
  it('may become MASTER only when every other started member wants MASTER', () => {
    const a = started(member('VI_1'));
    const b = started(member('VI_2'));
    assert.deepEqual(syncGroupContext('VI_1', [a, b]), { mayBecomeMaster: false, faultyMember: null });
    const bWants = step(b, { type: 'timer', timer: 'masterDown', generation: 1 }, 3609.375, syncGroupContext('VI_2', [a, b])).state;
    assert.equal(bWants.wantState, 'MASTER');
    assert.equal(bWants.state, 'BACKUP');
    assert.equal(syncGroupContext('VI_1', [a, bWants]).mayBecomeMaster, true);
  });
  it('ignores members in INIT, and itself', () => {
    const a = started(member('VI_1'));
    const b = member('VI_2', { basePriority: 50 });
    assert.deepEqual(syncGroupContext('VI_1', [a, b]), { mayBecomeMaster: true, faultyMember: null });
    assert.deepEqual(syncGroupContext('VI_1', [a]), { mayBecomeMaster: true, faultyMember: null });
  });
  it('names a started member with a fault of its own', () => {
    const a = started(member('VI_1'));
    const b = started(member('VI_2'), [1, { type: 'fault', fault: true, reason: 'x' }]);
    assert.equal(syncGroupContext('VI_1', [a, b]).faultyMember, 'VI_2');
    assert.equal(syncGroupContext('VI_2', [a, b]).faultyMember, null);
  });
});

describe('syncGroupEvents', () => {
  it('a member entering MASTER orders every other started one to MASTER', () => {
    const a0 = started(member('VI_1'));
    const a1 = step(a0, { type: 'timer', timer: 'masterDown', generation: 1 }, 3609.375).state;
    const b = started(member('VI_2'));
    const c = member('VI_3');
    assert.deepEqual(syncGroupEvents([a1, b, c], 'VI_1', a0), [
      { instance: 'VI_2', event: { type: 'syncGroup', to: 'MASTER', reason: 'sync group: VI_1 entered MASTER (master down timer)' } },
    ]);
  });
  it('a member starting up leads nobody unless it starts in FAULT', () => {
    const a0 = member('VI_1');
    const b = started(member('VI_2'));
    assert.deepEqual(syncGroupEvents([started(a0), b], 'VI_1', a0), []);
    const f0 = step(a0, { type: 'fault', fault: true, reason: 'eth1 down' }, 0).state;
    const f1 = step(f0, { type: 'startup' }, 0).state;
    assert.deepEqual(syncGroupEvents([f1, b], 'VI_1', f0).map((e) => e.event.to), ['FAULT']);
  });
  it('a fault of its own while held in FAULT makes a member lead', () => {
    const a0 = step(started(member('VI_1')), { type: 'syncGroup', to: 'FAULT', reason: 'x' }, 1).state;
    const a1 = step(a0, { type: 'fault', fault: true, reason: 'eth1 down' }, 2).state;
    const b = started(member('VI_2'));
    assert.equal(a1.state, 'FAULT');
    assert.deepEqual(syncGroupEvents([a1, b], 'VI_1', a0), [
      { instance: 'VI_2', event: { type: 'syncGroup', to: 'FAULT', reason: 'sync group: VI_1 fault: eth1 down' } },
    ]);
  });
  it('nothing when the member did not move', () => {
    const a = started(member('VI_1'));
    assert.deepEqual(syncGroupEvents([a, started(member('VI_2'))], 'VI_1', a), []);
  });
  it('throws on an unknown member', () => {
    const a = member('VI_1');
    assert.throws(() => syncGroupEvents([a], 'VI_9', a), RangeError);
    assert.throws(() => stepSyncGroup([a], 'VI_9', { type: 'startup' }, 0), RangeError);
  });
});

describe('syncGroupInitialStates (keepalived vrrp_complete_init)', () => {
  it('a group mixing owners in state MASTER with others starts all as BACKUP', () => {
    const out = syncGroupInitialStates([
      defaultParams({ name: 'VI_1', basePriority: 255, initialState: 'MASTER' }),
      defaultParams({ name: 'VI_2', basePriority: 100, initialState: 'MASTER' }),
    ]);
    assert.deepEqual(out.map((p) => p.initialState), ['BACKUP', 'MASTER']);
  });
  it('a group of owners keeps MASTER', () => {
    const p = [
      defaultParams({ name: 'VI_1', basePriority: 255, initialState: 'MASTER' }),
      defaultParams({ name: 'VI_2', basePriority: 255, initialState: 'MASTER' }),
    ];
    assert.deepEqual(syncGroupInitialStates(p), p);
  });
});
