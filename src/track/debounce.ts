/**
 * keepalived's rise/fall counter for a vrrp_script (vrrp_scheduler.c
 * vrrp_script_child_thread, vrrp_init_script; vrrp.c clear_diff_script), pure.
 *
 * `result` runs 0 .. rise+fall-1: below `rise` the script is failing, from `rise` up it
 * is OK. A success while failing climbs one step (OK once it reaches `rise`); a success
 * while OK jumps to the top. A failure while OK steps down (failing once it would drop
 * below `rise`); a failure while failing resets to 0, so `rise` successes must be
 * consecutive.
 *
 * Start-up: without init_fail the counter starts at rise-1, and the *first* result
 * decides at once whatever rise/fall say ("one success is enough", and one failure
 * too). With init_fail it starts at 0, failing, and needs `rise` successes.
 */

export type DebouncedStatus = 'unknown' | 'ok' | 'failing';

export interface DebounceState {
  readonly result: number;
  /** 'init': no result yet; 'failed': init_fail and no result yet; 'done': has run. */
  readonly init: 'init' | 'failed' | 'done';
  readonly status: DebouncedStatus;
}

export interface RiseFall {
  readonly rise: number;
  readonly fall: number;
}

export function initialDebounce(rf: RiseFall, initFail: boolean): DebounceState {
  return initFail
    ? { result: 0, init: 'failed', status: 'failing' }
    : { result: rf.rise - 1, init: 'init', status: 'unknown' };
}

/** One finished run. `changed` is true when the debounced status moved (keepalived logs and updates priorities). */
export function applyResult(
  s: DebounceState,
  rf: RiseFall,
  success: boolean,
): { state: DebounceState; changed: boolean } {
  const top = rf.rise + rf.fall - 1;
  let result = s.result;
  let status = s.status;
  if (success) {
    if (result < rf.rise - 1) {
      result++;
    } else if (result !== top) {
      if (result < rf.rise) status = 'ok';
      result = top;
    }
  } else if (result > rf.rise) {
    result--;
  } else {
    if (result === rf.rise || s.init === 'init') status = 'failing';
    result = 0;
  }
  return { state: { result, init: 'done', status }, changed: status !== s.status };
}

/**
 * A reload that keeps a script (same name) with possibly different rise/fall
 * (vrrp.c clear_diff_script): a script that never ran starts over; otherwise the
 * counter keeps its distance from `rise` in the new scale, so OK stays OK and failing
 * stays failing.
 */
export function carryOver(prev: DebounceState, was: RiseFall, now: RiseFall): DebounceState {
  if (prev.init === 'init') return initialDebounce(now, false);
  const top = now.rise + now.fall - 1;
  if (prev.result < was.rise) {
    const result = prev.result === 0 ? 0 : Math.max(0, now.rise - (was.rise - prev.result));
    return { result, init: 'done', status: 'failing' };
  }
  const result = prev.result === was.rise + was.fall - 1 ? top : Math.min(top, now.rise + (prev.result - was.rise));
  return { result, init: 'done', status: 'ok' };
}
