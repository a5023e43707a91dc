/**
 * The clock the trackers schedule with, injectable so unit tests move time by hand
 * instead of sleeping. `now()` is monotonic milliseconds (never Date.now()).
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
