// ScriptTracker scheduling and reporting with a hand-moved clock and a fake runner:
// keepalived's vrrp_script_thread / vrrp_script_child_thread behaviour without sleeping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command, VrrpScript } from '../../src/config/model.js';
import type { RunOptions, RunOutcome, RunResult } from '../../src/exec/run-command.js';
import type { Credentials, ScriptUsers } from '../../src/exec/users.js';
import { createLogger } from '../../src/log.js';
import type { CheckOptions, ProgramCheck } from '../../src/track/program-check.js';
import { ScriptTracker, type ScriptStatus, type ScriptTrackerOptions } from '../../src/track/scripts.js';
import type { Timers } from '../../src/track/timers.js';

const loc = { file: 'keepalived.conf', line: 1, col: 1 };

function command(text: string, viaShell = false): Command {
  return { text, argv: viaShell ? [text] : text.split(' '), user: null, group: null, viaShell, loc };
}

function vscript(over: Partial<VrrpScript> = {}): VrrpScript {
  return {
    name: 'chk',
    command: command('/usr/local/bin/chk_nginx.sh'),
    intervalMs: 1000,
    timeoutMs: 1000,
    weight: -20,
    weightReverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    user: null,
    group: null,
    loc,
    ...over,
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

class FakeClock implements Timers {
  t = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  pending(): number {
    return this.#timers.size;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

class FakeRunner {
  readonly calls: Array<{ opts: RunOptions; resolve: (r: RunResult) => void; done: boolean }> = [];
  readonly run = (opts: RunOptions): Promise<RunResult> =>
    new Promise<RunResult>((resolve) => {
      const call = { opts, resolve, done: false };
      this.calls.push(call);
      opts.signal?.addEventListener('abort', () => this.#end(call, { kind: 'aborted' }, ''));
    });
  #end(call: FakeRunner['calls'][number], outcome: RunOutcome, output: string): void {
    if (call.done) return;
    call.done = true;
    call.resolve({ outcome, output, truncated: false, durationMs: 5 });
  }
  /** Finishes the oldest run still going. */
  async complete(outcome: RunOutcome | number, output = ''): Promise<void> {
    const call = this.calls.find((c) => !c.done);
    assert.ok(call, 'no run is going');
    this.#end(call, typeof outcome === 'number' ? { kind: 'exit', code: outcome } : outcome, output);
    await flush();
    await flush();
  }
  running(): number {
    return this.calls.filter((c) => !c.done).length;
  }
}

interface Harness {
  tracker: ScriptTracker;
  clock: FakeClock;
  runner: FakeRunner;
  changes: Array<[string, ScriptStatus, string]>;
  logs: Array<{ level: number; msg: string }>;
  checks: Array<{ argv0: string; opts: CheckOptions }>;
}

function harness(
  script: VrrpScript,
  over: Partial<ScriptTrackerOptions> & { creds?: Credentials; checkResult?: () => ProgramCheck } = {},
): Harness {
  const clock = new FakeClock();
  const runner = new FakeRunner();
  const changes: Harness['changes'] = [];
  const logs: Harness['logs'] = [];
  const checks: Harness['checks'] = [];
  const log = createLogger({ detail: true, destination: { write: (l: string) => logs.push(JSON.parse(l) as { level: number; msg: string }) } });
  const users: ScriptUsers = { resolve: () => over.creds ?? {} };
  const tracker = new ScriptTracker({
    script,
    users,
    log,
    scriptSecurity: false,
    onStatus: (name, status, detail) => changes.push([name, status, detail]),
    timers: clock,
    run: runner.run,
    check: async (argv0, opts) => {
      checks.push({ argv0, opts });
      return over.checkResult?.() ?? { ok: true, path: argv0, notes: [] };
    },
    ...over,
  });
  return { tracker, clock, runner, changes, logs, checks };
}

const WARN = 40;

describe('ScriptTracker scheduling', () => {
  it('runs at once on start, then every interval measured from the start of the previous run', async () => {
    const h = harness(vscript({ intervalMs: 1000 }));
    h.tracker.start();
    await flush();
    assert.equal(h.runner.calls.length, 1);
    await h.clock.advance(300);
    await h.runner.complete(0); // the run took 300 ms
    await h.clock.advance(699);
    assert.equal(h.runner.calls.length, 1, 'not yet at t=999');
    await h.clock.advance(1);
    assert.equal(h.runner.calls.length, 2, 'due at t=1000, not 1300');
    await h.runner.complete(0);
    await h.clock.advance(1000);
    assert.equal(h.runner.calls.length, 3);
    await h.tracker.close();
  });

  it('start() twice does not double the schedule', async () => {
    const h = harness(vscript());
    h.tracker.start();
    h.tracker.start();
    await flush();
    assert.equal(h.runner.calls.length, 1);
    await h.tracker.close();
  });

  it('never runs the script twice at once: a due run is skipped while one is going (keepalived: "skipping run")', async () => {
    const h = harness(vscript({ intervalMs: 1000, timeoutMs: 5000 }));
    h.tracker.start();
    await flush();
    await h.clock.advance(1000);
    await h.clock.advance(1000);
    assert.equal(h.runner.calls.length, 1);
    assert.equal(h.runner.running(), 1);
    assert.equal(h.tracker.info().skipped, 2);
    assert.equal(h.tracker.info().running, true);
    const warns = h.logs.filter((l) => l.level === WARN && /already running, expect idle - skipping run/.test(l.msg));
    assert.equal(warns.length, 1, 'warned once per streak, not every interval');
    await h.clock.advance(500);
    await h.runner.complete(0); // finishes at t=2500
    assert.equal(h.runner.calls.length, 1);
    await h.clock.advance(500); // t=3000: the next due time starts a run
    assert.equal(h.runner.calls.length, 2);
    await h.tracker.close();
  });

  it('passes the timeout, credentials and an abort signal to the runner', async () => {
    const h = harness(vscript({ timeoutMs: 700, user: 'nobody' }), { creds: { uid: 65534, gid: 65534 } });
    h.tracker.start();
    await flush();
    const opts = h.runner.calls[0]?.opts;
    assert.equal(opts?.timeoutMs, 700);
    assert.equal(opts?.uid, 65534);
    assert.equal(opts?.gid, 65534);
    assert.ok(opts?.signal instanceof AbortSignal);
    assert.deepEqual(opts?.argv, ['/usr/local/bin/chk_nginx.sh']);
    assert.deepEqual(h.checks[0]?.opts.creds, { uid: 65534, gid: 65534 });
    await h.tracker.close();
  });

  it('runs a "</dev/tcp/…" check with /bin/sh -c, as keepalived does, without a program check', async () => {
    const text = '</dev/tcp/127.0.0.1/80';
    const h = harness(vscript({ command: command(text, true) }));
    h.tracker.start();
    await flush();
    assert.deepEqual(h.runner.calls[0]?.opts.argv, ['/bin/sh', '-c', text]);
    assert.equal(h.checks.length, 0);
    await h.tracker.close();
  });

  it('close() kills the running script, stops the schedule and is safe twice', async () => {
    const h = harness(vscript());
    h.tracker.start();
    await flush();
    const signal = h.runner.calls[0]?.opts.signal;
    await h.tracker.close();
    assert.equal(signal?.aborted, true);
    await h.tracker.close();
    assert.equal(h.clock.pending(), 0);
    await h.clock.advance(5000);
    assert.equal(h.runner.calls.length, 1);
    assert.deepEqual(h.changes, [], 'an aborted run is not a result');
    assert.equal(h.tracker.status(), 'unknown');
  });
});

describe('ScriptTracker status', () => {
  async function sequence(h: Harness, results: ReadonlyArray<RunOutcome | number>): Promise<void> {
    h.tracker.start();
    for (const r of results) {
      await flush();
      await h.runner.complete(r);
      await h.clock.advance(h.tracker.info().runs > 0 ? 1000 : 0);
    }
  }

  it('is unknown until the first result, which decides at once', async () => {
    const h = harness(vscript({ rise: 3, fall: 3 }));
    assert.equal(h.tracker.status(), 'unknown');
    await sequence(h, [1]);
    assert.equal(h.tracker.status(), 'failing');
    assert.deepEqual(h.changes, [['chk', 'failing', 'exited with status 1']]);
    await h.tracker.close();
  });

  it('reports only debounced changes (rise 2, fall 2)', async () => {
    const h = harness(vscript({ rise: 2, fall: 2 }));
    await sequence(h, [0, 1, 0, 1, 1, 0, 0, 0]);
    assert.deepEqual(
      h.changes.map(([, s]) => s),
      ['ok', 'failing', 'ok'],
    );
    const info = h.tracker.info();
    assert.equal(info.runs, 8);
    assert.equal(info.successes, 5);
    assert.equal(info.failures, 3);
    await h.tracker.close();
  });

  it('init_fail starts failing, reports nothing for more failures, and needs `rise` successes', async () => {
    const h = harness(vscript({ initFail: true, rise: 2 }));
    assert.equal(h.tracker.status(), 'failing');
    await sequence(h, [1, 0]);
    assert.deepEqual(h.changes, []);
    await h.runner.complete(0);
    assert.deepEqual(h.changes, [['chk', 'ok', 'exited with status 0']]);
    await h.tracker.close();
  });

  it('a timeout is a failure, counted, and logged as keepalived words it (timed_out)', async () => {
    const h = harness(vscript({ timeoutMs: 1000 }));
    await sequence(h, [{ kind: 'timeout' }]);
    assert.deepEqual(h.changes, [['chk', 'failing', 'timed out after 1000 ms']]);
    const info = h.tracker.info();
    assert.equal(info.timeouts, 1);
    assert.equal(info.failures, 1);
    assert.equal(info.lastExitCode, null);
    assert.ok(h.logs.some((l) => l.msg === 'VRRP_Script(chk) timed_out (timed out after 1000 ms)'));
    await h.tracker.close();
  });

  it('a signal is a failure', async () => {
    const h = harness(vscript());
    await sequence(h, [{ kind: 'signal', signal: 'SIGSEGV' }]);
    assert.deepEqual(h.changes, [['chk', 'failing', 'killed by SIGSEGV']]);
    await h.tracker.close();
  });

  it('keeps the last outcome, exit code and an output excerpt for the status document', async () => {
    const h = harness(vscript());
    h.tracker.start();
    await flush();
    await h.runner.complete(2, `nginx is down\n${'x'.repeat(1000)}`);
    const info = h.tracker.info();
    assert.equal(info.lastExitCode, 2);
    assert.equal(info.lastOutcome, 'exited with status 2');
    assert.ok(info.lastOutput?.startsWith('nginx is down'));
    assert.ok((info.lastOutput?.length ?? 0) <= 256);
    assert.equal(typeof info.lastRunAt, 'string');
    await h.tracker.close();
  });

  it('logs "now returning N" only when the exit status changes', async () => {
    const h = harness(vscript());
    await sequence(h, [1, 1, 1, 0]);
    const lines = h.logs.filter((l) => /^Script `chk` now returning/.test(l.msg)).map((l) => l.msg);
    assert.deepEqual(lines, ['Script `chk` now returning 1', 'Script `chk` now returning 0']);
    await h.tracker.close();
  });

  it('a throwing onStatus callback is logged, not an unhandled rejection, and the schedule goes on', async () => {
    const h = harness(vscript(), {
      onStatus: () => {
        throw new Error('board exploded');
      },
    });
    h.tracker.start();
    await flush();
    await h.runner.complete(1);
    assert.ok(h.logs.some((l) => l.level === 50 && /board exploded/.test(l.msg)));
    await h.clock.advance(1000);
    assert.equal(h.runner.calls.length, 2);
    await h.tracker.close();
  });

  it('a reload hands the status over (resume), so OK stays OK without waiting for a run', async () => {
    const a = harness(vscript({ rise: 2, fall: 2 }));
    await sequence(a, [0]);
    assert.equal(a.tracker.status(), 'ok');
    await a.tracker.close();
    const b = harness(vscript({ rise: 3, fall: 1 }), { resume: a.tracker.snapshot() });
    assert.equal(b.tracker.status(), 'ok');
    await b.tracker.close();
  });
});

describe('ScriptTracker when the program cannot run', () => {
  it('counts a missing program as a failure and logs it once, not every interval, with the shell fix (seed004)', async () => {
    const text = '[[ -f /etc/keepalived/monitor_nginx.sh ]] && exit 1 || exit 0';
    let result: ProgramCheck = { ok: false, problem: 'missing', message: "program '[[' is not found in PATH" };
    const h = harness(vscript({ command: command(text) }), { checkResult: () => result });
    h.tracker.start();
    await h.clock.advance(0);
    await h.clock.advance(1000);
    await h.clock.advance(1000);
    assert.equal(h.runner.calls.length, 0, 'nothing was spawned');
    const info = h.tracker.info();
    assert.equal(info.runs, 3);
    assert.equal(info.failures, 3);
    assert.match(info.problem ?? '', /not found in PATH/);
    assert.deepEqual(h.changes.map(([, s]) => s), ['failing']);
    const warns = h.logs.filter((l) => l.level === WARN && /cannot run/.test(l.msg));
    assert.equal(warns.length, 1);
    assert.match(warns[0]?.msg ?? '', /counted as a failure/);
    assert.match(warns[0]?.msg ?? '', /without a shell, so '\[\[' cannot work; write it as: script "\/bin\/bash -c '\[\[ -f/);

    // The program appears: it runs, the problem clears, and that is logged once.
    result = { ok: true, path: '/usr/bin/true', notes: [] };
    await h.clock.advance(1000);
    await h.runner.complete(0);
    assert.equal(h.tracker.info().problem, null);
    assert.ok(h.logs.some((l) => /runs again/.test(l.msg)));
    assert.deepEqual(h.changes.map(([, s]) => s), ['failing', 'ok']);
    await h.tracker.close();
  });

  it('logs a new reason when the reason changes', async () => {
    let n = 0;
    const msgs = ['/opt/chk.sh does not exist', '/opt/chk.sh does not exist', '/opt/chk.sh is not executable for uid 0 gid 0'];
    const h = harness(vscript({ command: command('/opt/chk.sh') }), {
      checkResult: () => ({ ok: false, problem: 'missing', message: msgs[n++] ?? 'x' }),
    });
    h.tracker.start();
    await h.clock.advance(0);
    await h.clock.advance(1000);
    await h.clock.advance(1000);
    const warns = h.logs.filter((l) => l.level === WARN && /cannot run/.test(l.msg));
    assert.equal(warns.length, 2);
    await h.tracker.close();
  });

  it('a spawn error (the file vanished between check and exec) is a failure too', async () => {
    const h = harness(vscript());
    h.tracker.start();
    await flush();
    await h.runner.complete({ kind: 'error', message: 'spawn /usr/local/bin/chk_nginx.sh ENOENT', errno: 'ENOENT' });
    assert.equal(h.tracker.status(), 'failing');
    assert.match(h.tracker.info().problem ?? '', /could not be started/);
    await h.tracker.close();
  });

  it('logs the notes of the check once (path search, unsafe permissions)', async () => {
    const h = harness(vscript({ command: command('chk_nginx.sh') }), {
      checkResult: () => ({ ok: true, path: '/usr/bin/chk_nginx.sh', notes: ["'chk_nginx.sh' resolved by path search to /usr/bin/chk_nginx.sh; please give the full path"] }),
    });
    h.tracker.start();
    await flush();
    await h.runner.complete(0);
    await h.clock.advance(1000);
    await h.runner.complete(0);
    assert.equal(h.logs.filter((l) => /resolved by path search/.test(l.msg)).length, 1);
    assert.deepEqual(h.runner.calls[0]?.opts.argv, ['/usr/bin/chk_nginx.sh']);
    await h.tracker.close();
  });
});
