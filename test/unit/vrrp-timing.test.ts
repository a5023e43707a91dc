// Skew_Time and Master_Down_Interval to the exact value, for v2 (RFC 3768 §6.1) and v3
// (RFC 5798 §6.1). The expected numbers are worked out by hand below, not by the formula
// under test:
//   v2:  skew = (256 − p)/256 s            1 s interval → down = 3000 ms + skew
//   v3:  skew = ((256 − p) × cs)/256 cs    e.g. p=100, 10 cs: 156 × 10 / 256 = 6.09375 cs = 60.9375 ms
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInstance, masterDownIntervalMs, skewTimeMs, step } from '../../src/vrrp/instance.js';
import type { InstanceState, VrrpAction } from '../../src/vrrp/types.js';
import { defaultParams } from '../helpers/scenario.js';

interface Row {
  readonly version: 2 | 3;
  readonly intervalCs: number;
  readonly priority: number;
  readonly skew: number;
  readonly down: number;
}

const rows: readonly Row[] = [
  // v2, 1 s: 255/256 s, 156/256 s, 106/256 s, 2/256 s
  { version: 2, intervalCs: 100, priority: 1, skew: 996.09375, down: 3996.09375 },
  { version: 2, intervalCs: 100, priority: 100, skew: 609.375, down: 3609.375 },
  { version: 2, intervalCs: 100, priority: 150, skew: 414.0625, down: 3414.0625 },
  { version: 2, intervalCs: 100, priority: 254, skew: 7.8125, down: 3007.8125 },
  // v3, 1 s = 100 cs: the same numbers as v2
  { version: 3, intervalCs: 100, priority: 1, skew: 996.09375, down: 3996.09375 },
  { version: 3, intervalCs: 100, priority: 100, skew: 609.375, down: 3609.375 },
  { version: 3, intervalCs: 100, priority: 150, skew: 414.0625, down: 3414.0625 },
  { version: 3, intervalCs: 100, priority: 254, skew: 7.8125, down: 3007.8125 },
  // v3, 100 ms = 10 cs: 2550/256 cs = 9.9609375 cs, 1560/256, 1060/256, 20/256
  { version: 3, intervalCs: 10, priority: 1, skew: 99.609375, down: 399.609375 },
  { version: 3, intervalCs: 10, priority: 100, skew: 60.9375, down: 360.9375 },
  { version: 3, intervalCs: 10, priority: 150, skew: 41.40625, down: 341.40625 },
  { version: 3, intervalCs: 10, priority: 254, skew: 0.78125, down: 300.78125 },
  // v3, 10 ms = 1 cs: 255/256 cs, 156/256 cs, 106/256 cs, 2/256 cs
  { version: 3, intervalCs: 1, priority: 1, skew: 9.9609375, down: 39.9609375 },
  { version: 3, intervalCs: 1, priority: 100, skew: 6.09375, down: 36.09375 },
  { version: 3, intervalCs: 1, priority: 150, skew: 4.140625, down: 34.140625 },
  { version: 3, intervalCs: 1, priority: 254, skew: 0.078125, down: 30.078125 },
];

const label = (r: Row): string => `v${r.version} ${r.intervalCs * 10} ms priority ${r.priority}`;

function masterDownDeadline(actions: readonly VrrpAction[]): number {
  const set = actions.filter((a) => a.type === 'setTimer' && a.timer === 'masterDown');
  assert.equal(set.length, 1, `one masterDown setTimer expected in ${JSON.stringify(actions)}`);
  const a = set[0];
  assert.ok(a && a.type === 'setTimer');
  return a.at;
}

describe('Skew_Time and Master_Down_Interval (exported functions)', () => {
  for (const r of rows) {
    it(label(r), () => {
      assert.equal(skewTimeMs(r.priority, r.intervalCs, r.version), r.skew);
      assert.equal(masterDownIntervalMs(r.priority, r.intervalCs, r.version), r.down);
      // to the millisecond, as the issue asks, and in fact exactly
      assert.equal(Math.floor(masterDownIntervalMs(r.priority, r.intervalCs, r.version)), Math.floor(r.down));
    });
  }

  it('v2 skew does not depend on the advertisement interval (RFC 3768 §6.1: seconds)', () => {
    assert.equal(skewTimeMs(100, 300, 2), 609.375);
    assert.equal(masterDownIntervalMs(100, 300, 2), 9609.375);
  });

  it('vrrp_down_timer_adverts replaces the 3', () => {
    assert.equal(masterDownIntervalMs(100, 100, 2, 1), 1609.375);
    assert.equal(masterDownIntervalMs(254, 10, 3, 5), 500.78125);
  });

  it('priority 255 (owner) has the smallest skew: 1/256 s (v2), 1/256 cs at 1 cs (v3)', () => {
    assert.equal(skewTimeMs(255, 100, 2), 3.90625);
    assert.equal(skewTimeMs(255, 1, 3), 0.0390625);
  });
});

describe('Master_Down_Interval as the machine arms it', () => {
  for (const r of rows) {
    it(`${label(r)}: after startup and after an advert`, () => {
      let s: InstanceState = createInstance(
        defaultParams({ version: r.version, advertIntervalCs: r.intervalCs, basePriority: r.priority }),
      );
      const t0 = 1000;
      let out = step(s, { type: 'startup' }, t0);
      s = out.state;
      assert.equal(masterDownDeadline(out.actions), t0 + r.down);

      // an advert from a higher master (255 beats every row), same interval
      const t1 = 1250.5;
      out = step(s, { type: 'advert', advert: { from: '10.0.0.2', priority: 255, intervalCs: r.intervalCs } }, t1);
      s = out.state;
      assert.equal(masterDownDeadline(out.actions), t1 + r.down);

      // priority 0: Skew_Time only (RFC 3768 §6.4.2)
      const t2 = 1300;
      out = step(s, { type: 'advert', advert: { from: '10.0.0.2', priority: 0, intervalCs: r.intervalCs } }, t2);
      assert.equal(masterDownDeadline(out.actions), t2 + r.skew);
    });
  }

  it('v3: a backup configured at 1 s learns a 10 ms master and arms 36.09375 ms at priority 100', () => {
    let s = createInstance(defaultParams({ version: 3, advertIntervalCs: 100, basePriority: 100 }));
    s = step(s, { type: 'startup' }, 0).state;
    const out = step(s, { type: 'advert', advert: { from: '10.0.0.2', priority: 200, intervalCs: 1 } }, 500);
    assert.equal(masterDownDeadline(out.actions), 536.09375);
    assert.equal(out.state.masterAdverIntervalCs, 1);
  });

  it('v3: a backup configured at 10 ms learns a 1 s master and arms 3414.0625 ms at priority 150', () => {
    let s = createInstance(defaultParams({ version: 3, advertIntervalCs: 1, basePriority: 150 }));
    s = step(s, { type: 'startup' }, 0).state;
    const out = step(s, { type: 'advert', advert: { from: '10.0.0.2', priority: 200, intervalCs: 100 } }, 500);
    assert.equal(masterDownDeadline(out.actions), 3914.0625);
  });

  it('the advert timer of a v3 master at 10 ms is 10 ms, not 10 s', () => {
    let s = createInstance(defaultParams({ version: 3, advertIntervalCs: 1, basePriority: 255, initialState: 'MASTER' }));
    const out = step(s, { type: 'startup' }, 100);
    s = out.state;
    assert.deepEqual(s.timers.advert, { at: 110, generation: 1 });
  });
});
