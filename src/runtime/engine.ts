/**
 * The engine drives the pure VRRP core: it holds every instance's InstanceState, feeds
 * events through `step` (via the sync-group stepper, so a lone instance is simply a
 * group of one), owns the real timers the core asks for, and hands every other action
 * to the daemon's executor.
 *
 * Timers: one real timer per (instance, TimerKind), keyed by the generation the core
 * chose. A timer that fires feeds `{ type: 'timer', generation }` back; the core ignores
 * a stale generation, so a late or doubled expiry can never act twice.
 *
 * Events raised while an event is being processed (an executor that reacts at once)
 * are queued and run afterwards, so the core is never re-entered.
 */
import { createInstance, stepSyncGroup } from '../vrrp/index.js';
import type { InstanceParams, InstanceState, TimerKind, VrrpAction, VrrpEvent } from '../vrrp/types.js';

export interface Scheduler {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls fn at (or just after) the absolute deadline `at`; returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  at(at, fn) {
    const t = setTimeout(fn, Math.max(0, at - performance.now()));
    return () => clearTimeout(t);
  },
};

/** Every action except the timers, which the engine handles itself. */
export type ExecutedAction = Exclude<VrrpAction, { type: 'setTimer' } | { type: 'cancelTimer' }>;

export interface EngineHooks {
  execute(instance: string, action: ExecutedAction, state: InstanceState): void;
}

interface Member {
  state: InstanceState;
  readonly unit: string;
  readonly timers: Map<TimerKind, () => void>;
}

export class Engine {
  readonly #sched: Scheduler;
  readonly #hooks: EngineHooks;
  readonly #members = new Map<string, Member>();
  readonly #units = new Map<string, string[]>();
  readonly #queue: Array<{ name: string; event: VrrpEvent }> = [];
  #busy = false;

  constructor(sched: Scheduler, hooks: EngineHooks) {
    this.#sched = sched;
    this.#hooks = hooks;
  }

  now(): number {
    return this.#sched.now();
  }

  /** Adds a unit (a vrrp_sync_group, or one lone instance) in INIT. */
  addUnit(unit: string, params: readonly InstanceParams[]): void {
    if (this.#units.has(unit)) throw new RangeError(`unit ${unit} exists`);
    const names: string[] = [];
    for (const p of params) {
      if (this.#members.has(p.name)) throw new RangeError(`instance ${p.name} exists`);
      this.#members.set(p.name, { state: createInstance(p), unit, timers: new Map() });
      names.push(p.name);
    }
    this.#units.set(unit, names);
  }

  /** Forgets a unit. Its instances should have been shut down (INIT) first. */
  removeUnit(unit: string): void {
    for (const name of this.#units.get(unit) ?? []) {
      const m = this.#members.get(name);
      if (m) for (const cancel of m.timers.values()) cancel();
      this.#members.delete(name);
    }
    this.#units.delete(unit);
  }

  has(name: string): boolean {
    return this.#members.has(name);
  }

  state(name: string): InstanceState | undefined {
    return this.#members.get(name)?.state;
  }

  /** Replaces an instance's static parameters in place (e.g. its primary address changed). */
  patchParams(name: string, patch: Partial<InstanceParams>): void {
    const m = this.#members.get(name);
    if (m) m.state = { ...m.state, params: { ...m.state.params, ...patch } };
  }

  feed(name: string, event: VrrpEvent): void {
    this.#queue.push({ name, event });
    if (this.#busy) return;
    this.#busy = true;
    try {
      let next;
      while ((next = this.#queue.shift()) !== undefined) this.#process(next.name, next.event);
    } finally {
      this.#busy = false;
    }
  }

  #process(name: string, event: VrrpEvent): void {
    const member = this.#members.get(name);
    if (member === undefined) return;
    const names = this.#units.get(member.unit) ?? [name];
    const members = names.map((n) => this.#members.get(n) as Member);
    const r = stepSyncGroup(
      members.map((m) => m.state),
      name,
      event,
      this.#sched.now(),
    );
    r.members.forEach((s, i) => {
      (members[i] as Member).state = s;
    });
    for (const { instance, action } of r.actions) {
      const m = this.#members.get(instance);
      if (m === undefined) continue;
      switch (action.type) {
        case 'setTimer': {
          m.timers.get(action.timer)?.();
          const { timer, generation } = action;
          m.timers.set(
            timer,
            this.#sched.at(action.at, () => {
              m.timers.delete(timer);
              this.feed(instance, { type: 'timer', timer, generation });
            }),
          );
          break;
        }
        case 'cancelTimer':
          m.timers.get(action.timer)?.();
          m.timers.delete(action.timer);
          break;
        default:
          this.#hooks.execute(instance, action, m.state);
      }
    }
  }

  /** Cancels every timer. Safe to call twice. */
  close(): void {
    for (const m of this.#members.values()) {
      for (const cancel of m.timers.values()) cancel();
      m.timers.clear();
    }
    this.#queue.length = 0;
  }
}
