// Effective priority from trackers, as keepalived 2.2.7 computes it:
//   vrrp_track.c initialise_track_script_state / initialise_interface_tracking_priorities:
//     weight > 0 is added while the tracker is OK, weight < 0 while it fails, weight 0 → FAULT
//     when it fails; `reverse` (weight_multiplier −1) flips the sign of what is added and,
//     with weight 0, makes success the fault.
//   vrrp_track.c initialise_vrrp_file_tracking_priorities + track_file.c
//     process_update_vrrp_track_file_status: value × weight × multiplier, ≤ −254 → FAULT,
//     capped at 253; weight 0: a non-zero value → FAULT (zero, with reverse).
//   vrrp_track.c vrrp_set_effective_priority: clamp to 1..254; "Don't change priority if
//     address owner" (255).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computePriority, type Tracker } from '../../src/vrrp/priority.js';

const script = (weight: number, status: 'ok' | 'failing' | 'unknown', reverse = false): Tracker => ({
  kind: 'script',
  name: 'chk_nginx',
  weight,
  status,
  ...(reverse ? { reverse } : {}),
});
const iface = (weight: number, status: 'ok' | 'failing', reverse = false): Tracker => ({
  kind: 'interface',
  name: 'eth1',
  weight,
  status,
  ...(reverse ? { reverse } : {}),
});
const file = (weight: number, status: number, reverse = false): Tracker => ({
  kind: 'file',
  name: '/run/prio',
  weight,
  status,
  ...(reverse ? { reverse } : {}),
});

describe('computePriority: scripts and interfaces', () => {
  const cases: Array<[string, number, Tracker[], number]> = [
    ['no trackers', 100, [], 100],
    ['negative weight, OK: nothing', 100, [script(-20, 'ok')], 100],
    ['negative weight, failing: subtracted (the nginx seed)', 100, [script(-20, 'failing')], 80],
    ['positive weight, OK: added', 100, [script(10, 'ok')], 110],
    ['positive weight, failing: nothing', 100, [script(10, 'failing')], 100],
    ['reverse positive weight, OK: subtracted', 100, [script(10, 'ok', true)], 90],
    ['reverse positive weight, failing: nothing', 100, [script(10, 'failing', true)], 100],
    ['reverse negative weight, OK: nothing', 100, [script(-20, 'ok', true)], 100],
    ['reverse negative weight, failing: added', 100, [script(-20, 'failing', true)], 120],
    ['script not run yet: weighted adds nothing either way', 100, [script(10, 'unknown'), script(-20, 'unknown')], 100],
    ['interface up, weight +5', 100, [iface(5, 'ok')], 105],
    ['interface down, weight -30', 100, [iface(-30, 'failing')], 70],
    ['several trackers add up', 100, [script(-20, 'failing'), iface(5, 'ok'), script(10, 'ok')], 95],
    ['clamped at 254', 250, [script(10, 'ok')], 254],
    ['clamped at 1', 10, [script(-50, 'failing')], 1],
  ];
  for (const [name, base, trackers, priority] of cases) {
    it(name, () => {
      assert.deepEqual(computePriority(base, trackers), { priority, fault: false, faultReasons: [] });
    });
  }

  it('weight 0 failing → FAULT, priority untouched', () => {
    assert.deepEqual(computePriority(100, [script(0, 'failing')]), {
      priority: 100,
      fault: true,
      faultReasons: ['script chk_nginx failed'],
    });
    assert.deepEqual(computePriority(100, [iface(0, 'failing')]), {
      priority: 100,
      fault: true,
      faultReasons: ['interface eth1 down'],
    });
  });

  it('weight 0 reverse: success is the fault', () => {
    assert.equal(computePriority(100, [script(0, 'ok', true)]).fault, true);
    assert.equal(computePriority(100, [script(0, 'failing', true)]).fault, false);
    assert.deepEqual(computePriority(100, [iface(0, 'ok', true)]).faultReasons, ['interface eth1 up (reverse)']);
  });

  it('weight 0 script not run yet: held in FAULT (keepalived num_script_init)', () => {
    assert.deepEqual(computePriority(100, [script(0, 'unknown')]).faultReasons, ['script chk_nginx not run yet']);
  });

  it('every faulty tracker is a reason, in order; weights still add up', () => {
    const r = computePriority(100, [iface(0, 'failing'), script(-20, 'failing'), script(0, 'failing')]);
    assert.deepEqual(r, {
      priority: 80,
      fault: true,
      faultReasons: ['interface eth1 down', 'script chk_nginx failed'],
    });
  });

  it('the owner (255) is never changed by weights, but still faults', () => {
    assert.deepEqual(computePriority(255, [script(-20, 'failing'), iface(50, 'ok')]), {
      priority: 255,
      fault: false,
      faultReasons: [],
    });
    assert.equal(computePriority(255, [script(0, 'failing')]).fault, true);
  });
});

describe('computePriority: track_file', () => {
  it('value × weight is added', () => {
    assert.equal(computePriority(100, [file(1, 20)]).priority, 120);
    assert.equal(computePriority(100, [file(-2, 10)]).priority, 80);
    assert.equal(computePriority(100, [file(5, 0)]).priority, 100);
  });
  it('reverse flips the sign', () => {
    assert.equal(computePriority(100, [file(1, 20, true)]).priority, 80);
  });
  it('a contribution above 253 is capped at 253 (then the total at 254)', () => {
    assert.equal(computePriority(1, [file(1, 1000)]).priority, 254);
    // capped at 253 before other trackers: 1 + 253 − 100 = 154, not 1 + 1000 − 100
    assert.equal(computePriority(1, [file(1, 1000), script(-100, 'failing')]).priority, 154);
  });
  it('value × weight ≤ −254 is FAULT; −253 is just a low priority', () => {
    assert.deepEqual(computePriority(200, [file(1, -254)]), {
      priority: 200,
      fault: true,
      faultReasons: ['track_file /run/prio value -254'],
    });
    assert.equal(computePriority(200, [file(-2, 127)]).fault, true); // −254
    assert.equal(computePriority(200, [file(1, -300)]).fault, true);
    assert.deepEqual(computePriority(200, [file(1, -253)]), { priority: 1, fault: false, faultReasons: [] });
  });
  it('weight 0: a non-zero value is FAULT, zero is fine; reverse swaps them', () => {
    assert.equal(computePriority(100, [file(0, 0)]).fault, false);
    assert.equal(computePriority(100, [file(0, 7)]).fault, true);
    assert.equal(computePriority(100, [file(0, -1)]).fault, true);
    assert.equal(computePriority(100, [file(0, 0, true)]).fault, true);
    assert.equal(computePriority(100, [file(0, 7, true)]).fault, false);
  });
  it('the owner ignores the value but not the fault', () => {
    assert.equal(computePriority(255, [file(1, -100)]).priority, 255);
    assert.equal(computePriority(255, [file(1, -254)]).fault, true);
  });
});
