// RefusalRetry: when an instance whose VIPs the kernel refused tries again. The clock is
// moved by hand (the module takes injectable Timers), so every duration is checked to the
// millisecond: the doubling back-off never below Master_Down_Interval while nobody else
// serves the VIPs; while another router is heard, a try only on kernel news for the VIPs'
// interfaces (after the back-off, 500 ms after the last news) or after 10 minutes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Timers } from '../../src/track/timers.js';
import { MAX_BACKOFF_MS, MIN_BACKOFF_MS, NEWS_SETTLE_MS, QUIET_RETRY_MS, RefusalRetry } from '../../src/runtime/vip-refusal.js';

/** Master_Down_Interval at priority 100, 1 s adverts (RFC 3768 §6.1): 3 s + 156/256 s. */
const DOWN = 3609.375;
const PROBLEMS = ['fd00::50/64 on eth0: Permission denied'];

class FakeClock implements Timers {
  t = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  pending(): number {
    return this.#timers.size;
  }
  /** Runs every timer due up to `end`, in time order (timers set meanwhile included). */
  advanceTo(end: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = Math.max(this.t, end);
  }
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }
}

interface Harness {
  readonly clock: FakeClock;
  readonly r: RefusalRetry;
  /** When onRetry ran. */
  readonly retries: number[];
  /** What the daemon does on a try: by default nothing (the VIPs were added this time). */
  onRetry: () => void;
  /** Another router advertises every second until `until` (its last advert at or before it). */
  peer(until: number, intervalMs?: number): void;
}

function harness(masterDownMs = DOWN): Harness {
  const clock = new FakeClock();
  const retries: number[] = [];
  const h: Harness = {
    clock,
    retries,
    onRetry: () => undefined,
    r: new RefusalRetry({
      onRetry: () => {
        retries.push(clock.t);
        h.onRetry();
      },
      masterDownMs: () => masterDownMs,
      timers: clock,
    }),
    peer(until, intervalMs = 1000) {
      const advert = (): void => {
        h.r.heardMaster();
        if (clock.t + intervalMs <= until) clock.setTimeout(advert, intervalMs);
      };
      advert();
    },
  };
  return h;
}

const gaps = (times: readonly number[]): number[] => times.map((t, i) => t - (i === 0 ? 0 : (times[i - 1] as number)));

describe('RefusalRetry: nobody else serves the VIPs', () => {
  it('no fault until the kernel refuses; the fault names the problems, the delay and the interfaces', () => {
    const { r } = harness();
    assert.equal(r.fault, null);
    r.refused(['fd00::50/64 on eth0: Permission denied', '10.9.9.9/24 on eth1: File exists'], ['eth0', 'eth1']);
    assert.equal(
      r.fault,
      'cannot hold VIPs (fd00::50/64 on eth0: Permission denied; 10.9.9.9/24 on eth1: File exists); ' +
        'trying again in 3.6 s, but while another router holds them only once eth0, eth1 changes',
    );
    r.close();
  });

  it('the first try comes after Master_Down_Interval, not a millisecond earlier, and only one', () => {
    const { clock, r, retries } = harness();
    r.refused(PROBLEMS, ['eth0']);
    clock.advanceTo(DOWN - 1);
    assert.deepEqual(retries, [], 'a backup needs Master_Down_Interval to take over; only then is it known who serves');
    assert.notEqual(r.fault, null, 'still in FAULT while waiting');
    clock.advanceTo(DOWN);
    assert.deepEqual(retries, [DOWN]);
    assert.equal(r.fault, null, 'the fault is lifted before onRetry runs, so the refresh sees it gone');
    clock.advance(QUIET_RETRY_MS * 2);
    assert.deepEqual(retries, [DOWN], 'a try that succeeded is not repeated');
    assert.equal(clock.pending(), 0);
  });

  it('the fault is already gone when onRetry runs (the daemon re-reads it there)', () => {
    const h = harness();
    let seen: string | null | undefined;
    h.onRetry = () => {
      seen = h.r.fault;
    };
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(DOWN);
    assert.equal(seen, null);
  });

  it('refused at every try: the back-off doubles from 1 s to a 60 s cap, never below Master_Down_Interval', () => {
    const h = harness();
    const messages: string[] = [];
    h.onRetry = () => {
      if (h.retries.length < 10) {
        h.r.refused(PROBLEMS, ['eth0']); // the daemon's refresh tried again and was refused at once
        messages.push(h.r.fault ?? '');
      }
    };
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(10 * 60_000);
    // back-off 1, 2, 4, 8, 16, 32, 60, 60, 60, 60 s; the first two are below Master_Down_Interval.
    assert.deepEqual(gaps(h.retries), [DOWN, DOWN, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    assert.equal(MIN_BACKOFF_MS, 1000);
    assert.equal(MAX_BACKOFF_MS, 60_000);
    assert.match(messages[0] ?? '', /trying again in 3\.6 s/);
    assert.match(messages[2] ?? '', /trying again in 8 s/, 'the message says the delay that applies');
    assert.match(messages[6] ?? '', /trying again in 60 s/);
  });

  it('with a short Master_Down_Interval (v3, 100 ms adverts) the back-off alone paces the tries', () => {
    const h = harness(360.9375);
    h.onRetry = () => {
      if (h.retries.length < 8) h.r.refused(PROBLEMS, ['eth0']);
    };
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(10 * 60_000);
    assert.deepEqual(gaps(h.retries), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('a refusal long after a try that worked starts the back-off over', () => {
    const h = harness();
    h.onRetry = () => {
      if (h.retries.length < 5) h.r.refused(PROBLEMS, ['eth0']);
    };
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(120_000);
    assert.deepEqual(gaps(h.retries), [DOWN, DOWN, 4000, 8000, 16_000], 'back-off reached 16 s, then the VIPs were added');
    h.clock.advance(30 * 60_000); // half an hour holding the VIPs
    const at = h.clock.t;
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(60_000);
    assert.deepEqual(h.retries.slice(5), [at + DOWN], 'not 32 s: a long quiet spell starts over');
  });
});

describe('RefusalRetry: another router is heard (it serves the VIPs)', () => {
  it('without kernel news: no try for 10 minutes, then one', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS + 60_000);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(QUIET_RETRY_MS - 1);
    assert.deepEqual(h.retries, [], 'each try would take the VIPs away from a router that serves them fine');
    assert.notEqual(h.r.fault, null);
    h.clock.advanceTo(QUIET_RETRY_MS + DOWN);
    const tried = [...h.retries];
    assert.equal(tried.length, 1);
    assert.ok((tried[0] ?? 0) >= QUIET_RETRY_MS, `tried at ${tried[0]}`);
  });

  it('refused again after the quiet try: the next one again waits 10 minutes', () => {
    const h = harness();
    h.onRetry = () => h.r.refused(PROBLEMS, ['eth0']);
    h.peer(3 * QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(2 * QUIET_RETRY_MS + 2 * DOWN);
    assert.equal(h.retries.length, 2, `tries at ${h.retries.join(', ')}`);
    const [a, b] = h.retries as [number, number];
    assert.ok(a >= QUIET_RETRY_MS && a <= QUIET_RETRY_MS + DOWN, `first at ${a}`);
    assert.ok(b - a >= QUIET_RETRY_MS && b - a <= QUIET_RETRY_MS + DOWN, `second ${b - a} ms later`);
    h.r.close();
  });

  it('the other router going quiet: a try once its Master_Down_Interval has run out', () => {
    const h = harness();
    h.peer(20_000); // last advert at 20 s
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(20_000 + DOWN - 1);
    assert.deepEqual(h.retries, [], 'still served until its Master_Down_Interval has passed');
    h.clock.advanceTo(20_000 + 2 * DOWN + MIN_BACKOFF_MS);
    const tried = [...h.retries];
    assert.equal(tried.length, 1, 'nobody serves the VIPs now: trying costs nothing');
    assert.ok((tried[0] ?? 0) >= 20_000 + DOWN, `tried at ${tried[0]}`);
  });

  it('heard once just before the refusal and never again: the first try at Master_Down_Interval', () => {
    const h = harness();
    h.r.heardMaster();
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advance(DOWN);
    assert.deepEqual(h.retries, [DOWN]);
  });

  it('kernel news on a VIP interface: a try 500 ms after it', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(10_000);
    h.r.news('eth0');
    h.clock.advanceTo(10_000 + NEWS_SETTLE_MS - 1);
    assert.deepEqual(h.retries, [], 'news comes in bursts: wait for it to settle');
    h.clock.advanceTo(10_000 + NEWS_SETTLE_MS);
    assert.deepEqual(h.retries, [10_000 + NEWS_SETTLE_MS]);
    assert.equal(NEWS_SETTLE_MS, 500);
  });

  it('a burst of news: the try comes 500 ms after its last item, once', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth0']);
    for (const t of [10_000, 10_200, 10_400]) {
      h.clock.advanceTo(t);
      h.r.news('eth0');
    }
    h.clock.advanceTo(60_000);
    assert.deepEqual(h.retries, [10_900]);
  });

  it('news right after a refusal waits out the back-off, which doubles with each refusal', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    let last = 0;
    h.onRetry = () => {
      if (h.retries.length >= 4) return;
      h.r.refused(PROBLEMS, ['eth0']);
      last = h.clock.t;
      h.clock.setTimeout(() => h.r.news('eth0'), 100); // the link flaps again at once
    };
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(100);
    h.r.news('eth0');
    h.clock.advanceTo(5 * 60_000);
    // back-off 1, 2, 4, 8 s from each refusal; news 100 ms later does not make it shorter.
    assert.deepEqual(gaps(h.retries), [1000, 2000, 4000, 8000]);
    assert.equal(last, 7000);
  });

  it('news about an interface the VIPs do not use is no reason to try', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(10_000);
    h.r.news('eth1');
    h.r.news('lo');
    h.r.news('eth0.100');
    h.clock.advanceTo(5 * 60_000);
    assert.deepEqual(h.retries, []);
    h.r.close();
  });

  it('VIPs on two interfaces: news on either is a reason', () => {
    for (const dev of ['eth0', 'eth1']) {
      const h = harness();
      h.peer(QUIET_RETRY_MS);
      h.r.refused(PROBLEMS, ['eth0', 'eth1']);
      h.clock.advanceTo(10_000);
      h.r.news(dev);
      h.clock.advanceTo(20_000);
      assert.deepEqual(h.retries, [10_500], dev);
      h.r.close();
    }
  });

  it('the interfaces are those of the latest refusal', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth1']);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(10_000);
    h.r.news('eth1');
    h.clock.advanceTo(60_000);
    assert.deepEqual(h.retries, [], 'eth1 no longer carries a refused VIP');
    h.r.news('eth0');
    h.clock.advanceTo(61_000);
    assert.deepEqual(h.retries, [60_500]);
  });

  it('a new refusal forgets the news that led to the try', () => {
    const h = harness();
    h.onRetry = () => h.r.refused(PROBLEMS, ['eth0']);
    h.peer(QUIET_RETRY_MS);
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(5000);
    h.r.news('eth0');
    h.clock.advanceTo(5 * 60_000);
    assert.deepEqual(h.retries, [5500], 'refused again: the cause is still there; wait for new news');
    h.r.close();
  });

  it('news while not in FAULT is ignored, before a refusal and after a try', () => {
    const h = harness();
    h.peer(QUIET_RETRY_MS);
    h.r.news('eth0');
    assert.equal(h.clock.pending(), 1, 'only the peer advert timer');
    h.r.refused(PROBLEMS, ['eth0']);
    h.clock.advanceTo(5000);
    h.r.news('eth0');
    h.clock.advanceTo(6000);
    assert.deepEqual(h.retries, [5500]);
    h.r.news('eth0'); // the VIPs were added this time: their own address news must not cause another try
    assert.equal(h.clock.pending(), 1, 'no timer armed for it, only the peer advert timer');
    h.clock.advanceTo(5 * 60_000);
    assert.deepEqual(h.retries, [5500]);
  });
});

describe('RefusalRetry: close', () => {
  it('close() stops the pending try and is safe to call twice', () => {
    const { clock, r, retries } = harness();
    r.refused(PROBLEMS, ['eth0']);
    assert.equal(clock.pending(), 1);
    r.close();
    r.close();
    assert.equal(clock.pending(), 0);
    clock.advance(QUIET_RETRY_MS * 2);
    assert.deepEqual(retries, []);
  });

  it('after close(), kernel news or a late refusal starts no timer and no try', () => {
    const { clock, r, retries } = harness();
    r.refused(PROBLEMS, ['eth0']);
    r.close();
    r.news('eth0'); // the link monitor may still deliver news queued before the stop
    r.refused(PROBLEMS, ['eth0']); // a VIP add in flight at the stop
    assert.equal(clock.pending(), 0, 'a closed RefusalRetry holds no timer');
    clock.advance(QUIET_RETRY_MS * 2);
    assert.deepEqual(retries, [], 'a closed RefusalRetry never calls onRetry');
  });
});

describe('RefusalRetry: default timers', () => {
  it('without injected timers it schedules with the global setTimeout', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const retries: number[] = [];
    const r = new RefusalRetry({ onRetry: () => retries.push(1), masterDownMs: () => DOWN });
    r.refused(PROBLEMS, ['eth0']);
    t.mock.timers.tick(DOWN - 10);
    assert.deepEqual(retries, []);
    t.mock.timers.tick(20);
    assert.deepEqual(retries, [1]);
    r.close();
  });
});
