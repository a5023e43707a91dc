// vrrp_script rise/fall, as keepalived 2.2.7 counts it (vrrp_scheduler.c
// vrrp_script_child_thread, vrrp_init_script; vrrp.c clear_diff_script).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyResult, carryOver, initialDebounce, type DebounceState, type RiseFall } from '../../src/track/debounce.js';

function feed(rf: RiseFall, initFail: boolean, results: readonly boolean[]): { states: DebounceState[]; changes: number[] } {
  let s = initialDebounce(rf, initFail);
  const states: DebounceState[] = [];
  const changes: number[] = [];
  results.forEach((ok, i) => {
    const r = applyResult(s, rf, ok);
    s = r.state;
    states.push(s);
    if (r.changed) changes.push(i);
  });
  return { states, changes };
}
const statuses = (rf: RiseFall, initFail: boolean, results: readonly boolean[]): string[] =>
  feed(rf, initFail, results).states.map((s) => s.status);

describe('vrrp_script debounce (keepalived result counter)', () => {
  it('starts unknown, or failing with init_fail', () => {
    assert.equal(initialDebounce({ rise: 3, fall: 2 }, false).status, 'unknown');
    assert.equal(initialDebounce({ rise: 3, fall: 2 }, true).status, 'failing');
  });

  it('lets the very first result decide at once, whatever rise and fall say', () => {
    assert.deepEqual(statuses({ rise: 5, fall: 5 }, false, [true]), ['ok']);
    assert.deepEqual(statuses({ rise: 5, fall: 5 }, false, [false]), ['failing']);
  });

  it('with init_fail needs `rise` consecutive successes and reports nothing before', () => {
    const rf = { rise: 3, fall: 2 };
    const r = feed(rf, true, [true, true, true]);
    assert.deepEqual(r.states.map((s) => s.status), ['failing', 'failing', 'ok']);
    assert.deepEqual(r.changes, [2]);
    // a failure in between restarts the count, and failing while failing is no change
    const r2 = feed(rf, true, [true, true, false, true, true, true]);
    assert.deepEqual(r2.states.map((s) => s.status), ['failing', 'failing', 'failing', 'failing', 'failing', 'ok']);
    assert.deepEqual(r2.changes, [5]);
  });

  it('goes failing only after `fall` consecutive failures (seed000: fall 2, rise 1)', () => {
    const rf = { rise: 1, fall: 2 };
    assert.deepEqual(statuses(rf, false, [true, false, true, false, false, true]), ['ok', 'ok', 'ok', 'ok', 'failing', 'ok']);
  });

  it('goes OK only after `rise` consecutive successes once failing', () => {
    const rf = { rise: 3, fall: 1 };
    assert.deepEqual(
      statuses(rf, false, [false, true, true, false, true, true, true]),
      ['failing', 'failing', 'failing', 'failing', 'failing', 'failing', 'ok'],
    );
  });

  it('reports only changes', () => {
    const r = feed({ rise: 2, fall: 2 }, false, [true, true, false, false, false, true, true, true]);
    assert.deepEqual(r.changes, [0, 3, 6]);
  });

  it('matches the "consecutive streak" reading of rise/fall on any sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (rise, fall, initFail, results) => {
          // Reference: independent of keepalived's counter representation.
          let status: 'unknown' | 'ok' | 'failing' = initFail ? 'failing' : 'unknown';
          let okStreak = 0;
          let failStreak = 0;
          const expected: string[] = [];
          for (const ok of results) {
            okStreak = ok ? okStreak + 1 : 0;
            failStreak = ok ? 0 : failStreak + 1;
            if (status === 'unknown') status = ok ? 'ok' : 'failing';
            else if (status === 'failing' && okStreak >= rise) status = 'ok';
            else if (status === 'ok' && failStreak >= fall) status = 'failing';
            expected.push(status);
          }
          assert.deepEqual(statuses({ rise, fall }, initFail, results), expected);
        },
      ),
    );
  });

  describe('reload (clear_diff_script)', () => {
    it('a script that never ran starts over', () => {
      const prev = initialDebounce({ rise: 2, fall: 2 }, false);
      assert.deepEqual(carryOver(prev, { rise: 2, fall: 2 }, { rise: 4, fall: 1 }), initialDebounce({ rise: 4, fall: 1 }, false));
    });

    it('OK stays OK, at the top when it was at the top', () => {
      const was = { rise: 2, fall: 3 };
      const { states } = feed(was, false, [true]);
      const prev = states[0] as DebounceState;
      assert.equal(prev.result, 4);
      const next = carryOver(prev, was, { rise: 3, fall: 5 });
      assert.deepEqual(next, { result: 7, init: 'done', status: 'ok' });
    });

    it('OK part-way down keeps its distance from rise (capped)', () => {
      const was = { rise: 2, fall: 3 };
      const { states } = feed(was, false, [true, false]); // 4 -> 3
      const prev = states[1] as DebounceState;
      assert.equal(prev.result, 3);
      assert.deepEqual(carryOver(prev, was, { rise: 1, fall: 4 }), { result: 2, init: 'done', status: 'ok' });
      assert.deepEqual(carryOver(prev, was, { rise: 1, fall: 1 }), { result: 1, init: 'done', status: 'ok' });
    });

    it('failing stays failing, keeping the successes still needed', () => {
      const was = { rise: 3, fall: 1 };
      const { states } = feed(was, false, [false, true]); // 0 -> 1: needs 2 more
      const prev = states[1] as DebounceState;
      assert.deepEqual(carryOver(prev, was, { rise: 4, fall: 1 }), { result: 2, init: 'done', status: 'failing' });
      assert.deepEqual(carryOver(prev, was, { rise: 1, fall: 1 }), { result: 0, init: 'done', status: 'failing' });
      assert.deepEqual(carryOver({ result: 0, init: 'done', status: 'failing' }, was, { rise: 2, fall: 1 }).result, 0);
    });
  });
});
