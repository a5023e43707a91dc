/**
 * The tracker board: the latest status of every tracked object (interfaces, vrrp_scripts,
 * track_files) and, per instance, which of them it tracks with what weight. When a status
 * changes, the instances that track it get their priority and fault recomputed
 * (computePriority, pure) and the caller learns which ones changed.
 */
import { computePriority, type PriorityResult, type Tracker, type TrackerStatus } from '../vrrp/index.js';

export type TrackerKind = Tracker['kind'];
export type Status = TrackerStatus | number;

export interface TrackerRef {
  readonly kind: TrackerKind;
  readonly name: string;
  readonly weight: number;
  readonly reverse: boolean;
}

interface Subscription {
  readonly base: number;
  readonly refs: readonly TrackerRef[];
  last: PriorityResult;
}

export interface PriorityChange {
  readonly instance: string;
  readonly previous: PriorityResult;
  readonly result: PriorityResult;
}

const key = (kind: TrackerKind, name: string): string => `${kind}:${name}`;

export class TrackerBoard {
  readonly #status = new Map<string, Status>();
  readonly #subs = new Map<string, Subscription>();

  #compute(base: number, refs: readonly TrackerRef[]): PriorityResult {
    const trackers: Tracker[] = refs.map((r) => {
      const s = this.#status.get(key(r.kind, r.name));
      return r.kind === 'file'
        ? { kind: 'file', name: r.name, weight: r.weight, reverse: r.reverse, status: typeof s === 'number' ? s : 0 }
        : { kind: r.kind, name: r.name, weight: r.weight, reverse: r.reverse, status: typeof s === 'string' ? s : 'unknown' };
    });
    return computePriority(base, trackers);
  }

  /** Registers (or replaces) an instance's trackers; returns its current priority/fault. */
  subscribe(instance: string, base: number, refs: readonly TrackerRef[]): PriorityResult {
    const last = this.#compute(base, refs);
    this.#subs.set(instance, { base, refs, last });
    return last;
  }

  unsubscribe(instance: string): void {
    this.#subs.delete(instance);
  }

  current(instance: string): PriorityResult | undefined {
    return this.#subs.get(instance)?.last;
  }

  get(kind: TrackerKind, name: string): Status | undefined {
    return this.#status.get(key(kind, name));
  }

  /** Sets a status; returns the instances whose priority or fault changed. */
  set(kind: TrackerKind, name: string, status: Status): PriorityChange[] {
    const k = key(kind, name);
    if (this.#status.get(k) === status) return [];
    this.#status.set(k, status);
    const changes: PriorityChange[] = [];
    for (const [instance, sub] of this.#subs) {
      if (!sub.refs.some((r) => r.kind === kind && r.name === name)) continue;
      const result = this.#compute(sub.base, sub.refs);
      const previous = sub.last;
      sub.last = result;
      if (
        result.priority !== previous.priority ||
        result.fault !== previous.fault ||
        result.faultReasons.join('\n') !== previous.faultReasons.join('\n')
      ) {
        changes.push({ instance, previous, result });
      }
    }
    return changes;
  }

  /** Forgets objects nobody tracks any more (after a reload). */
  prune(): void {
    const used = new Set<string>();
    for (const sub of this.#subs.values()) for (const r of sub.refs) used.add(key(r.kind, r.name));
    for (const k of this.#status.keys()) if (!used.has(k) && !k.startsWith('interface:')) this.#status.delete(k);
  }

  /** For the status document: each tracker of the instance with its status. */
  describe(instance: string): Array<{ kind: TrackerKind; name: string; status: string; weight: number }> {
    const sub = this.#subs.get(instance);
    if (!sub) return [];
    return sub.refs.map((r) => {
      const s = this.#status.get(key(r.kind, r.name));
      let status: string;
      if (r.kind === 'file') status = String(typeof s === 'number' ? s : 0);
      else if (r.kind === 'interface') status = s === 'ok' ? 'UP' : s === 'failing' ? 'DOWN' : 'UNKNOWN';
      else status = s === 'ok' ? 'OK' : s === 'failing' ? 'FAILING' : 'INIT';
      return { kind: r.kind, name: r.name, status, weight: r.weight };
    });
  }
}
