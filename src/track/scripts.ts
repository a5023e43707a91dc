/**
 * One vrrp_script, run the way keepalived runs it (vrrp_scheduler.c vrrp_script_thread
 * and vrrp_script_child_thread):
 *
 * - the first run starts at once, then one every `interval`, measured from the start
 *   of the previous run;
 * - a run still going when the next one is due is not started again: that run is
 *   skipped and logged (keepalived's "Track script X is already running, expect idle -
 *   skipping run"; 2.1.3 .. 2.3.2 lost the `return` and started it anyway, fixed upstream
 *   in 94d40e3b);
 * - `timeout` → SIGTERM to the script's process group, SIGKILL 2 s later; a timed-out
 *   run is a failure;
 * - exit status 0 is success, anything else (status, signal, cannot start) failure;
 *   rise/fall debounce as in debounce.ts, and only a change of the debounced status is
 *   reported (onStatus).
 *
 * Before each run the program is checked (program-check.ts): missing, not executable,
 * or — with enable_script_security — modifiable by a non-root user while it would run
 * as root. Such a run is a failure, logged once per distinct reason. keepalived instead
 * drops such a script from tracking at start-up ("Disabling track script"); vipd keeps
 * it and reports it failing, so a broken health check cannot go unnoticed.
 */
import type { Logger } from 'pino';
import { shellConstruct, shellFix } from '../config/host-checks.js';
import type { VrrpScript } from '../config/model.js';
import { describeOutcome, isLeftoverGroup, killLeftovers, runCommand, type RunOptions, type RunResult } from '../exec/run-command.js';
import type { ScriptUsers } from '../exec/users.js';
import { applyResult, carryOver, initialDebounce, type DebounceState, type DebouncedStatus } from './debounce.js';
import { checkProgram, type CheckOptions, type ProgramCheck } from './program-check.js';
import { realTimers, type Timers } from './timers.js';

export type ScriptStatus = 'ok' | 'failing';

/** What a reload hands from the old tracker of a script to the new one (keepalived clear_diff_script). */
export interface ScriptSnapshot {
  readonly state: DebounceState;
  readonly rise: number;
  readonly fall: number;
}

export interface ScriptTrackerOptions {
  readonly script: VrrpScript;
  readonly users: ScriptUsers;
  readonly log: Logger;
  /** global enable_script_security. */
  readonly scriptSecurity: boolean;
  /** Called only when the debounced status changes; `detail` says why ("exited with status 1"). */
  readonly onStatus: (name: string, status: ScriptStatus, detail: string) => void;
  readonly timers?: Timers;
  /** The process runner (tests inject a fake). */
  readonly run?: (opts: RunOptions) => Promise<RunResult>;
  /** The program check (tests inject a fake). */
  readonly check?: (argv0: string, opts: CheckOptions) => Promise<ProgramCheck>;
  /** SIGTERM → SIGKILL grace after a timeout (default 2000, keepalived's). */
  readonly killGraceMs?: number;
  /** Output bytes kept per run (default 4096); the rest is drained and dropped. */
  readonly maxOutputBytes?: number;
  /** On reload: the previous tracker's snapshot(), so OK stays OK (keepalived). */
  readonly resume?: ScriptSnapshot;
}

export interface ScriptTrackerInfo {
  readonly name: string;
  /** 'unknown' until the first result (unless init_fail). */
  readonly status: DebouncedStatus;
  readonly running: boolean;
  readonly runs: number;
  readonly successes: number;
  /** Failed runs: non-zero exit, signal, timeout, could not start, refused. */
  readonly failures: number;
  readonly timeouts: number;
  /** Runs not started because the previous one was still going. */
  readonly skipped: number;
  /** "exited with status 1", "timed out", "refused: …" of the last finished run. */
  readonly lastOutcome: string | null;
  readonly lastExitCode: number | null;
  /** Start of the last run (wall clock, ISO). */
  readonly lastRunAt: string | null;
  readonly lastDurationMs: number | null;
  /** The first bytes of the last run's output, trimmed (≤ 256 characters). */
  readonly lastOutput: string | null;
  /** Why the script cannot be run right now (missing, not executable, insecure), else null. */
  readonly problem: string | null;
}

const OUTPUT_EXCERPT = 256;

export class ScriptTracker {
  readonly #s: VrrpScript;
  readonly #o: ScriptTrackerOptions;
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #run: (opts: RunOptions) => Promise<RunResult>;
  readonly #check: (argv0: string, opts: CheckOptions) => Promise<ProgramCheck>;
  #state: DebounceState;
  #timer: unknown = undefined;
  #started = false;
  #closed = false;
  #current: Promise<void> | null = null;
  #abort: AbortController | null = null;
  #lastStatusCode: number | null = null;
  #problem: string | null = null;
  readonly #notes = new Set<string>();
  #skipStreak = 0;
  /** Process groups of finished runs that left processes behind: ended when we close. */
  readonly #leftovers = new Set<number>();
  #info: Omit<ScriptTrackerInfo, 'name' | 'status' | 'running' | 'problem'> = {
    runs: 0,
    successes: 0,
    failures: 0,
    timeouts: 0,
    skipped: 0,
    lastOutcome: null,
    lastExitCode: null,
    lastRunAt: null,
    lastDurationMs: null,
    lastOutput: null,
  };

  constructor(opts: ScriptTrackerOptions) {
    this.#s = opts.script;
    this.#o = opts;
    this.#log = opts.log.child({ script: opts.script.name });
    this.#timers = opts.timers ?? realTimers;
    this.#run = opts.run ?? runCommand;
    this.#check = opts.check ?? checkProgram;
    const rf = { rise: opts.script.rise, fall: opts.script.fall };
    this.#state = opts.resume ? carryOver(opts.resume.state, opts.resume, rf) : initialDebounce(rf, opts.script.initFail);
  }

  get name(): string {
    return this.#s.name;
  }

  /** 'unknown' until the first result, unless init_fail (then 'failing' from the start). */
  status(): DebouncedStatus {
    return this.#state.status;
  }

  snapshot(): ScriptSnapshot {
    return { state: this.#state, rise: this.#s.rise, fall: this.#s.fall };
  }

  info(): ScriptTrackerInfo {
    return {
      name: this.#s.name,
      status: this.#state.status,
      running: this.#current !== null,
      problem: this.#problem,
      ...this.#info,
    };
  }

  /** Runs the script now, then every interval. Calling it again does nothing. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#tick();
  }

  /**
   * Stops scheduling and kills a running script's process group (SIGTERM, then SIGKILL), and
   * what earlier runs left running in theirs (a health check has no business leaving
   * processes behind; keepalived leaves them to systemd's KillMode). Safe twice.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
    const groups = [...this.#leftovers];
    this.#leftovers.clear();
    await Promise.all([this.#current, killLeftovers(groups)]);
  }

  #tick(): void {
    if (this.#closed) return;
    this.#timer = this.#timers.setTimeout(() => this.#tick(), this.#s.intervalMs);
    if (this.#current !== null) {
      this.#info = { ...this.#info, skipped: this.#info.skipped + 1 };
      const msg = `Track script ${this.#s.name} is already running, expect idle - skipping run`;
      if (this.#skipStreak++ === 0) this.#log.warn({ timeoutMs: this.#s.timeoutMs, intervalMs: this.#s.intervalMs }, msg);
      else this.#log.debug(msg);
      return;
    }
    this.#skipStreak = 0;
    const p = this.#once()
      .catch((err: unknown) => this.#log.error({ err }, `vrrp_script ${this.#s.name}: ${(err as Error).message}`))
      .finally(() => {
        this.#current = null;
        this.#abort = null;
      });
    this.#current = p;
  }

  async #once(): Promise<void> {
    const s = this.#s;
    const creds = this.#o.users.resolve(s.user, s.group);
    const startedAt = new Date().toISOString();
    const t0 = this.#timers.now();
    let argv: readonly string[];
    if (s.command.viaShell) {
      // keepalived hands a "</dev/tcp/..." style check to system(): /bin/sh -c.
      argv = ['/bin/sh', '-c', s.command.text];
    } else {
      const check = await this.#check(s.command.argv[0] ?? '', {
        creds,
        scriptSecurity: this.#o.scriptSecurity,
        names: this.#o.users,
      });
      if (this.#closed) return;
      if (!check.ok) {
        this.#cannotRun(check.message, check.problem === 'missing', startedAt, this.#timers.now() - t0);
        return;
      }
      for (const note of check.notes) {
        if (this.#notes.has(note)) continue;
        this.#notes.add(note);
        this.#log.warn({ note }, `vrrp_script ${s.name}: ${note}`);
      }
      argv = [check.path, ...s.command.argv.slice(1)];
    }

    this.#abort = new AbortController();
    const r = await this.#run({
      argv,
      timeoutMs: s.timeoutMs,
      signal: this.#abort.signal,
      ...(this.#o.killGraceMs !== undefined ? { killGraceMs: this.#o.killGraceMs } : {}),
      ...(this.#o.maxOutputBytes !== undefined ? { maxOutputBytes: this.#o.maxOutputBytes } : {}),
      ...creds,
    });
    if (r.leftoverGroup !== undefined) this.#leftBehind(r.leftoverGroup);
    if (this.#closed || r.outcome.kind === 'aborted') return;
    if (r.outcome.kind === 'error') {
      this.#cannotRun(`${argv[0] ?? ''} ${describeOutcome(r.outcome)}`, r.outcome.errno === 'ENOENT', startedAt, r.durationMs);
      return;
    }
    if (this.#problem !== null) {
      this.#log.info({ was: this.#problem }, `vrrp_script ${s.name}: ${s.command.text} runs again`);
      this.#problem = null;
    }

    const outcome = r.outcome;
    const exitCode = outcome.kind === 'exit' ? outcome.code : null;
    const success = exitCode === 0;
    if (exitCode !== null && exitCode !== this.#lastStatusCode) {
      this.#log.info({ status: exitCode }, `Script \`${s.name}\` now returning ${exitCode}`);
    }
    if (exitCode !== null) this.#lastStatusCode = exitCode;
    const detail = outcome.kind === 'timeout' ? `timed out after ${s.timeoutMs} ms` : describeOutcome(outcome);
    const excerpt = r.output.trim().slice(0, OUTPUT_EXCERPT);
    this.#info = {
      ...this.#info,
      runs: this.#info.runs + 1,
      successes: this.#info.successes + (success ? 1 : 0),
      failures: this.#info.failures + (success ? 0 : 1),
      timeouts: this.#info.timeouts + (outcome.kind === 'timeout' ? 1 : 0),
      lastOutcome: detail,
      lastExitCode: exitCode,
      lastRunAt: startedAt,
      lastDurationMs: Math.round(r.durationMs),
      lastOutput: excerpt === '' ? null : excerpt,
    };
    if (outcome.kind === 'timeout') {
      this.#log.warn({ timeoutMs: s.timeoutMs }, `vrrp_script ${s.name}: ${s.command.text} timed out after ${s.timeoutMs} ms; killed`);
    }
    this.#apply(success, detail, excerpt);
  }

  #leftBehind(pgid: number): void {
    if (this.#closed) {
      void killLeftovers([pgid]);
      return;
    }
    for (const g of this.#leftovers) if (!isLeftoverGroup(g)) this.#leftovers.delete(g);
    if (!this.#notes.has('leftovers')) {
      this.#notes.add('leftovers');
      this.#log.warn(
        { pgid },
        `vrrp_script ${this.#s.name}: ${this.#s.command.text} exited but left processes running (process group ${pgid}); vipd ends them when it stops`,
      );
    }
    this.#leftovers.add(pgid);
  }

  /** A run that could not happen: a failure, logged once per distinct reason. */
  #cannotRun(message: string, missing: boolean, startedAt: string, ms: number): void {
    const s = this.#s;
    if (message !== this.#problem) {
      this.#problem = message;
      const construct = missing ? shellConstruct(s.command.argv) : null;
      const hint =
        construct !== null
          ? ` keepalived (and vipd) run vrrp_script commands without a shell, so '${construct}' cannot work; write it as: ${shellFix('script', s.command.text)}`
          : '';
      this.#log.warn({ reason: message }, `vrrp_script ${s.name}: cannot run '${s.command.text}': ${message}; counted as a failure.${hint}`);
    }
    const detail = `cannot run: ${message}`;
    this.#info = {
      ...this.#info,
      runs: this.#info.runs + 1,
      failures: this.#info.failures + 1,
      lastOutcome: detail,
      lastExitCode: null,
      lastRunAt: startedAt,
      lastDurationMs: Math.round(ms),
      lastOutput: null,
    };
    this.#apply(false, detail, '');
  }

  #apply(success: boolean, detail: string, output: string): void {
    const { state, changed } = applyResult(this.#state, { rise: this.#s.rise, fall: this.#s.fall }, success);
    this.#state = state;
    if (!changed || state.status === 'unknown') return;
    const word = success ? 'succeeded' : detail.startsWith('timed out') ? 'timed_out' : 'failed';
    this.#log.info(
      { status: state.status, detail, ...(output !== '' && !success ? { output: output.slice(0, 200) } : {}) },
      `VRRP_Script(${this.#s.name}) ${word}${success ? '' : ` (${detail})`}`,
    );
    this.#o.onStatus(this.#s.name, state.status, detail);
  }
}
