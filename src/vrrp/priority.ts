/**
 * Effective priority from the base priority and the trackers, with keepalived 2.2.7's
 * arithmetic (vrrp_track.c: initialise_track_script_state, initialise_interface_tracking_
 * priorities, initialise_vrrp_file_tracking_priorities, vrrp_set_effective_priority;
 * trackers/track_file.c: process_update_vrrp_track_file_status).
 *
 * keepalived updates a running total by deltas; this recomputes the same total from the
 * current statuses, which is what the deltas add up to.
 */

export type TrackerStatus = 'ok' | 'failing' | 'unknown';

export type Tracker =
  | {
      /** vrrp_script (track_script) or track_interface. */
      readonly kind: 'script' | 'interface';
      readonly name: string;
      /** 0 means "failing puts the instance in FAULT"; otherwise added or subtracted. */
      readonly weight: number;
      readonly reverse?: boolean;
      /** `unknown`: a script that has not finished its first run yet. */
      readonly status: TrackerStatus;
    }
  | {
      /** track_file: the integer read from the file. */
      readonly kind: 'file';
      readonly name: string;
      readonly weight: number;
      readonly reverse?: boolean;
      readonly status: number;
    };

export interface PriorityResult {
  /** The effective priority: 1..254, or 255 untouched for the address owner. */
  readonly priority: number;
  readonly fault: boolean;
  /** Human reasons, one per tracker that causes the fault, in tracker order. */
  readonly faultReasons: readonly string[];
}

const OWNER = 255;
/** keepalived's track_file fault threshold: value × weight ≤ −254 means FAULT. */
const FILE_FAULT = -254;
/** ... and a contribution above 253 is capped there. */
const FILE_MAX = 253;

function describe(t: Tracker): string {
  switch (t.kind) {
    case 'script':
      return t.status === 'unknown' ? `script ${t.name} not run yet` : `script ${t.name} ${t.reverse ? 'succeeded (reverse)' : 'failed'}`;
    case 'interface':
      return `interface ${t.name} ${t.reverse ? 'up (reverse)' : 'down'}`;
    case 'file':
      return `track_file ${t.name} value ${t.status}`;
  }
}

/** The contribution of one tracker to the total, or 'fault'. */
function contribution(t: Tracker): number | 'fault' {
  const multiplier = t.reverse ? -1 : 1;
  if (t.kind === 'file') {
    if (t.weight === 0) {
      // weight 0: a non-zero value is a failure (zero, with reverse)
      return (t.status !== 0) === (multiplier === 1) ? 'fault' : 0;
    }
    const value = t.status * t.weight * multiplier;
    if (value <= FILE_FAULT) return 'fault';
    return Math.min(value, FILE_MAX);
  }
  if (t.status === 'unknown') {
    // keepalived counts a weight-0 script that has not run as num_script_init, which
    // keeps the instance out of BACKUP/MASTER; a weighted one adds nothing yet.
    return t.weight === 0 ? 'fault' : 0;
  }
  const ok = t.status === 'ok';
  if (t.weight === 0) return ok === (multiplier === 1) ? 0 : 'fault';
  // Positive weight: added while OK. Negative weight: added while failing.
  // reverse flips the sign of what is added (weight_multiplier −1).
  if (ok) return t.weight > 0 ? t.weight * multiplier : 0;
  return t.weight < 0 ? t.weight * multiplier : 0;
}

export function computePriority(basePriority: number, trackers: readonly Tracker[]): PriorityResult {
  let total = basePriority;
  const faultReasons: string[] = [];
  for (const t of trackers) {
    const c = contribution(t);
    if (c === 'fault') faultReasons.push(describe(t));
    else total += c;
  }
  // vrrp_set_effective_priority: the owner's priority never moves; others are clamped 1..254.
  const priority = basePriority === OWNER ? OWNER : Math.min(OWNER - 1, Math.max(1, total));
  return { priority, fault: faultReasons.length > 0, faultReasons };
}
